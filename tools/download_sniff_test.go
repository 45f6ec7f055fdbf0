package tools_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
)

// TestSavedExtensionFollowsTheBytes: a downloaded output is named after
// what its bytes are, whatever media type fal declares for it: HTML or
// text declared as video/mp4 is saved as .bin, an image declared as a
// video is saved as the image it is; a declared type only picks among
// names of the same container (an mp4 declared audio/mp4 is .m4a).
func TestSavedExtensionFollowsTheBytes(t *testing.T) {
	mp4 := "\x00\x00\x00\x18ftypisom\x00\x00\x02\x00 the video"
	tests := []struct{ contentType, data, want string }{
		{"video/mp4", "<!DOCTYPE html><html><script>alert(1)</script></html>", ".bin"},
		{"video/mp4", "<html><body>not a video</body></html>", ".bin"},
		{"video/mp4", "just some text, not a video", ".bin"},
		{"video/mp4", "MZ\x90\x00 a program", ".bin"},
		{"video/mp4", "\x89PNG\r\n\x1a\n a picture", ".png"},
		{"image/png", mp4, ".mp4"},
		{"audio/mp4", mp4, ".m4a"},
		{"video/mp4", mp4, ".mp4"},
		{"video/ogg", "OggS\x00\x02 an ogg video", ".ogv"},
		{"image/avif", "\x00\x00\x00\x1cftypavif\x00\x00\x00\x00", ".avif"},
	}
	for _, era := range eras {
		emu := faltest.NewServer(faltest.Options{Key: testKey})
		t.Cleanup(emu.Close)
		withFal, dir := downloading(t, emu, emu.CDNURL, nil, 0)
		h := newHarnessOn(t, emu, era, withFal)
		ctx := ctxT(t)
		for _, tt := range tests {
			outputFile(emu, emu.AddFile("out.mp4", tt.contentType, []byte(tt.data)), tt.contentType, "out.mp4")
			job := jobOf(t, h.call(t, ctx, "upscale_video", map[string]any{"video_url": "https://x/i.mp4", "wait_seconds": 5}))
			res := h.call(t, ctx, "job_result", map[string]any{"request_id": job.RequestID, "download": true})
			got := jobOf(t, res)
			if res.IsError || len(got.Files) != 1 {
				t.Fatalf("job_result = %s", text(res))
			}
			p := got.Files[0].LocalPath
			if filepath.Ext(p) != tt.want || filepath.Dir(p) != dir.Dir() {
				t.Errorf("%s: declared %q, bytes %.12q: saved as %s, want …%s", era, tt.contentType, tt.data, filepath.Base(p), tt.want)
			}
			if b, _ := os.ReadFile(p); string(b) != tt.data {
				t.Errorf("%s holds %q", p, b)
			}
		}
	}
}
