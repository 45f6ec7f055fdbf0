package tools_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/fal-video-mcp/fal-video-mcp/tools/ledger"
	"github.com/mark3labs/mcp-go/mcp"
)

// BenchmarkLedgerOverhead runs 200 concurrent endpoint calls through the
// MCP layer against the in-process emulator, with the job ledger on and
// off, and reports the p99 submit latency (the call, wait_seconds 0) and
// the p99 completion lag (fal completing the job → a caller waiting in
// job_status seeing its end) of each, and their ratios (on / off). Figures, not a test.
func BenchmarkLedgerOverhead(b *testing.B) {
	const calls = 200
	var on, off runFigures
	for range b.N {
		off.add(runConcurrent(b, calls, false))
		on.add(runConcurrent(b, calls, true))
	}
	report := func(name string, v time.Duration) { b.ReportMetric(float64(v.Microseconds())/1000, name) }
	report("submit-p99-ms-off", off.p99(off.submit))
	report("submit-p99-ms-on", on.p99(on.submit))
	report("lag-p99-ms-off", off.p99(off.lag))
	report("lag-p99-ms-on", on.p99(on.lag))
	b.ReportMetric(ratio(on.p99(on.submit), off.p99(off.submit)), "submit-p99-ratio")
	b.ReportMetric(ratio(on.p99(on.lag), off.p99(off.lag)), "lag-p99-ratio")
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

type runFigures struct{ submit, lag []time.Duration }

func (f *runFigures) add(g runFigures) {
	f.submit = append(f.submit, g.submit...)
	f.lag = append(f.lag, g.lag...)
}

func (*runFigures) p99(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)*99-1)/100]
}

func runConcurrent(b *testing.B, calls int, withLedger bool) runFigures {
	b.StopTimer()
	emu := faltest.NewServer(faltest.Options{Key: testKey})
	defer emu.Close()
	emu.SetScript("fal-ai/video-upscaler", faltest.Script{RunTime: 500 * time.Millisecond, Logs: []string{"a", "b", "c"},
		Output: emu.ServeOutputFiles([]byte(`{"video":{"url":"https://x/out.mp4","content_type":"video/mp4"}}`))})
	ctx, cancel := context.WithCancel(context.Background())
	var background sync.WaitGroup
	var led *ledger.Ledger
	if withLedger {
		var err error
		if led, err = ledger.Open(ctx, b.TempDir()); err != nil {
			b.Fatal(err)
		}
	}
	h := newHarnessOn(b, emu, mcp.ProtocolVersion20260728, func(o *tools.Options) {
		o.Context, o.Background = ctx, &background
		if led != nil {
			o.Ledger = led
		}
	})
	defer func() {
		cancel()
		background.Wait()
		if led != nil {
			led.Close()
		}
	}()
	b.StartTimer()
	var f runFigures
	var wg sync.WaitGroup
	var mu sync.Mutex
	seenAt := map[string]time.Time{} // when the waiting caller saw the end
	for i := range calls {
		wg.Go(func() {
			start := time.Now()
			res, err := h.callErr(context.Background(), "upscale_video", map[string]any{"video_url": fmt.Sprintf("https://x/%d.mp4", i), "wait_seconds": 0})
			if err != nil || res.IsError {
				b.Errorf("call: %v %v", err, res)
				return
			}
			took := time.Since(start)
			id := jobOf(b, res).RequestID
			res, err = h.callErr(context.Background(), "job_status", map[string]any{"request_id": id, "wait_seconds": 50})
			if err != nil || jobOf(b, res).Status != tools.StatusCompleted {
				b.Errorf("job_status: %v %v", err, res)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			f.submit = append(f.submit, took)
			seenAt[id] = time.Now()
		})
	}
	wg.Wait()
	b.StopTimer()
	for _, j := range emu.Jobs() {
		if at, ok := seenAt[j.RequestID]; ok && !j.Completed.IsZero() {
			f.lag = append(f.lag, at.Sub(j.Completed))
		}
	}
	return f
}
