package tools_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

type roots []string

func (r roots) ListRoots(context.Context, mcp.ListRootsRequest) (*mcp.ListRootsResult, error) {
	res := &mcp.ListRootsResult{}
	for _, d := range r {
		res.Roots = append(res.Roots, mcp.Root{URI: "file://" + d, Name: filepath.Base(d)})
	}
	return res, nil
}

// TestClientRootsAreAllowed: with no --allow-dir, a folder the client
// shares as an MCP root may be read; others still may not.
func TestClientRootsAreAllowed(t *testing.T) {
	shared, private := t.TempDir(), t.TempDir()
	clip := writeFile(t, filepath.Join(shared, "clip.mp4"), "\x00\x00\x00\x18ftypisom clip")
	other := writeFile(t, filepath.Join(private, "other.mp4"), "\x00\x00\x00\x18ftypisom other")
	emu := faltest.NewServer(faltest.Options{Key: testKey})
	defer emu.Close()
	fal, _ := falqueue.New(falqueue.Config{Key: testKey, QueueURL: emu.QueueURL, RestURL: emu.RestURL})
	srv, err := tools.NewServer(tools.Options{Fal: fal})
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.NewInProcessClientWithOptions(srv, client.WithRootsHandler(roots{shared}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := ctxT(t)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.ProtocolVersion20251125
	init.Params.Capabilities.Roots = &struct {
		ListChanged bool `json:"listChanged,omitempty"`
	}{}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	call := func(path string) *mcp.CallToolResult {
		req := mcp.CallToolRequest{}
		req.Params.Name = "upload_file"
		req.Params.Arguments = map[string]any{"path": path}
		res, err := c.CallTool(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := call(clip); res.IsError {
		t.Errorf("a file under a client root was refused: %s", text(res))
	}
	if res := call(other); !res.IsError {
		t.Errorf("a file outside the roots was uploaded")
	}
}
