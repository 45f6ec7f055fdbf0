package tools_test

import (
	"context"
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

// steppingClock is a clock that moves on by step every time it is read.
func steppingClock(step time.Duration) func() time.Time {
	var n atomic.Int64
	start := time.Now()
	return func() time.Time { return start.Add(time.Duration(n.Add(1)) * step) }
}

// TestOnlyFalEndsAJob: how a result fetch that fails ends — or does not
// end — a job fal reports COMPLETED without an error.
func TestOnlyFalEndsAJob(t *testing.T) {
	tests := []struct {
		name    string
		faults  []faltest.Fault
		clock   time.Duration // each read of the server's clock moves it on this much
		status  string
		errPart string
	}{
		// The case that broke the promise: one 503 of fal's own (JSON,
		// x-fal-request-id) on the result fetch.
		{"one 503 from fal", []faltest.Fault{{Op: faltest.OpResult, Status: 503, WithRequestID: true}}, 0, tools.StatusCompleted, ""},
		{"a 429 then the ingress's 502", []faltest.Fault{{Op: faltest.OpResult, Status: 429, WithRequestID: true},
			{Op: faltest.OpResult, Status: 502, Nginx: true}}, 0, tools.StatusCompleted, ""},
		{"dropped connections", []faltest.Fault{{Op: faltest.OpResult, DropBefore: true, Times: 4}}, 0, tools.StatusCompleted, ""},
		// The same 5xx answer, fetch after fetch over more than 30 s while
		// the status stays COMPLETED: the model's own answer.
		{"the same 500 over 30 s", []faltest.Fault{{Op: faltest.OpResult, Status: 500, WithRequestID: true, Times: 50}},
			11 * time.Second, tools.StatusFailed, "Internal Server Error"},
		// Never fetched until fal's retention is over: failed, saying why.
		{"unreadable until retention ends", []faltest.Fault{{Op: faltest.OpResult, DropBefore: true, Times: 1000}},
			20 * time.Minute, tools.StatusFailed, "could not be fetched before fal's retention ended"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, mcp.ProtocolVersion20260728, func(o *tools.Options) {
				o.RetryBackoff = time.Millisecond
				if tt.clock > 0 {
					o.Now = steppingClock(tt.clock)
				}
			})
			output := h.emu.ServeOutputFiles([]byte(`{"video":{"url":"https://x/out.mp4","content_type":"video/mp4"}}`))
			h.emu.SetScript("fal-ai/video-upscaler", faltest.Script{Output: output})
			for _, f := range tt.faults {
				h.emu.Inject(f)
			}
			ctx := ctxT(t)
			res := h.call(t, ctx, "upscale_video", map[string]any{"video_url": "https://x/in.mp4", "wait_seconds": 30})
			job := jobOf(t, res)
			if job.Status != tt.status || !strings.Contains(job.Error, tt.errPart) {
				t.Fatalf("job = %s %q, want %s %q: %s", job.Status, job.Error, tt.status, tt.errPart, text(res))
			}
			if tt.status == tools.StatusCompleted && !jsonEqual(job.Result, output) {
				t.Errorf("result = %s", job.Result)
			}
			if tt.errPart == "could not be fetched before fal's retention ended" {
				// A failure recorded from fetches is replaced by a later
				// fetch that gets the result.
				h.emu.ResetFaults()
				res = h.call(t, ctx, "job_result", map[string]any{"request_id": job.RequestID})
				if j := jobOf(t, res); res.IsError || j.Status != tools.StatusCompleted || !jsonEqual(j.Result, output) {
					t.Errorf("job_result once fal answers = %s", text(res))
				}
				res = h.call(t, ctx, "job_status", map[string]any{"request_id": job.RequestID})
				if j := jobOf(t, res); j.Status != tools.StatusCompleted {
					t.Errorf("job_status after the replacement = %s", text(res))
				}
			}
		})
	}
}

// TestDownloadByTheFollower: with --download every finished job's outputs
// are saved when it ends, with no job_result call; job_result with
// download: true then returns that file, never a second copy.
func TestDownloadByTheFollower(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{Key: testKey})
	defer emu.Close()
	opt, dir := downloading(t, emu, emu.CDNURL, nil, 0)
	led, err := ledger.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var background sync.WaitGroup
	h := newHarnessOn(t, emu, mcp.ProtocolVersion20260728, opt, func(o *tools.Options) {
		o.DownloadAlways, o.Ledger, o.Context, o.Background = true, led, ctx, &background
	})
	outputFile(emu, emu.AddFile("out.mp4", "video/mp4", []byte("the video bytes")), "video/mp4", "out.mp4")
	cctx := ctxT(t)
	job := jobOf(t, h.call(t, cctx, "upscale_video", map[string]any{"video_url": "https://x/i.mp4", "wait_seconds": 10}))
	if job.Status != tools.StatusCompleted {
		t.Fatalf("job = %+v", job)
	}
	cancel()
	background.Wait() // the follower, and its download, are done
	names := folderNames(t, dir.Dir())
	if len(names) != 1 {
		t.Fatalf("output folder holds %v after the job ended, want its one output", names)
	}
	lj, err := led.Get(context.Background(), job.RequestID)
	if err != nil || len(lj.Saved) != 1 {
		t.Errorf("the ledger does not know where the output was saved: %+v %v", lj.Saved, err)
	}
	for range 2 {
		res := h.call(t, cctx, "job_result", map[string]any{"request_id": job.RequestID, "download": true})
		got := jobOf(t, res)
		if len(got.Files) != 1 || !strings.HasSuffix(got.Files[0].LocalPath, names[0]) || !strings.Contains(text(res), "Saved to: ") {
			t.Errorf("job_result = %s", text(res))
		}
	}
	if again := folderNames(t, dir.Dir()); len(again) != 1 {
		t.Errorf("output folder holds %v after job_result, want the one file", again)
	}
}
