package tools_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/tools/mediaprobe"
	"github.com/mark3labs/mcp-go/mcp"
)

// sampleMP4 is a committed 1 s, 10 fps, 64×48 h264 clip (made by
// tools/mediaprobe's tests with ffmpeg).
func sampleMP4(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("mediaprobe", "testdata", "video10.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func probed(t *testing.T, res *mcp.CallToolResult) mediaprobe.Info {
	t.Helper()
	if res.IsError {
		t.Fatalf("probe_media failed: %s", text(res))
	}
	var in mediaprobe.Info
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &in); err != nil {
		t.Fatal(err)
	}
	return in
}

// TestProbeMedia: a local file inside the allowed folders is probed with
// ffprobe when it is on PATH and with the built-in reader when it is not;
// both give the same answer, which matches the declared output schema.
func TestProbeMedia(t *testing.T) {
	dir := t.TempDir()
	clip := filepath.Join(dir, "clip.mp4")
	if err := os.WriteFile(clip, sampleMP4(t), 0o600); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, prober string) {
		for _, era := range eras {
			h := newHarness(t, era, allowing(t, dir))
			res := h.call(t, ctxT(t), "probe_media", map[string]any{"source": clip})
			in := probed(t, res)
			if in.Prober != prober || in.Container != "mp4" || in.DurationSeconds != 1 || in.FrameRate != 10 || in.FrameCount != 10 ||
				in.Width != 64 || in.Height != 48 || in.VideoCodec != "h264" || in.HasAudio || in.SizeBytes != int64(len(sampleMP4(t))) {
				t.Errorf("%s: probed %+v", era, in)
			}
			if !strings.Contains(text(res), "10 fps") || !strings.Contains(text(res), "10 frames") {
				t.Errorf("summary %q", text(res))
			}
			conformsToOutputSchema(t, "probe_media", res)
			if n := len(h.emu.Requests()); n != 0 {
				t.Errorf("fal received %d requests for a probe: %+v", n, h.emu.Requests()[0])
			}
		}
	}
	t.Run("ffprobe", func(t *testing.T) {
		if _, err := exec.LookPath("ffprobe"); err != nil {
			t.Skip("ffprobe is not installed")
		}
		check(t, "ffprobe")
	})
	t.Run("builtin", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		check(t, "builtin")
	})
}

// TestProbeMediaRefusals: a path outside the allowed folders is refused
// exactly as upload_file refuses it; other schemes name the field.
func TestProbeMediaRefusals(t *testing.T) {
	allowed := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret.mp4")
	if err := os.WriteFile(outside, sampleMP4(t), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(allowed, "link.mp4")); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, mcp.ProtocolVersion20251125, allowing(t, allowed))
	ctx := ctxT(t)
	for _, p := range []string{outside, "file://" + outside, filepath.Join(allowed, "link.mp4"), filepath.Join(allowed, "..", filepath.Base(outside)), "/etc/passwd"} {
		probe := h.call(t, ctx, "probe_media", map[string]any{"source": p})
		upload := h.call(t, ctx, "upload_file", map[string]any{"path": p})
		_, why, _ := strings.Cut(text(upload), "refused")
		if !probe.IsError || why == "" || !strings.Contains(text(probe), why) {
			t.Errorf("probe_media(%q) = %s\nupload_file: %s", p, text(probe), text(upload))
		}
	}
	for _, src := range []string{"ftp://example.com/a.mp4", "clip.mp4", "data:video/mp4;base64,AAAA"} {
		res := h.call(t, ctx, "probe_media", map[string]any{"source": src})
		if !res.IsError || !strings.Contains(text(res), "source") || !strings.Contains(text(res), "http(s) URL") {
			t.Errorf("probe_media(%q) = %s", src, text(res))
		}
	}
	if n := len(h.emu.Requests()); n != 0 {
		t.Errorf("fal received %d requests", n)
	}
}

// TestProbeMediaURL: a URL on fal's CDN is probed with range requests for
// its header boxes; the emulator counts the bytes it sent.
func TestProbeMediaURL(t *testing.T) {
	h := newHarness(t, mcp.ProtocolVersion20260728)
	data := sampleMP4(t)
	u := h.emu.AddFile("clip.mp4", "video/mp4", data)
	h.emu.ResetRequests()
	in := probed(t, h.call(t, ctxT(t), "probe_media", map[string]any{"source": u}))
	if in.FrameCount != 10 || in.FrameRate != 10 || in.SizeBytes != int64(len(data)) || in.Prober != "builtin" {
		t.Errorf("probed %+v", in)
	}
	var sent int64
	for _, r := range h.emu.Requests() {
		if r.Header.Get("Range") == "" {
			t.Errorf("read without a range: %s %s", r.Method, r.Path)
		}
		sent += r.BodySent
	}
	if sent == 0 || sent >= int64(len(data)) {
		t.Errorf("read %d of %d bytes", sent, len(data))
	}
	t.Logf("read %d of %d bytes in %d requests", sent, len(data), len(h.emu.Requests()))
}
