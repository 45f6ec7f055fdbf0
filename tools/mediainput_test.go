package tools_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/fal-video-mcp/fal-video-mcp/tools/localfile"
)

func b64(n int) string { return base64.StdEncoding.EncodeToString(make([]byte, n)) }

// inputCase is a call that must be refused before anything reaches fal:
// the error names the field, shows the value and says what is allowed.
type inputCase struct {
	name  string
	tool  string
	args  map[string]any
	field string
	value string // a prefix of the value as shown
	want  string // words of what is allowed
}

func refusedInputs() []inputCase {
	return []inputCase{
		{"html as a video", "upscale_video", map[string]any{"video_url": "data:text/html;base64," + base64.StdEncoding.EncodeToString([]byte("<html><script>x</script></html>"))},
			"video_url", `"data:text/html;base64,`, "video/"},
		{"a shell script as a video", "upscale_video", map[string]any{"video_url": "data:application/x-sh;base64," + base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\nrm -rf /\n"))},
			"video_url", `"data:application/x-sh`, "video/"},
		{"no media type", "upscale_video", map[string]any{"video_url": "data:;base64," + b64(30)}, "video_url", `"data:;base64`, "video/"},
		{"bad base64", "upscale_video", map[string]any{"video_url": "data:video/mp4;base64,@@@not*base64!!"}, "video_url", `"data:video/mp4;base64,@@@`, "base64"},
		{"empty", "upscale_video", map[string]any{"video_url": "data:,"}, "video_url", `"data:,"`, "empty"},
		{"empty base64", "upscale_video", map[string]any{"video_url": "data:video/mp4;base64,"}, "video_url", `"data:video/mp4;base64,"`, "empty"},
		{"a video as audio", "merge_audio_video", map[string]any{"video_url": "https://v3.fal.media/files/v.mp4", "audio_url": "data:video/mp4;base64," + b64(30)},
			"audio_url", `"data:video/mp4`, "audio/"},
		{"audio as an image", "ray2_modify_video", map[string]any{"video_url": "https://v3.fal.media/files/v.mp4", "prompt": "a prompt", "image_url": "data:audio/mpeg;base64," + b64(30)},
			"image_url", `"data:audio/mpeg`, "image/"},
		{"a list item", "wan_vace_video", map[string]any{"prompt": "p", "video_url": "https://v3.fal.media/files/v.mp4", "ref_image_urls": []any{"https://v3.fal.media/files/a.png", "data:text/plain;base64," + b64(3)}},
			"ref_image_urls[1]", `"data:text/plain`, "image/"},
		{"a nested field", "ltx_multiconditioning_video", map[string]any{"prompt": "p", "images": []any{map[string]any{"image_url": "data:video/mp4;base64," + b64(3)}}},
			"images[0].image_url", `"data:video/mp4`, "image/"},
		{"two 6 MiB data URIs (the issue sent two 10 MB ones)", "wan_vace_video", map[string]any{"prompt": "p", "task": "inpainting",
			"video_url": "data:video/mp4;base64," + b64(6<<20), "mask_video_url": "data:video/mp4;base64," + b64(6<<20)},
			"mask_video_url", `"data:video/mp4;base64,AAAA`, "bytes"},
		{"seed -1", "wan_vace_video", map[string]any{"prompt": "p", "video_url": "https://v3.fal.media/files/v.mp4", "seed": -1}, "seed", "-1", "at least 0"},
		{"seed over 32 bits", "magi_extend_video", map[string]any{"prompt": "p", "video_url": "https://v3.fal.media/files/v.mp4", "seed": 4294967296}, "seed", "4294967296", "at most 4294967295"},
		{"start_offset 1e308", "merge_audio_video", map[string]any{"video_url": "https://v3.fal.media/files/v.mp4", "audio_url": "https://v3.fal.media/files/a.mp3", "start_offset": 1e308},
			"start_offset", "1e+308", "at most"},
		{"start_frame 1e9", "magi_extend_video", map[string]any{"prompt": "p", "video_url": "https://v3.fal.media/files/v.mp4", "start_frame": 1_000_000_000}, "start_frame", "1000000000", "at most"},
		{"10,000 images", "ltx_multiconditioning_video", map[string]any{"prompt": "p", "images": manyImages(10_000)}, "images", "10000 items", "at most"},
		{"1,000 LoRAs", "ltx_multiconditioning_video", map[string]any{"prompt": "p", "loras": manyLoras(1000)}, "loras", "1000 items", "at most"},
		{"1,000 reference images", "wan_vace_video", map[string]any{"prompt": "p", "video_url": "https://v3.fal.media/files/v.mp4", "ref_image_urls": manyURLs(1000)}, "ref_image_urls", "1000 items", "at most"},
	}
}

func manyImages(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"image_url": "https://v3.fal.media/files/a.png"}
	}
	return out
}

