package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestDryRunThenRealSubmits: with one state folder, a dry-run job is never
// the answer to a real call: the real call is submitted to fal.
func TestDryRunThenRealSubmits(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{Key: e2eKey})
	t.Cleanup(emu.Close)
	state := t.TempDir()
	ctx := ctxE2E(t)
	args := map[string]any{"video_url": "https://x/in.mp4", "wait_seconds": 0}
	dry := startSpendProcess(t, emu, state, mcp.ProtocolVersion20260728, nil, "FAL_VIDEO_MCP_DRY_RUN=1")
	_, rehearsed, err := callTool(ctx, dry.client, "upscale_video", args, nil)
	if err != nil || rehearsed.RequestID == "" || !rehearsed.DryRun {
		t.Fatalf("dry run: job %+v (%v)", rehearsed, err)
	}
	dry.Kill()
	if n := enqueued(emu); n != 0 {
		t.Fatalf("the dry run reached fal: %d submits", n)
	}
	for _, era := range []string{mcp.ProtocolVersion20251125, mcp.ProtocolVersion20260728} {
		real := startSpendProcess(t, emu, state, era, nil)
		res, job, err := callTool(ctx, real.client, "upscale_video", args, nil)
		if err != nil {
			t.Fatal(err)
		}
		if job.RequestID == rehearsed.RequestID || job.DryRun {
			t.Errorf("%s: a real call was answered with the dry-run job %s: %s", era, rehearsed.RequestID, textOf(res))
		}
		real.Kill()
	}
	// The second real call is the first's job again: one submit.
	if n := enqueued(emu); n != 1 {
		t.Errorf("%d jobs enqueued at fal by the real calls, want 1", n)
	}
}

// initiateBarrier is a proxy to the emulator's REST host that holds every
// upload initiation until n have arrived: calls that upload the same file
// reach the ledger at the same time.
func initiateBarrier(t *testing.T, target string, n int) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/storage/upload/initiate") {
			mu.Lock()
			if arrived++; arrived == n {
				close(all)
			}
			mu.Unlock()
			select {
			case <-all:
			case <-r.Context().Done():
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestTwoProcessesRaceSameCall: two server processes sharing a state
// folder get the same call at the same moment (both past the dedupe
// check, both uploading the same file): fal gets one job, and the other
// call is answered with it, flagged reused.
func TestTwoProcessesRaceSameCall(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{Key: e2eKey})
	t.Cleanup(emu.Close)
	emu.SetScript("fal-ai/video-upscaler", faltest.Script{Manual: true})
	state, files := t.TempDir(), t.TempDir()
	clip := filepath.Join(files, "clip.mp4")
	if err := os.WriteFile(clip, []byte("\x00\x00\x00\x18ftypisom the race"), 0o600); err != nil {
		t.Fatal(err)
	}
	rest := initiateBarrier(t, emu.RestURL, 2)
	env := []string{"FAL_REST_URL=" + rest, "FAL_VIDEO_MCP_ALLOW_DIRS=" + files}
	procs := []*process{
		startSpendProcess(t, emu, state, mcp.ProtocolVersion20251125, nil, env...),
		startSpendProcess(t, emu, state, mcp.ProtocolVersion20260728, nil, env...),
	}
	ctx := ctxE2E(t)
	type answer struct {
		res *mcp.CallToolResult
		job tools.Job
		err error
	}
	answers := make([]answer, len(procs))
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, job, err := callTool(ctx, p.client, "upscale_video", map[string]any{"video_url": clip, "wait_seconds": 0}, nil)
			answers[i] = answer{res, job, err}
		}()
	}
	wg.Wait()
	for i, a := range answers {
		if a.err != nil || a.res.IsError {
			t.Fatalf("process %d: %v %s; stderr:\n%s", i, a.err, textOf(a.res), procs[i].stderr.String())
		}
	}
	if n := enqueued(emu); n != 1 {
		t.Errorf("%d jobs enqueued by two processes racing the same call, want 1", n)
	}
	jobs := emu.Jobs()
	reused := 0
	for _, a := range answers {
		var sc map[string]any
		if b, err := jsonOf(a.res.StructuredContent); err == nil {
			sc = b
		}
		if sc["reused"] == true {
			reused++
		}
		if len(jobs) == 1 && a.job.RequestID != jobs[0].RequestID {
			t.Errorf("an answer names job %s, not the one at fal (%s): %s", a.job.RequestID, jobs[0].RequestID, textOf(a.res))
		}
	}
	if reused != 1 {
		t.Errorf("%d answers flagged reused, want 1", reused)
	}
}

// jsonOf is structured content as a JSON object.
func jsonOf(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

// procRead is the bytes a process has read so far (rchar of
// /proc/<pid>/io: files, pipes and sockets alike).
func procRead(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		t.Skipf("cannot read the process's I/O counters: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "rchar: "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no rchar in /proc/%d/io", pid)
	return 0
}

// TestLocalFileReadTwice: a call with a large local file reads it twice —
// once to hash it for dedupe, once as it is uploaded (and checked against
// that hash) — not a third time; a second identical call reads it once
// (the hash) and uploads nothing.
func TestLocalFileReadTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("96 MiB file")
	}
	emu := faltest.NewServer(faltest.Options{Key: e2eKey})
	t.Cleanup(emu.Close)
	emu.SetScript("fal-ai/video-upscaler", faltest.Script{Manual: true})
	files := t.TempDir()
	const size = 96 << 20 // above the multipart threshold
	clip := filepath.Join(files, "big.mp4")
	f, err := os.Create(clip)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("\x00\x00\x00\x18ftypisom"); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil { // sparse
		t.Fatal(err)
	}
	f.Close()
	p := startSpendProcess(t, emu, t.TempDir(), mcp.ProtocolVersion20260728, nil, "FAL_VIDEO_MCP_ALLOW_DIRS="+files)
	ctx := ctxE2E(t)
	pid := p.cmd.Process.Pid
	call := func() (int64, tools.Job) {
		before := procRead(t, pid)
		res, job, err := callTool(ctx, p.client, "upscale_video", map[string]any{"video_url": clip, "wait_seconds": 0}, nil)
		if err != nil || res.IsError {
			t.Fatalf("%v %s", err, textOf(res))
		}
		return procRead(t, pid) - before, job
	}
	read, first := call()
	t.Logf("first call: %d bytes read for a %d-byte file (%.2f×)", read, size, float64(read)/size)
	if read > size*5/2 {
		t.Errorf("the first call read %d bytes (%.2f× the file): want the hash and the upload only (2×)", read, float64(read)/size)
	}
	if read < size*2 {
		t.Errorf("the first call read %d bytes (%.2f× the file): less than hashing and uploading it", read, float64(read)/size)
	}
	read, again := call()
	t.Logf("identical call: %d bytes read (%.2f×)", read, float64(read)/size)
	if again.RequestID != first.RequestID || read > size*3/2 {
		t.Errorf("identical call: job %s (want %s), %d bytes read (%.2f×): want the hash only", again.RequestID, first.RequestID, read, float64(read)/size)
	}
}
