package tools_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

// roots answers roots/list with file: URLs of its folders ("/" is the
// filesystem root, file:///).
type roots []string

func (r roots) ListRoots(context.Context, mcp.ListRootsRequest) (*mcp.ListRootsResult, error) {
	res := &mcp.ListRootsResult{}
	for _, d := range r {
		res.Roots = append(res.Roots, mcp.Root{URI: "file://" + d, Name: filepath.Base(d)})
	}
	return res, nil
}

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestClientRoots: with no --allow-dir, a folder the client shares as an
// MCP root may be read when roots count (stdio), and not otherwise; a
// root that is the filesystem root, the home folder itself or a folder
// that contains it (directly or through a symlink) is ignored with a
// warning. A refused file sends
// no byte to fal.
func TestClientRoots(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	shared := t.TempDir()
	clip := writeFile(t, filepath.Join(shared, "clip.mp4"), "\x00\x00\x00\x18ftypisom clip")
	inHome := writeFile(t, filepath.Join(home, "private.mp4"), "\x00\x00\x00\x18ftypisom home")
	toRoot := filepath.Join(t.TempDir(), "everything")
	if err := os.Symlink("/", toRoot); err != nil {
		t.Fatal(err)
	}
	toHomeParent := filepath.Join(t.TempDir(), "people")
	if err := os.Symlink(filepath.Dir(home), toHomeParent); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		clientRoots bool
		roots       roots
		path        string
		allowed     bool
		warning     string
	}{
		{name: "shared folder", clientRoots: true, roots: roots{shared}, path: clip, allowed: true},
		{name: "outside the roots", clientRoots: true, roots: roots{shared}, path: inHome},
		{name: "roots off (HTTP, --no-roots)", roots: roots{shared}, path: clip},
		{name: "filesystem root", clientRoots: true, roots: roots{"/"}, path: clip, warning: "filesystem root"},
		{name: "filesystem root via dot-dot", clientRoots: true, roots: roots{shared + "/../../../../../../.."}, path: clip, warning: "filesystem root"},
		{name: "symlink to the filesystem root", clientRoots: true, roots: roots{toRoot}, path: clip, warning: "filesystem root"},
		{name: "home folder", clientRoots: true, roots: roots{home}, path: inHome, warning: "home folder"},
		{name: "parent of the home folder", clientRoots: true, roots: roots{filepath.Dir(home)}, path: inHome, warning: "contains the home folder"},
		{name: "symlink to the parent of the home folder", clientRoots: true, roots: roots{toHomeParent}, path: inHome, warning: "contains the home folder"},
		{name: "home folder and a shared one", clientRoots: true, roots: roots{home, shared}, path: clip, allowed: true, warning: "home folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu := faltest.NewServer(faltest.Options{Key: testKey})
			defer emu.Close()
			fal, _ := falqueue.New(falqueue.Config{Key: testKey, QueueURL: emu.QueueURL, RestURL: emu.RestURL})
			var log logBuffer
			srv, err := tools.NewServer(tools.Options{Fal: fal, ClientRoots: tt.clientRoots, Logger: slog.New(slog.NewTextHandler(&log, nil))})
			if err != nil {
				t.Fatal(err)
			}
			c, err := client.NewInProcessClientWithOptions(srv, client.WithRootsHandler(tt.roots))
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
			req := mcp.CallToolRequest{}
			req.Params.Name = "upload_file"
			req.Params.Arguments = map[string]any{"path": tt.path}
			res, err := c.CallTool(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if res.IsError == tt.allowed {
				t.Errorf("upload_file %s: error=%v, want allowed=%v: %s", tt.path, res.IsError, tt.allowed, text(res))
			}
			var sent int64
			for _, r := range emu.Requests() {
				sent += r.BodySize
			}
			if !tt.allowed && sent != 0 {
				t.Errorf("%d bytes reached fal for a refused file", sent)
			}
			if tt.warning != "" && !strings.Contains(log.String(), tt.warning) {
				t.Errorf("no warning about the %s:\n%s", tt.warning, log.String())
			}
		})
	}
}
