package tools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/fal-video-mcp/fal-video-mcp/tools/ledger"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestSoakUnderFaults: 1,000 jobs through the MCP client while fal spoils
// 20 % of every submit, status, stream and result request at random. No
// job fal completed may be reported failed, none may be enqueued twice,
// and every job fal enqueued is in job_list with its true end — or, when
// its submit's answer was lost, as unknown with its input.
func TestSoakUnderFaults(t *testing.T) {
	jobs := 1000
	if testing.Short() {
		jobs = 200
	}
	const workers = 32
	emu := faltest.NewServer(faltest.Options{Key: testKey})
	defer emu.Close()
	logs := []string{"loading the model", "frame 1", "frame 2", "done"}
	emu.SetScript("fal-ai/video-upscaler", faltest.Script{RunTime: 4 * time.Millisecond, Logs: logs,
		Output: emu.ServeOutputFiles([]byte(`{"video":{"url":"https://x/out.mp4","content_type":"video/mp4"}}`))})
	emu.SetRandomFaults(faltest.RandomFaults{Rate: 0.2, Seed: 9,
		Ops: []faltest.Op{faltest.OpSubmit, faltest.OpStatus, faltest.OpStream, faltest.OpResult}})

	led, err := ledger.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var background sync.WaitGroup
	defer func() { cancel(); background.Wait(); led.Close() }()
	ends := make(chan tools.Job, jobs)
	var followed atomic.Int64 // calls answered with a request id: each job must end
	h := newHarnessOn(t, emu, mcp.ProtocolVersion20260728, func(o *tools.Options) {
		o.Ledger, o.Context, o.Background = led, ctx, &background
		o.RetryBackoff = 2 * time.Millisecond
		o.OnJobEnd = func(j tools.Job) { ends <- j }
	})

	callCtx, callCancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer callCancel()
	var (
		next                    atomic.Int64
		unknownAnswers, refused atomic.Int64
		wg                      sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(jobs) {
					return
				}
				res, err := h.callErr(callCtx, "upscale_video", map[string]any{"video_url": fmt.Sprintf("https://x/in-%d.mp4", i), "wait_seconds": 0})
				if err != nil {
					t.Errorf("call %d: %v", i, err)
					return
				}
				if !res.IsError {
					followed.Add(1)
					continue
				}
				var j tools.Job
				b, _ := json.Marshal(res.StructuredContent)
				if json.Unmarshal(b, &j) == nil && j.Status == tools.StatusUnknown {
					unknownAnswers.Add(1)
				} else {
					refused.Add(1) // fal refused for certain: nothing queued
				}
			}
		}()
	}
	wg.Wait()
	for n := followed.Load(); n > 0; n-- {
		select {
		case <-ends:
		case <-callCtx.Done():
			t.Fatalf("%d of %d followed jobs never ended", n, followed.Load())
		}
	}

	// What fal enqueued, by input.
	enqueued := map[string][]string{} // video_url → request ids
	for _, j := range emu.Jobs() {
		var in struct {
			VideoURL string `json:"video_url"`
		}
		_ = json.Unmarshal(j.Input, &in)
		enqueued[in.VideoURL] = append(enqueued[in.VideoURL], j.RequestID)
	}
	dupes := 0
	for u, ids := range enqueued {
		if len(ids) > 1 {
			dupes++
			t.Errorf("%s enqueued %d times: %v", u, len(ids), ids)
		}
	}

	res := h.call(t, callCtx, "job_list", map[string]any{"limit": 1000, "detail": true})
	var list struct {
		Jobs []tools.Job `json:"jobs"`
	}
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	byID := map[string]tools.Job{}
	unknownInputs := map[string]bool{}
	counts := map[string]int{}
	for _, j := range list.Jobs {
		byID[j.RequestID] = j
		counts[j.Status]++
		if j.Status == tools.StatusUnknown {
			var in struct {
				VideoURL string `json:"video_url"`
			}
			_ = json.Unmarshal(j.Input, &in)
			unknownInputs[in.VideoURL] = true
		}
	}
	completedAsFailed, missing, duplicateLogs := 0, 0, 0
	for u, ids := range enqueued {
		j, ok := byID[ids[0]]
		switch {
		case ok && j.Status == tools.StatusCompleted:
			// fal's status answers carry a sliding window of recent lines,
			// so a short job's first lines may never be seen; the lines
			// seen appear once each, in order, up to the last.
			if !inOrderOnce(j.Logs, logs) || len(j.Logs) == 0 || j.Logs[len(j.Logs)-1] != logs[len(logs)-1] {
				duplicateLogs++
				t.Errorf("job %s logs %q, want lines of %q once each, in order", j.RequestID, j.Logs, logs)
			}
		case ok:
			completedAsFailed++
			t.Errorf("job %s, completed on fal, is %s: %s", j.RequestID, j.Status, j.Error)
		case unknownInputs[u]:
		default:
			missing++
			t.Errorf("job %s (%s) enqueued on fal is missing from job_list", ids[0], u)
		}
	}
	if int64(counts[tools.StatusUnknown]) != unknownAnswers.Load() {
		t.Errorf("job_list has %d unknown jobs, the calls answered %d", counts[tools.StatusUnknown], unknownAnswers.Load())
	}
	ops := map[faltest.Op]int{}
	faults := 0
	for _, r := range emu.Requests() {
		ops[r.Op]++
		if r.Fault != nil {
			faults++
		}
	}
	t.Logf("soak: %d calls, %d requests to fal (%d faulted: %v); fal enqueued %d; job_list: %v; "+
		"calls answered unknown %d, refused %d; completed reported failed %d, duplicate enqueues %d, missing %d, logs repeated or out of order %d",
		jobs, len(emu.Requests()), faults, ops, len(emu.Jobs()), counts, unknownAnswers.Load(), refused.Load(),
		completedAsFailed, dupes, missing, duplicateLogs)
	if faults == 0 || !strings.Contains(fmt.Sprint(counts), "completed") {
		t.Error("the soak injected no faults or completed nothing: it proves nothing")
	}
}

