package tools_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestToolSelection: --tools and --read-only change tools/list exactly as
// documented, and the instructions describe only the tools enabled.
func TestToolSelection(t *testing.T) {
	jobs := "job_cancel job_list job_result job_status"
	tests := []struct {
		tools    []string
		readOnly bool
		want     string // sorted names
	}{
		// upload_file and probe_media stay with the job tools: local files need them.
		{[]string{"upscale_video"}, false, jobs + " probe_media upload_file upscale_video"},
		{[]string{"fal-ai/pixverse/extend/fast", "wan_vace_video"}, false, jobs + " pixverse_extend_video_fast probe_media upload_file wan_vace_video"},
		{[]string{"upload_file", " merge_audio_video "}, false, jobs + " merge_audio_video probe_media upload_file"},
		{[]string{"job_list"}, false, jobs + " probe_media upload_file"},
		{nil, true, "job_list job_result job_status probe_media"},
		{[]string{"upscale_video"}, true, "job_list job_result job_status probe_media"},
	}
	for _, tt := range tests {
		h := newHarness(t, mcp.ProtocolVersion20260728, func(o *tools.Options) { o.Tools, o.ReadOnly = tt.tools, tt.readOnly })
		res, err := h.client.ListTools(ctxT(t), mcp.ListToolsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tool := range res.Tools {
			names = append(names, tool.Name)
		}
		sortStrings(names)
		if got := strings.Join(names, " "); got != tt.want {
			t.Errorf("tools %v read-only %v: %s, want %s", tt.tools, tt.readOnly, got, tt.want)
		}
	}
	fal, _ := falqueue.New(falqueue.Config{})
	if _, err := tools.NewServer(tools.Options{Fal: fal, Tools: []string{"upscale"}}); err == nil || !strings.Contains(err.Error(), "upscale_video") {
		t.Errorf("an unknown tool name = %v, want an error listing the valid ones", err)
	}
	srv, _ := tools.NewServer(tools.Options{Fal: fal, ReadOnly: true})
	c, _ := client.NewInProcessClient(srv)
	defer c.Close()
	_ = c.Start(ctxT(t))
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.ProtocolVersion20251125
	res, err := c.Initialize(ctxT(t), init)
	if err != nil || !strings.Contains(res.Instructions, "read-only") || strings.Contains(res.Instructions, "wan_vace_video") {
		t.Errorf("read-only instructions = %q (%v)", res.Instructions, err)
	}
}

func sortStrings(s []string) { slices.Sort(s) }
