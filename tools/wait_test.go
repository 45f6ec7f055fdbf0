package tools_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestProgressWhileWaiting: a waiting call sends progress notifications —
// queue positions, the start, every log line — with strictly increasing
// progress. The job advances one step per notification, so every state is
// seen without sleeping.
func TestProgressWhileWaiting(t *testing.T) {
	for _, era := range eras {
		t.Run(era, func(t *testing.T) {
			h := newHarness(t, era)
			h.emu.SetScript("fal-ai/video-upscaler", faltest.Script{Manual: true, Ahead: 2, Logs: []string{"a", "b"},
				Output: h.emu.ServeOutputFiles([]byte(`{"video":{"url":"https://x/out.mp4","content_type":"video/mp4"}}`))})
			ctx := ctxT(t)
			type answer struct {
				res *mcp.CallToolResult
				err error
			}
			done := make(chan answer, 1)
			go func() {
				res, err := h.callErr(ctx, "upscale_video", map[string]any{"video_url": "https://x/in.mp4", "wait_seconds": 30},
					&mcp.Meta{ProgressToken: "tok-1"})
				done <- answer{res, err}
			}()
			var messages []string
			last := 0.0
			for {
				select {
				case n := <-h.notes:
					if n.Method != "notifications/progress" {
						continue
					}
					f := n.Params.AdditionalFields
					if f["progressToken"] != "tok-1" {
						t.Errorf("progress token %v", f["progressToken"])
					}
					p := number(f["progress"])
					if p <= last {
						t.Errorf("progress %v after %v", p, last)
					}
					last = p
					msg, _ := f["message"].(string)
					messages = append(messages, msg)
					for _, j := range h.emu.Jobs() {
						h.emu.Step(j.RequestID)
					}
				case a := <-done:
					if a.err != nil || a.res.IsError {
						t.Fatalf("call = %v %v", a.err, a.res)
					}
					conformsToOutputSchema(t, "upscale_video", a.res)
					if j := jobOf(t, a.res); j.Status != tools.StatusCompleted {
						t.Errorf("job = %+v", j)
					}
					want := []string{"queued at position 2", "queued at position 1", "queued at position 0", "running", "log: a", "log: b"}
					if len(messages) != len(want) {
						t.Fatalf("progress messages %q, want %q", messages, want)
					}
					for i := range want {
						if messages[i] != want[i] {
							t.Errorf("message %d = %q, want %q", i, messages[i], want[i])
						}
					}
					return
				case <-ctx.Done():
					t.Fatalf("no end; messages so far %q", messages)
				}
			}
		})
	}
}

// TestClientCancelStopsTheWait: cancelling a waiting call returns at once;
// the fal job keeps running (cancelling it is job_cancel's work) and the
// server keeps serving.
func TestClientCancelStopsTheWait(t *testing.T) {
	for _, era := range eras {
		t.Run(era, func(t *testing.T) {
			h := newHarness(t, era)
			h.emu.SetScript("fal-ai/video-upscaler", faltest.Script{Manual: true})
			ctx, cancel := context.WithCancel(ctxT(t))
			type answer struct {
				res *mcp.CallToolResult
				err error
			}
			done := make(chan answer, 1)
			go func() {
				res, err := h.callErr(ctx, "upscale_video", map[string]any{"video_url": "https://x/in.mp4", "wait_seconds": 50},
					&mcp.Meta{ProgressToken: 1})
				done <- answer{res, err}
			}()
			for n := range h.notes { // the job is submitted and the call is waiting
				if n.Method == "notifications/progress" {
					break
				}
			}
			cancel()
			select {
			case a := <-done:
				// The client gives up with context.Canceled, or — in process,
				// where the handler shares the call's context — gets the job
				// as it stood when the wait stopped.
				if a.err != nil && !errors.Is(a.err, context.Canceled) {
					t.Errorf("call = %v, want context.Canceled", a.err)
				}
				if a.err == nil {
					if j := jobOf(t, a.res); j.Status != tools.StatusQueued {
						t.Errorf("job = %+v, want it still queued", j)
					}
				}
			case <-time.After(20 * time.Second): // a hang guard, not a timing assertion
				t.Fatal("the call did not return after cancel")
			}
			jobs := h.emu.Jobs()
			if len(jobs) != 1 || jobs[0].Cancelled || jobs[0].Status == "COMPLETED" {
				t.Fatalf("the fal job should keep running: %+v", jobs)
			}
			res := h.call(t, ctxT(t), "job_list", map[string]any{})
			if res.IsError || text(res) == "" {
				t.Fatalf("job_list after a cancelled call: %v", text(res))
			}
			res = h.call(t, ctxT(t), "job_cancel", map[string]any{"request_id": jobs[0].RequestID})
			if j := jobOf(t, res); res.IsError || j.Status != tools.StatusCancelled {
				t.Errorf("job_cancel = %+v: %s", j, text(res))
			}
		})
	}
}

// number reads a JSON number that may have kept its Go type in process.
func number(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case int:
		return float64(n)
	case int64:
		return float64(n)
	case json.Number:
		f, _ := n.Float64()
		return f
	}
	return -1
}
