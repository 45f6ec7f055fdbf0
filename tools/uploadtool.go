package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

type uploadArgs struct {
	Path string `json:"path" jsonschema:"required,minLength=1" jsonschema_description:"An absolute local path or file:// URL inside the folders the user allowed."`
}

// uploadTool is upload_file: a local file to a fal CDN URL, for agents
// that want the URL themselves.
func (s *toolset) uploadTool() (server.ServerTool, error) {
	out, err := terseSchema(reflect.TypeFor[uploaded]()) // the description names the fields
	if err != nil {
		return server.ServerTool{}, err
	}
	st, _, err := s.build(toolSpec{
		name: "upload_file", title: "Upload a local file", input: reflect.TypeFor[uploadArgs](), output: out, idempotent: true,
		description: "Uploads a local file (video, image or audio) inside the folders the user allowed to fal's CDN and returns its URL, " +
			"content type and size. The endpoint tools also accept local paths directly; use this to get the URL yourself. " +
			"A file already uploaded is not uploaded again.",
		handle: s.uploadFile,
	})
	return st, err
}

func (s *toolset) uploadFile(ctx context.Context, _ mcp.CallToolRequest, raw json.RawMessage) *mcp.CallToolResult {
	if s.opts.NoKey {
		return mcp.NewToolResultError("upload_file: no fal key is set: set FAL_KEY in the server's environment, or use --dry-run")
	}
	args := decodeArgs[uploadArgs](raw)
	up, err := s.uploads.upload(ctx, args.Path)
	if err != nil {
		return mcp.NewToolResultError("upload_file: " + err.Error())
	}
	return &mcp.CallToolResult{
		Content: []mcp.Content{
			mcp.NewTextContent(fmt.Sprintf("Uploaded %s (%s, %d bytes): %s", args.Path, up.ContentType, up.Size, up.URL)),
			mcp.NewResourceLink(up.URL, baseName(args.Path), "uploaded from "+args.Path, up.ContentType),
		},
		StructuredContent: up,
	}
}