// inOrderOnce reports whether got is a subsequence of want: each line once,
// in want's order.
func inOrderOnce(got, want []string) bool {
	i := 0
	for _, g := range got {
		for i < len(want) && want[i] != g {
			i++
		}
		if i == len(want) {
			return false
		}
		i++
	}
	return true
}

// TestOneFollowerPerJob: two callers wait on the same job at once, each
// with progress notifications, while the job steps through its logs. fal
// sees one status stream and one result fetch for the job, no status
// polls; each caller gets every log line once; the Job carries each line
// once, in order.
func TestOneFollowerPerJob(t *testing.T) {
	h := newHarness(t, mcp.ProtocolVersion20260728)
	logs := []string{"loading the model", "frame 1", "frame 2"}
	h.emu.SetScript("fal-ai/video-upscaler", faltest.Script{Manual: true, Logs: logs,
		Output: h.emu.ServeOutputFiles([]byte(`{"video":{"url":"https://x/out.mp4","content_type":"video/mp4"}}`))})
	ctx := ctxT(t)
	for round := range 5 {
		job := jobOf(t, h.call(t, ctx, "upscale_video", map[string]any{"video_url": fmt.Sprintf("https://x/in-%d.mp4", round), "wait_seconds": 0}))
		tokens := []string{fmt.Sprintf("a%d", round), fmt.Sprintf("b%d", round)}
		answers := make(chan *mcp.CallToolResult, len(tokens))
		for _, tok := range tokens {
			go func() {
				res, err := h.callErr(ctx, "job_status", map[string]any{"request_id": job.RequestID, "wait_seconds": 50}, &mcp.Meta{ProgressToken: tok})
				if err != nil {
					t.Error(err)
				}
				answers <- res
			}()
		}
		seen := map[string][]string{}
		// await reads progress until every token has reported want.
		await := func(want string) {
			for {
				done := 0
				for _, tok := range tokens {
					if slices.Contains(seen[tok], want) {
						done++
					}
				}
				if done == len(tokens) {
					return
				}
				select {
				case n := <-h.notes:
					if n.Method != "notifications/progress" {
						continue
					}
					tok, _ := n.Params.AdditionalFields["progressToken"].(string)
					msg, _ := n.Params.AdditionalFields["message"].(string)
					seen[tok] = append(seen[tok], msg)
				case <-ctx.Done():
					t.Fatalf("waiting for %q; progress so far %v", want, seen)
				}
			}
		}
		await("queued at position 0")
		h.emu.Step(job.RequestID) // running
		await("running")
		for _, l := range logs {
			h.emu.Step(job.RequestID)
			await("log: " + l)
		}
		h.emu.Finish(job.RequestID)
		for range tokens {
			res := <-answers
			if j := jobOf(t, res); j.Status != tools.StatusCompleted || !slices.Equal(j.Logs, logs) {
				t.Errorf("job_status = %+v", j)
			}
		}
		for _, tok := range tokens {
			var lines []string
			for _, m := range seen[tok] {
				if strings.HasPrefix(m, "log: ") {
					lines = append(lines, strings.TrimPrefix(m, "log: "))
				}
			}
			if !slices.Equal(lines, logs) {
				t.Errorf("caller %s got log lines %q, want %q once each", tok, lines, logs)
			}
		}
		ops := map[faltest.Op]int{}
		for _, r := range h.emu.Requests() {
			if r.RequestID == job.RequestID {
				ops[r.Op]++
			}
		}
		if ops[faltest.OpStream] != 1 || ops[faltest.OpStatus] != 0 || ops[faltest.OpResult] != 1 {
			t.Errorf("fal saw %v for job %s, want one stream, no status polls, one result", ops, job.RequestID)
		}
	}
}