func manyLoras(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"path": "https://example.com/l.safetensors"}
	}
	return out
}

func manyURLs(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = "https://v3.fal.media/files/a.png"
	}
	return out
}

// TestMediaInputsChecked: data: URIs of the wrong kind, undecodable,
// empty or too large, and numbers outside what fal accepts, are refused
// with the field, the value and what is allowed — for a submit and for
// estimate_only — and nothing reaches fal.
func TestMediaInputsChecked(t *testing.T) {
	for _, era := range eras {
		h := newHarness(t, era)
		for _, c := range refusedInputs() {
			for _, estimate := range []bool{false, true} {
				if c.name == "two 6 MiB data URIs (the issue sent two 10 MB ones)" && (era != eras[1] || estimate) {
					continue // 27 MB of JSON per call: once is enough (seconds under -race)
				}
				args := map[string]any{"wait_seconds": 0}
				for k, v := range c.args {
					args[k] = v
				}
				if estimate {
					args["estimate_only"] = true
				}
				res := h.call(t, ctxT(t), c.tool, args)
				msg := text(res)
				if !res.IsError || !strings.Contains(msg, c.field+": got "+c.value) || !strings.Contains(msg, c.want) {
					if len(msg) > 600 {
						msg = msg[:600] + "…"
					}
					t.Errorf("%s %s (estimate_only %v): error %v: %s\nwant %q with %q", era, c.name, estimate, res.IsError, msg, c.field+": got "+c.value, c.want)
				}
			}
			if n := len(h.emu.Requests()); n != 0 {
				t.Errorf("%s %s: fal received %d requests", era, c.name, n)
				h.emu.ResetRequests()
			}
		}
	}
}

// TestDataURIsThatFit: a data URI of the field's kind, within the size
// limit, is sent as it is; --max-upload-size bounds data URIs too.
func TestDataURIsThatFit(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{Key: testKey, DefaultScript: &faltest.Script{Output: map[string]any{}}})
	t.Cleanup(emu.Close)
	small, err := localfile.NewPolicy(nil, 1000)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarnessOn(t, emu, eras[1], func(o *tools.Options) { o.Files = small })
	ctx := ctxT(t)
	ok := h.call(t, ctx, "upscale_video", map[string]any{"video_url": "data:video/mp4;base64," + b64(600), "wait_seconds": 0})
	if ok.IsError {
		t.Fatalf("a 600-byte video data URI: %s", text(ok))
	}
	emu.ResetRequests()
	res := h.call(t, ctx, "upscale_video", map[string]any{"video_url": "data:Video/MP4;base64," + b64(1001), "wait_seconds": 0})
	if !res.IsError || !strings.Contains(text(res), "video_url") || !strings.Contains(text(res), "1001 bytes") || !strings.Contains(text(res), "--max-upload-size") {
		t.Errorf("a 1001-byte data URI over a 1000-byte --max-upload-size: %s", text(res))
	}
	for _, r := range emu.Requests() {
		if r.Method == "POST" { // the first job's follower may still poll
			t.Errorf("fal received a submit: %s %s", r.Method, r.Path)
		}
	}
}
