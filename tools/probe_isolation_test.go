package tools_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// manifests are files that name another file for ffprobe to open: a DASH
// manifest, an HLS playlist and an ffmpeg concat script, each saved with
// an .mp4 name inside an allowed folder.
var manifests = []struct {
	name string
	body func(target string) string
}{
	{"dash", func(target string) string {
		return `<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT1S" minBufferTime="PT1S" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">
<Period><AdaptationSet mimeType="video/mp4"><Representation id="1" bandwidth="1000" codecs="avc1.42c00a" width="64" height="48">
<BaseURL>file://` + target + `</BaseURL>
</Representation></AdaptationSet></Period></MPD>
`
	}},
	{"hls", func(target string) string {
		return "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nfile://" + target + "\n#EXT-X-ENDLIST\n"
	}},
	{"hls-plain-path", func(target string) string {
		return "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n" + target + "\n#EXT-X-ENDLIST\n"
	}},
	{"concat", func(target string) string { return "ffconcat version 1.0\nfile " + target + "\n" }},
	{"concat-unsafe-off", func(target string) string { return "ffconcat version 1.0\nfile 'file:" + target + "'\n" }},
}

// TestProbeMediaReadsOnlyItsFile: a manifest inside an allowed folder that
// names a canary video outside gives none of the canary's metadata, from
// probe_media or from upscale_video's estimate, and the answers are the
// same whether the canary exists or not (no existence oracle).
func TestProbeMediaReadsOnlyItsFile(t *testing.T) {
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe is not installed: the manifests are what ffprobe would follow")
	}
	allowed, outside := t.TempDir(), t.TempDir()
	canary := filepath.Join(outside, "secret.mp4") // 64×48, 10 frames, h264
	if err := os.WriteFile(canary, sampleMP4(t), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(outside, "missing.mp4")
	src := filepath.Join(allowed, "clip.mp4")
	leaks := func(s string) bool {
		return strings.Contains(s, "64x48") || strings.Contains(s, "h264") || strings.Contains(s, "10 frames") || strings.Contains(s, "$")
	}
	for _, era := range eras {
		h := newHarness(t, era, allowing(t, allowed))
		ctx := ctxT(t)
		for _, m := range manifests {
			answers := map[string]string{}
			for _, target := range []string{canary, missing} {
				if err := os.WriteFile(src, []byte(m.body(target)), 0o600); err != nil {
					t.Fatal(err)
				}
				probe := h.call(t, ctx, "probe_media", map[string]any{"source": src})
				sc, _ := json.Marshal(probe.StructuredContent)
				if !probe.IsError || leaks(text(probe)) || probe.StructuredContent != nil {
					t.Errorf("%s %s → %s: probe_media = error %v: %s %s", era, m.name, target, probe.IsError, text(probe), sc)
				}
				est := h.call(t, ctx, "upscale_video", map[string]any{"video_url": src, "scale": 4, "estimate_only": true})
				usd, basis := estimated(t, est)
				if usd != nil {
					t.Errorf("%s %s → %s: upscale_video estimated $%v from a file outside (%s)", era, m.name, target, *usd, basis)
				}
				answers[target] = fmt.Sprintf("%v %s | %v", probe.IsError, text(probe), basis)
			}
			if answers[canary] != answers[missing] {
				t.Errorf("%s %s: the answers tell whether the target exists:\n exists:  %s\n missing: %s", era, m.name, answers[canary], answers[missing])
			}
			if !strings.Contains(answers[canary], "not an mp4") {
				t.Errorf("%s %s: the refusal does not say why: %s", era, m.name, answers[canary])
			}
		}
		if n := len(h.emu.Requests()); n != 0 {
			t.Errorf("fal received %d requests", n)
		}
	}
}
