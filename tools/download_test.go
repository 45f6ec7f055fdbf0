package tools_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/fal-video-mcp/fal-video-mcp/tools/localfile"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestDownloads: job_result with download saves every output file, whole,
// inside the output folder under a safe unique name — whatever file name
// the service sent — and links it.
func TestDownloads(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	dir, err := localfile.NewOutputDir(out)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, mcp.ProtocolVersion20260728, func(o *tools.Options) { o.Output = dir })
	video := h.emu.AddFile("clip.mp4", "video/mp4", []byte("the video bytes"))
	tests := []struct{ fileName, want string }{
		{"../../x.mp4", ".mp4"},
		{"/etc/passwd", ""},
		{"", ".mp4"},
	}
	ctx := ctxT(t)
	for _, tt := range tests {
		h.emu.SetScript("fal-ai/video-upscaler", faltest.Script{Output: map[string]any{
			"video": map[string]any{"url": video, "content_type": "video/mp4", "file_name": tt.fileName}}})
		job := jobOf(t, h.call(t, ctx, "upscale_video", map[string]any{"video_url": "https://x/i.mp4", "wait_seconds": 5}))
		first := ""
		for range 2 { // a second download of the same job returns the file saved first
			res := h.call(t, ctx, "job_result", map[string]any{"request_id": job.RequestID, "download": true})
			got := jobOf(t, res)
			if res.IsError || len(got.Files) != 1 {
				t.Fatalf("job_result = %s", text(res))
			}
			p := got.Files[0].LocalPath
			if first == "" {
				first = p
			} else if p != first {
				t.Errorf("second download saved %q, want the first file %q again", p, first)
			}
			if filepath.Dir(p) != dir.Dir() || !strings.HasPrefix(filepath.Base(p), "upscale_video-"+job.RequestID) {
				t.Errorf("saved to %q, want %s/upscale_video-%s…", p, dir.Dir(), job.RequestID)
			}
			if b, err := os.ReadFile(p); err != nil || string(b) != "the video bytes" {
				t.Errorf("%s holds %q (%v)", p, b, err)
			}
			links := 0
			for _, c := range res.Content {
				if l, ok := c.(mcp.ResourceLink); ok && strings.HasPrefix(l.URI, "file://") {
					links++
				}
			}
			if links != 1 {
				t.Errorf("want a file:// link: %+v", res.Content)
			}
		}
	}
	entries, _ := os.ReadDir(dir.Dir())
	if len(entries) != len(tests) {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("output folder holds %v, want %d files", names, len(tests))
	}
	for _, r := range h.emu.Requests() {
		if r.Op == faltest.OpFile && r.Header.Get("Authorization") != "" {
			t.Error("the key went with a file download")
		}
	}
}
