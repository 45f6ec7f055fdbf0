package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

type uploadArgs struct {
	Path string `json:"path" jsonschema:"required,minLength=1" jsonschema_description:"An absolute local path or file:// URL inside the folders the user allowed."`
}

// uploadTool is upload_file: a local file to a fal CDN URL, for agents
// that want the URL themselves.
func (s *toolset) uploadTool() (server.ServerTool, error) {
	in, err := schemas.InputSchema(reflect.TypeFor[uploadArgs]())
	if err != nil {
		return server.ServerTool{}, err
	}
	out, err := schemas.OutputSchema(reflect.TypeFor[uploaded]())
	if err != nil {
		return server.ServerTool{}, err
	}
	v, err := newValidator("upload_file", in)
	if err != nil {
		return server.ServerTool{}, err
	}
	tool := mcp.Tool{
		Name:  "upload_file",
		Title: "Upload a local file",
		Description: "Uploads a local file (video, image or audio) inside the folders the user allowed to fal's CDN and returns its URL, " +
			"content type and size. The endpoint tools also accept local paths directly; use this to get the URL yourself. " +
			"A file already uploaded is not uploaded again.",
		RawInputSchema: in, RawOutputSchema: out,
		Annotations: mcp.ToolAnnotation{Title: "Upload a local file", ReadOnlyHint: mcp.ToBoolPtr(false),
			DestructiveHint: mcp.ToBoolPtr(false), IdempotentHint: mcp.ToBoolPtr(true), OpenWorldHint: mcp.ToBoolPtr(true)},
	}
	return server.ServerTool{Tool: tool, Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		raw, _ := json.Marshal(orEmpty(req.GetArguments()))
		if err := v.check(raw); err != nil {
			return mcp.NewToolResultError("upload_file: " + err.Error()), nil
		}
		if s.opts.NoKey {
			return mcp.NewToolResultError("upload_file: no fal key is set: set FAL_KEY in the server's environment, or use --dry-run"), nil
		}
		args := decodeArgs[uploadArgs](raw)
		up, err := s.uploads.upload(ctx, args.Path)
		if err != nil {
			return mcp.NewToolResultError("upload_file: " + err.Error()), nil
		}
		return &mcp.CallToolResult{
			Content: []mcp.Content{
				mcp.NewTextContent(fmt.Sprintf("Uploaded %s (%s, %d bytes): %s", args.Path, up.ContentType, up.Size, up.URL)),
				mcp.NewResourceLink(up.URL, baseName(args.Path), "uploaded from "+args.Path, up.ContentType),
			},
			StructuredContent: up,
		}, nil
	}}, nil
}
