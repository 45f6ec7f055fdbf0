package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
)

// TestKilledMidSubmit: the built binary is killed (SIGKILL) at random
// points of its submits — as fal receives the submit (fal accepts the job,
// its answer never reaches the server), while the job is followed, as its
// result is fetched, or after a random moment — over 36 cycles on one
// state directory. Every job fal enqueued is in the next process's
// job_list: with its end, or unknown with the input it was sent with.
func TestKilledMidSubmit(t *testing.T) {
	const cycles = 36
	emu := faltest.NewServer(faltest.Options{Key: e2eKey})
	defer emu.Close()
	emu.SetScript("fal-ai/video-upscaler", faltest.Script{RunTime: 20 * time.Millisecond, Logs: []string{"a", "b"},
		Output: emu.ServeOutputFiles([]byte(`{"video":{"url":"https://x/o.mp4","content_type":"video/mp4"}}`))})
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 11))
	points := []faltest.Op{faltest.OpSubmit, faltest.OpStream, faltest.OpResult, ""}
	kills := map[string]int{}
	for cycle := range cycles {
		p := startProcess(t, emu, dir)
		point := points[cycle%len(points)]
		var once sync.Once
		kill := func(why string) {
			once.Do(func() {
				kills[why]++
				_ = p.cmd.Process.Kill()
			})
		}
		var stop func()
		if point != "" {
			stop = emu.OnRequest(func(r faltest.Request) {
				if r.Op == point {
					go kill(string(point))
				}
			})
		} else {
			timer := time.AfterFunc(time.Duration(rng.IntN(40))*time.Millisecond, func() { kill("random moment") })
			stop = func() { timer.Stop() }
		}
		ctx := ctxE2E(t)
		_, _, _ = callTool(ctx, p.client, "upscale_video", map[string]any{"video_url": fmt.Sprintf("https://x/in-%d.mp4", cycle), "wait_seconds": 5}, nil)
		kill("after the call") // the call may have finished before the kill point: kill anyway
		stop()
		p.Kill()
	}

	// A last process: it adopts what its predecessors left and follows it.
	last := startProcess(t, emu, dir)
	ctx := ctxE2E(t)
	res, _, err := callTool(ctx, last.client, "job_list", map[string]any{"limit": 1000, "detail": true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Jobs []tools.Job `json:"jobs"`
	}
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	byID := map[string]tools.Job{}
	unknown := map[string]bool{}
	for _, j := range list.Jobs {
		byID[j.RequestID] = j
		if j.Status == tools.StatusUnknown {
			var in struct {
				VideoURL string `json:"video_url"`
			}
			_ = json.Unmarshal(j.Input, &in)
			unknown[in.VideoURL] = true
		}
	}
	counts := map[string]int{}
	for _, ej := range emu.Jobs() {
		var in struct {
			VideoURL string `json:"video_url"`
		}
		_ = json.Unmarshal(ej.Input, &in)
		j, ok := byID[ej.RequestID]
		switch {
		case ok:
			if j.Status != tools.StatusCompleted { // left unfinished by a kill: the last process follows it to its end
				_, j, err = callTool(ctx, last.client, "job_status", map[string]any{"request_id": ej.RequestID, "wait_seconds": 30}, nil)
				if err != nil || j.Status != tools.StatusCompleted {
					t.Errorf("job %s: %s (%v), want completed", ej.RequestID, j.Status, err)
				}
			}
			counts["listed with its request id"]++
		case unknown[in.VideoURL]:
			counts["listed as unknown"]++
		default:
			counts["missing"]++
			t.Errorf("job %s (%s), enqueued by fal, is not in job_list", ej.RequestID, in.VideoURL)
		}
	}
	t.Logf("%d cycles, kills %v; fal enqueued %d jobs: %v", cycles, kills, len(emu.Jobs()), counts)
	if kills[string(faltest.OpSubmit)] == 0 || counts["listed as unknown"] == 0 {
		t.Error("no kill landed between fal accepting a submit and the answer: the test proves nothing")
	}
}
