package tools_test

import (
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestClientLogMessages: a client that set a log level gets MCP log
// notifications for its jobs; one that did not, gets none.
func TestClientLogMessages(t *testing.T) {
	for _, setLevel := range []bool{true, false} {
		h := newHarness(t, mcp.ProtocolVersion20251125)
		h.emu.SetScript("fal-ai/video-upscaler", faltest.Script{Output: h.emu.ServeOutputFiles([]byte(`{"video":{"url":"https://x/o.mp4"}}`))})
		ctx := ctxT(t)
		if setLevel {
			req := mcp.SetLevelRequest{}
			req.Params.Level = mcp.LoggingLevelInfo
			if err := h.client.SetLevel(ctx, req); err != nil {
				t.Fatal(err)
			}
		}
		res := h.call(t, ctx, "upscale_video", map[string]any{"video_url": "https://x/i.mp4", "wait_seconds": 5})
		if res.IsError {
			t.Fatal(text(res))
		}
		// Notifications sent as a handler returns may arrive after its
		// result: read until the last one expected, bounded by ctx.
		var messages []string
		read := func(n mcp.JSONRPCNotification) {
			if n.Method == "notifications/message" {
				data, _ := n.Params.AdditionalFields["data"].(map[string]any)
				msg, _ := data["message"].(string)
				messages = append(messages, msg)
			}
		}
		if setLevel {
			for len(messages) < 2 {
				select {
				case n := <-h.notes:
					read(n)
				case <-ctx.Done():
					t.Fatalf("log messages so far %q", messages)
				}
			}
		}
		for len(h.notes) > 0 {
			read(<-h.notes)
		}
		if setLevel && (len(messages) != 2 || messages[0] != "job submitted" || messages[1] != "job completed") {
			t.Errorf("log messages = %q, want submitted and completed", messages)
		}
		if !setLevel && len(messages) != 0 {
			t.Errorf("a client that set no level got %q", messages)
		}
	}
}
