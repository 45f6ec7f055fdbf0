package tools_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestToolAnnotationsByProtocol: tool annotations came with 2025-03-26 and
// a tool's top-level title with 2025-06-18; a client of an older protocol
// is not sent values it has no field for. (mcp-go writes the
// "annotations" key itself, so an old client sees it empty, never filled.)
func TestToolAnnotationsByProtocol(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{Key: testKey})
	t.Cleanup(emu.Close)
	for _, tc := range []struct {
		version               string
		annotations, topTitle bool
	}{
		{mcp.ProtocolVersion20241105, false, false},
		{mcp.ProtocolVersion20250326, true, false},
		{mcp.ProtocolVersion20250618, true, true},
		{mcp.ProtocolVersion20251125, true, true},
		{mcp.ProtocolVersion20260728, true, true},
	} {
		t.Run(tc.version, func(t *testing.T) {
			for _, caps := range []mcp.ClientCapabilities{{}, uiCaps()} {
				c, _ := appClient(t, emu, tc.version, caps)
				list, err := c.ListTools(ctxT(t), mcp.ListToolsRequest{})
				if err != nil {
					t.Fatal(err)
				}
				if len(list.Tools) == 0 {
					t.Fatal("no tools")
				}
				for _, tool := range list.Tools {
					b, _ := json.Marshal(tool.Annotations)
					has := tool.Annotations != (mcp.ToolAnnotation{})
					if has != tc.annotations {
						t.Errorf("%s: annotations %s; want them: %v", tool.Name, b, tc.annotations)
					}
					if tc.annotations && (tool.Annotations.ReadOnlyHint == nil || tool.Annotations.Title == "") {
						t.Errorf("%s: annotations %s lack readOnlyHint or title", tool.Name, b)
					}
					if (tool.Title != "") != tc.topTitle {
						t.Errorf("%s: title %q; want one: %v", tool.Name, tool.Title, tc.topTitle)
					}
					if strings.Contains(string(b), "x-") {
						t.Errorf("%s: %s", tool.Name, b)
					}
				}
				if t.Failed() {
					return
				}
			}
		})
	}
}
