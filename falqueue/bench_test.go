package falqueue_test

import (
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
)

// BenchmarkCycle measures one submit → wait → result cycle of a job that
// runs 10 ms against the in-process emulator, following it over the SSE
// stream or by polling every 2 ms, and reports the HTTP requests each
// cycle costs: the stream's advantage is in requests and in latency to the
// final state, not CPU.
func BenchmarkCycle(b *testing.B) {
	for _, mode := range []struct {
		name   string
		stream bool
	}{{"stream", true}, {"poll", false}} {
		b.Run(mode.name, func(b *testing.B) {
			e := newEnv(b, faltest.Options{LogWindow: 2}, func(c *falqueue.Config) {
				c.DisableStream = !mode.stream
				c.PollInterval = 2 * time.Millisecond
			})
			e.srv.SetScript("fal-ai/x", faltest.Script{RunTime: 10 * time.Millisecond, Logs: []string{"a", "b", "c", "d"}, Output: map[string]int{"v": 1}})
			ctx := ctxT(b)
			b.ResetTimer()
			for b.Loop() {
				h, err := e.client.Submit(ctx, "fal-ai/x", map[string]int{"n": 1}, falqueue.SubmitOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := e.client.Wait(ctx, h, nil); err != nil {
					b.Fatal(err)
				}
				if _, err := e.client.Result(ctx, h); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(e.srv.Requests()))/float64(b.N), "requests/cycle")
		})
	}
}
