package tools_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/fal-video-mcp/fal-video-mcp/tools/ledger"
	"github.com/mark3labs/mcp-go/mcp"
)

// withLedger runs a server with a ledger in dir and its followers until
// the returned stop; ended receives every job a follower ends.
func withLedger(t *testing.T, dir string, ended chan tools.Job) (func(*tools.Options), func()) {
	led, err := ledger.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var background sync.WaitGroup
	stop := func() { cancel(); background.Wait(); led.Close() } // as main.go stops: followers, then the ledger
	t.Cleanup(stop)
	return func(o *tools.Options) {
		o.Ledger, o.Context, o.Background = led, ctx, &background
		o.OnJobEnd = func(j tools.Job) { ended <- j }
	}, stop
}

// TestRestartKeepsJobs: a job submitted by one server is followed to its
// end by the next server on the same state directory — without any tool
// call — and its result is answered without endpoint_id.
func TestRestartKeepsJobs(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{Key: testKey})
	defer emu.Close()
	emu.SetScript("fal-ai/pixverse/extend/fast", faltest.Script{Manual: true, Logs: []string{"a"},
		Output: emu.ServeOutputFiles([]byte(`{"video":{"url":"https://x/o.mp4","content_type":"video/mp4"}}`))})
	dir := t.TempDir()
	ended := make(chan tools.Job, 10)

	opt, stop := withLedger(t, dir, ended)
	first := newHarnessOn(t, emu, mcp.ProtocolVersion20260728, opt)
	ctx := ctxT(t)
	job := jobOf(t, first.call(t, ctx, "pixverse_extend_video_fast", map[string]any{"video_url": "https://x/i.mp4", "prompt": "more", "wait_seconds": 0}))
	first.client.Close()
	stop() // the first server is gone, its job unfinished

	opt, _ = withLedger(t, dir, ended)
	second := newHarnessOn(t, emu, mcp.ProtocolVersion20251125, opt)
	emu.Finish(job.RequestID)
	select {
	case j := <-ended:
		if j.RequestID != job.RequestID || j.Status != tools.StatusCompleted {
			t.Fatalf("the follower ended %+v", j)
		}
	case <-ctx.Done():
		t.Fatal("the restarted server did not follow the job")
	}
	res := second.call(t, ctx, "job_result", map[string]any{"request_id": job.RequestID})
	got := jobOf(t, res)
	if res.IsError || got.Status != tools.StatusCompleted || len(got.Files) != 1 || got.Tool != "pixverse_extend_video_fast" {
		t.Fatalf("job_result after restart = %+v: %s", got, text(res))
	}
}

// TestResultOutlivesRetention: the follower captures a result the moment
// the job completes; after fal has dropped it, job_result still answers,
// from the ledger, without asking fal.
func TestResultOutlivesRetention(t *testing.T) {
	// The emulator's clock: moved past fal's retention once the result is
	// captured.
	var skew atomic.Int64
	emu := faltest.NewServer(faltest.Options{Key: testKey, Retention: time.Second, LargeRetention: time.Second,
		Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	defer emu.Close()
	emu.SetScript("fal-ai/video-upscaler", faltest.Script{Manual: true,
		Output: emu.ServeOutputFiles([]byte(`{"video":{"url":"https://x/o.mp4"}}`))})
	ended := make(chan tools.Job, 10)
	opt, _ := withLedger(t, t.TempDir(), ended)
	h := newHarnessOn(t, emu, mcp.ProtocolVersion20260728, opt)
	ctx := ctxT(t)
	job := jobOf(t, h.call(t, ctx, "upscale_video", map[string]any{"video_url": "https://x/i.mp4", "wait_seconds": 0}))
	emu.Finish(job.RequestID)
	<-ended
	skew.Store(int64(2 * time.Hour))
	fal, _ := falqueue.New(falqueue.Config{Key: testKey, QueueURL: emu.QueueURL, RestURL: emu.RestURL})
	hd, _ := fal.Reattach("fal-ai/video-upscaler", job.RequestID)
	if _, err := fal.Result(ctx, hd); !errors.Is(err, falqueue.ErrNotFound) {
		t.Fatalf("fal still has the result: %v", err)
	}
	emu.ResetRequests()
	res := h.call(t, ctx, "job_result", map[string]any{"request_id": job.RequestID})
	if got := jobOf(t, res); res.IsError || got.Status != tools.StatusCompleted || len(got.Files) != 1 {
		t.Fatalf("job_result after fal forgot = %+v: %s", got, text(res))
	}
	if n := len(emu.Requests()); n != 0 {
		t.Errorf("job_result asked fal (%d requests) for a captured result", n)
	}
}

// TestLedgerFailingWhileRunning: when the ledger stops working after
// start-up (here: its database goes away under the server), every job
// tool's answer says that job history is unavailable and why, and
// job_list says so instead of answering "0 job(s)". Jobs still run.
func TestLedgerFailingWhileRunning(t *testing.T) {
	led, err := ledger.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := newHarness(t, mcp.ProtocolVersion20260728, func(o *tools.Options) { o.Ledger, o.Context = led, ctx })
	h.emu.SetScript("fal-ai/video-upscaler", faltest.Script{Output: h.emu.ServeOutputFiles([]byte(`{"video":{"url":"https://x/o.mp4"}}`))})
	cctx := ctxT(t)
	res := h.call(t, cctx, "upscale_video", map[string]any{"video_url": "https://x/i.mp4", "wait_seconds": 10})
	if strings.Contains(text(res), "unavailable") {
		t.Fatalf("a working ledger reported unavailable: %s", text(res))
	}
	led.Close() // the ledger breaks under the running server

	res = h.call(t, cctx, "upscale_video", map[string]any{"video_url": "https://x/j.mp4", "wait_seconds": 10})
	job := jobOf(t, res)
	if job.Status != tools.StatusCompleted {
		t.Errorf("a job while the ledger is broken = %+v", job)
	}
	for _, call := range []struct {
		tool string
		args map[string]any
	}{
		{"upscale_video", nil},
		{"job_status", map[string]any{"request_id": job.RequestID}},
		{"job_result", map[string]any{"request_id": job.RequestID}},
		{"job_list", map[string]any{}},
	} {
		if call.args != nil {
			res = h.call(t, cctx, call.tool, call.args)
		}
		first := res.Content[0].(mcp.TextContent).Text
		if !strings.HasPrefix(first, "Job history is unavailable") || !strings.Contains(first, "closed") {
			t.Errorf("%s does not say job history is unavailable: %s", call.tool, text(res))
		}
	}
}
