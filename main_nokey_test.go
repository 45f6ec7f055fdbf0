package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// TestNoKeyStillServes: without a key and without --dry-run the server
// starts, lists every tool, and refuses each submit with an error that
// says how to set FAL_KEY or use --dry-run.
func TestNoKeyStillServes(t *testing.T) {
	p := runPiped(t, mcp.ProtocolVersion20251125, nil, map[string]string{"FAL_VIDEO_MCP_STATE_DIR": t.TempDir()})
	c, stderr := p.client, p.stderr
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, tool := range list.Tools {
		names[tool.Name] = true
	}
	for _, want := range []string{"upscale_video", "wan_vace_video", "job_status", "job_result", "job_cancel", "job_list"} {
		if !names[want] {
			t.Errorf("tool %s is not listed without a key", want)
		}
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = "upscale_video"
	req.Params.Arguments = map[string]any{"video_url": "https://example.com/in.mp4", "wait_seconds": 0}
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var msg string
	for _, content := range res.Content {
		if tc, ok := content.(mcp.TextContent); ok {
			msg += tc.Text
		}
	}
	if !res.IsError || !strings.Contains(msg, "FAL_KEY") || !strings.Contains(msg, "--dry-run") {
		t.Errorf("submit without a key = %v %q", res.IsError, msg)
	}
	if code := p.stop(); code != 0 {
		t.Errorf("exit code %d; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "no fal key") {
		t.Errorf("stderr does not warn about the missing key:\n%s", stderr.String())
	}
}
