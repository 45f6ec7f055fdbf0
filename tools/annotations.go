package tools

import (
	"context"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// annotationsFilter lists each tool as the client's protocol defines it:
// tool annotations came with 2025-03-26 and a tool's top-level title with
// 2025-06-18. A 2025-03-26 client gets the title inside the annotations
// only (where our tools carry it as well); a 2024-11-05 client gets
// neither.
//
// mcp-go v1.2.1's Tool.MarshalJSON (mcp/tools.go) writes the
// "annotations" key unconditionally, so a tool filter — the only hook that
// can change the listing per client — cannot remove the key itself: a
// 2024-11-05 client sees "annotations": {} with nothing in it, which its
// schema (tools carry no additionalProperties: false) accepts and ignores.
// Dropping the key as well would need a wrapper around each transport's
// writer, which is not worth an empty object.
func annotationsFilter(ctx context.Context, tools []mcp.Tool) []mcp.Tool {
	v := server.RequestProtocolVersion(ctx)
	if v == "" || !before(v, mcp.ProtocolVersion20250618) {
		return tools
	}
	out := make([]mcp.Tool, len(tools))
	for i, t := range tools {
		if before(v, mcp.ProtocolVersion20250326) {
			t.Annotations = mcp.ToolAnnotation{}
		} else if t.Annotations.Title == "" {
			t.Annotations.Title = t.Title
		}
		t.Title = ""
		out[i] = t
	}
	return out
}

// annotationsOption registers annotationsFilter.
func annotationsOption() server.ServerOption { return server.WithToolFilter(annotationsFilter) }
