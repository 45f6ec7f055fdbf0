package tools_test

import (
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestContentFitsProtocol: a completed job's result in each protocol
// version. Before 2025-06-18 there are no resource_link blocks and no
// structured content, and the output URL is in the text; from 2025-06-18
// on, the result is whole. The listing drops title and outputSchema
// before 2025-06-18 only.
func TestContentFitsProtocol(t *testing.T) {
	row := schemas.Catalog[0]
	for _, tt := range []struct {
		version string
		old     bool
	}{
		{mcp.ProtocolVersion20241105, true},
		{mcp.ProtocolVersion20250326, true},
		{mcp.ProtocolVersion20250618, false},
		{mcp.ProtocolVersion20251125, false},
		{mcp.ProtocolVersion20260728, false},
	} {
		t.Run(tt.version, func(t *testing.T) {
			h := newHarness(t, tt.version)
			output := h.emu.ServeOutputFiles(schemas.ExampleOutput(row.Tool))
			h.emu.SetScript(row.ID, faltest.Script{Output: output})
			ctx := ctxT(t)
			res := h.call(t, ctx, row.Tool, map[string]any{"video_url": "https://example.com/in.mp4", "wait_seconds": 10})
			if res.IsError {
				t.Fatal(text(res))
			}
			var links []string
			for _, c := range res.Content {
				if l, ok := c.(mcp.ResourceLink); ok {
					links = append(links, l.URI)
				}
			}
			if tt.old {
				if len(links) > 0 || res.StructuredContent != nil {
					t.Errorf("%s got %d resource links, structured content %v", tt.version, len(links), res.StructuredContent != nil)
				}
				if !strings.Contains(text(res), "Output: http") {
					t.Errorf("the output URL is not in the text: %s", text(res))
				}
			} else if len(links) == 0 || res.StructuredContent == nil {
				t.Errorf("%s lost its resource links (%d) or structured content", tt.version, len(links))
			}
			list, err := h.client.ListTools(ctx, mcp.ListToolsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			for _, tool := range list.Tools {
				hasNew := tool.Title != "" || tool.RawOutputSchema != nil || tool.OutputSchema.Type != ""
				if hasNew == tt.old {
					t.Errorf("%s: tool %s title %q, output schema %v", tt.version, tool.Name, tool.Title, tool.RawOutputSchema != nil || tool.OutputSchema.Type != "")
				}
			}
		})
	}
}
