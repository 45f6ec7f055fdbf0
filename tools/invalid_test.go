package tools_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestInvalidCalls: each call is refused with an error result that names
// the field (and, where there is one, the bad value and what is allowed);
// fal receives nothing, and the server keeps serving.
func TestInvalidCalls(t *testing.T) {
	v := "https://v3.fal.media/files/x/clip.mp4"
	tests := []struct {
		tool string
		args map[string]any
		want []string // all must appear in the error text
	}{
		// Unknown fields.
		{"upscale_video", map[string]any{"video_url": v, "bogus": 1}, []string{"bogus", "unknown field", "allowed fields"}},
		{"interpolate_video_frames", map[string]any{"video_url": v, "fps": 30}, []string{"fps", "unknown field"}},
		{"wan_vace_video", map[string]any{"prompt": "x", "Prompt": "y"}, []string{"Prompt", "unknown field"}},
		// Missing required fields.
		{"upscale_video", map[string]any{}, []string{"video_url", "required"}},
		{"ray2_modify_video", map[string]any{"prompt": "x"}, []string{"video_url", "required"}},
		{"merge_audio_video", map[string]any{"video_url": v}, []string{"audio_url", "required"}},
		{"magi_extend_video", map[string]any{"prompt": "x"}, []string{"video_url", "required"}},
		{"pixverse_extend_video_fast", map[string]any{"video_url": v}, []string{"prompt", "required"}},
		{"animatediff_video_to_video", map[string]any{"prompt": "x"}, []string{"video_url", "required"}},
		{"wan_vace_video", map[string]any{"video_url": v}, []string{"prompt", "required"}},
		{"ltx_multiconditioning_video", map[string]any{}, []string{"prompt", "required"}},
		{"pixverse_lipsync", map[string]any{}, []string{"video_url", "required"}},
		// Wrong types.
		{"upscale_video", map[string]any{"video_url": 42}, []string{"video_url", "42", "string"}},
		{"upscale_video", map[string]any{"video_url": v, "scale": "big"}, []string{"scale", `"big"`, "number"}},
		{"wan_vace_video", map[string]any{"prompt": "x", "num_frames": 81.5}, []string{"num_frames", "81.5", "integer"}},
		{"wan_vace_video", map[string]any{"prompt": "x", "seed": "7"}, []string{"seed", `"7"`, "integer"}},
		{"wan_vace_video", map[string]any{"prompt": "x", "ref_image_urls": "https://x/a.png"}, []string{"ref_image_urls", "array"}},
		{"wan_vace_video", map[string]any{"prompt": "x", "enable_safety_checker": "yes"}, []string{"enable_safety_checker", "boolean"}},
		{"ltx_multiconditioning_video", map[string]any{"prompt": "x", "images": []any{"https://x/a.png"}}, []string{"images[0]", "object"}},
		{"magi_extend_video", map[string]any{"prompt": "x", "video_url": v, "num_frames": nil}, []string{"num_frames", "null"}},
		// Out of range.
		{"wan_vace_video", map[string]any{"prompt": "x", "num_frames": 300}, []string{"num_frames", "300", "241"}},
		{"wan_vace_video", map[string]any{"prompt": "x", "num_frames": 80}, []string{"num_frames", "80", "81"}},
		{"magi_extend_video", map[string]any{"prompt": "x", "video_url": v, "num_frames": 95}, []string{"num_frames", "95", "96"}},
		{"magi_extend_video", map[string]any{"prompt": "x", "video_url": v, "num_frames": 193}, []string{"num_frames", "193", "192"}},
		{"wan_vace_video", map[string]any{"prompt": "x", "frames_per_second": 31}, []string{"frames_per_second", "31", "30"}},
		{"wan_vace_video", map[string]any{"prompt": "x", "guidance_scale": 0}, []string{"guidance_scale", "0"}},
		{"upscale_video", map[string]any{"video_url": v, "wait_seconds": -1}, []string{"wait_seconds", "-1", "0"}},
		{"upscale_video", map[string]any{"video_url": v, "wait_seconds": 3600}, []string{"wait_seconds", "3600", "50"}},
		{"ray2_modify_video", map[string]any{"prompt": "x", "video_url": v, "mode": "gentle"}, []string{"mode", `"gentle"`, "allowed one of"}},
		// Bad enum values.
		{"wan_vace_video", map[string]any{"prompt": "x", "resolution": "1080p"}, []string{"resolution", `"1080p"`, `"720p"`}},
		{"wan_vace_video", map[string]any{"prompt": "x", "task": "dance"}, []string{"task", `"dance"`, `"inpainting"`}},
		{"wan_vace_video", map[string]any{"prompt": "x", "aspect_ratio": "4:3"}, []string{"aspect_ratio", `"4:3"`, `"16:9"`}},
		{"magi_extend_video", map[string]any{"prompt": "x", "video_url": v, "num_inference_steps": 10}, []string{"num_inference_steps", "10", "allowed one of"}},
		{"pixverse_extend_video_fast", map[string]any{"prompt": "x", "video_url": v, "model": "v9"}, []string{"model", `"v9"`}},
		{"wan_vace_video", map[string]any{"prompt": "x", "acceleration": "turbo"}, []string{"acceleration", `"turbo"`}},
		// Cross-field rules from the seed.
		{"wan_vace_video", map[string]any{"prompt": "x", "task": "inpainting"}, []string{"video_url", "inpainting"}},
		{"wan_vace_video", map[string]any{"prompt": "x", "task": "inpainting", "video_url": v}, []string{"mask_video_url", "mask"}},
		{"wan_vace_video", map[string]any{"prompt": "x"}, []string{"video_url", "task depth needs video_url"}},
		{"wan_vace_video", map[string]any{"prompt": "x", "match_input_num_frames": true}, []string{"video_url", "task depth needs video_url"}},
		{"wan_vace_video", map[string]any{"prompt": "x", "task": "pose"}, []string{"video_url", "task pose needs video_url"}},
		{"wan_vace_video", map[string]any{"prompt": "x", "task": "outpainting"}, []string{"video_url", "task outpainting needs video_url"}},
		{"wan_vace_video", map[string]any{"prompt": "x", "task": "reframe", "video_url": ""}, []string{"video_url", `got ""`, "task reframe needs video_url"}},
		{"pixverse_lipsync", map[string]any{"video_url": v}, []string{"audio_url", "text"}},
		{"ltx_multiconditioning_video", map[string]any{"prompt": "x", "num_frames": 121,
			"images": []any{map[string]any{"image_url": "https://x/a.png", "start_frame_num": 160}}}, []string{"start_frame_num", "160"}},
		{"ltx_multiconditioning_video", map[string]any{"prompt": "x", "images": []any{map[string]any{"image_url": "https://x/a.png", "start_frame_num": 12}}},
			[]string{"start_frame_num", "12"}},
		// Media values that are neither an http(s) URL with a host, a data
		// URI nor an absolute local path.
		{"upscale_video", map[string]any{"video_url": "clip.mp4"}, []string{"video_url", `"clip.mp4"`, "local paths must be absolute", "http(s) URL"}},
		{"upscale_video", map[string]any{"video_url": "media/clip.mp4"}, []string{"video_url", `"media/clip.mp4"`, "local paths must be absolute"}},
		{"upscale_video", map[string]any{"video_url": ""}, []string{"video_url", `got ""`, "empty", "http(s) URL"}},
		{"upscale_video", map[string]any{"video_url": "https://"}, []string{"video_url", `"https://"`, "no host"}},
		{"upscale_video", map[string]any{"video_url": "http://"}, []string{"video_url", `"http://"`, "no host"}},
		{"upscale_video", map[string]any{"video_url": "https:///files/a.mp4"}, []string{"video_url", "no host"}},
		{"upscale_video", map[string]any{"video_url": "https://exa mple.com/a.mp4"}, []string{"video_url", "not a valid URL"}},
		{"upscale_video", map[string]any{"video_url": " https://x/a.mp4"}, []string{"video_url", "white space"}},
		{"upscale_video", map[string]any{"video_url": "data:video/mp4;base64"}, []string{"video_url", "data URI", "comma"}},
		{"merge_audio_video", map[string]any{"video_url": v, "audio_url": ""}, []string{"audio_url", `got ""`}},
		{"pixverse_lipsync", map[string]any{"video_url": v, "audio_url": "", "text": "hello"}, []string{"audio_url", `got ""`}},
		{"ray2_modify_video", map[string]any{"video_url": v, "image_url": "https://"}, []string{"image_url", "no host"}},
		{"wan_vace_video", map[string]any{"prompt": "x", "video_url": v, "mask_image_url": ""}, []string{"mask_image_url", `got ""`}},
		{"wan_vace_video", map[string]any{"prompt": "x", "video_url": v, "ref_image_urls": []any{"https://x/a.png", ""}},
			[]string{"ref_image_urls[1]", `got ""`}},
		{"ltx_multiconditioning_video", map[string]any{"prompt": "x", "images": []any{map[string]any{"image_url": "ftp://x/a.png"}}},
			[]string{"images[0].image_url", `"ftp://x/a.png"`, "scheme ftp:", "data: URI"}},
		{"ltx_multiconditioning_video", map[string]any{"prompt": "x", "videos": []any{map[string]any{"video_url": v}, map[string]any{"video_url": "https://"}}},
			[]string{"videos[1].video_url", "no host"}},
		{"ltx_multiconditioning_video", map[string]any{"prompt": "x", "loras": []any{map[string]any{"path": ""}}}, []string{"loras[0].path", `""`, "at least 1"}},
		// Job tools.
		{"job_status", map[string]any{}, []string{"request_id", "required"}},
		{"job_status", map[string]any{"request_id": "r1"}, []string{"r1", "endpoint_id"}},
		{"job_result", map[string]any{"request_id": "r1", "extra": true}, []string{"extra", "unknown field"}},
		{"job_list", map[string]any{"status": "done"}, []string{"status", `"done"`, `"completed"`}},
		{"job_list", map[string]any{"limit": 0}, []string{"limit", "0", "1"}},
		{"job_cancel", map[string]any{"request_id": 7}, []string{"request_id", "string"}},
		{"job_status", map[string]any{"request_id": "r1", "endpoint_id": "not an id"}, []string{"endpoint id"}},
	}
	for _, era := range eras {
		h := newHarness(t, era)
		ctx := ctxT(t)
		for _, tt := range tests {
			t.Run(era+"/"+tt.tool, func(t *testing.T) {
				res := h.call(t, ctx, tt.tool, tt.args)
				msg := text(res)
				if !res.IsError {
					t.Fatalf("%v was accepted: %s", tt.args, msg)
				}
				for _, w := range tt.want {
					if !strings.Contains(msg, w) {
						t.Errorf("error for %v lacks %q:\n%s", tt.args, w, msg)
					}
				}
			})
		}
		if n := len(h.emu.Requests()); n != 0 {
			t.Errorf("%s: %d requests reached fal: %+v", era, n, h.emu.Requests())
		}
		// Still serving: a valid call goes through.
		upscale, _ := schemas.Lookup("upscale_video")
		h.emu.SetScript(upscale.ID, schemasScript())
		res := h.call(t, ctx, "upscale_video", map[string]any{"video_url": v, "wait_seconds": 0})
		if res.IsError {
			t.Fatalf("a valid call after the invalid ones failed: %s", text(res))
		}
	}
	if len(tests) < 40 {
		t.Errorf("only %d invalid calls", len(tests))
	}
}

// TestMediaValuesAccepted: what the texts promise goes to fal unchanged —
// http and https URLs with a host and data URIs — in plain fields, lists
// and list items.
func TestMediaValuesAccepted(t *testing.T) {
	h := newHarness(t, mcp.ProtocolVersion20260728)
	ctx := ctxT(t)
	for _, tc := range []struct {
		tool string
		args map[string]any
	}{
		{"upscale_video", map[string]any{"video_url": "http://example.com/a.mp4"}},
		{"upscale_video", map[string]any{"video_url": "HTTPS://example.com:8443/a.mp4?x=1"}},
		{"upscale_video", map[string]any{"video_url": "data:video/mp4;base64,AAAAGGZ0eXA="}},
		{"wan_vace_video", map[string]any{"prompt": "x", "task": "reframe", "video_url": "http://127.0.0.1:8080/files/a.mp4",
			"ref_image_urls": []any{"https://x/a.png", "data:image/png;base64,iVBORw0KGgo="}}},
		{"ltx_multiconditioning_video", map[string]any{"prompt": "x", "videos": []any{map[string]any{"video_url": "http://x/a.mp4"}},
			"loras": []any{map[string]any{"path": "https://huggingface.co/x/y"}}}},
	} {
		row, _ := schemas.Lookup(tc.tool)
		h.emu.SetScript(row.ID, schemasScript())
		h.emu.ResetRequests()
		args := map[string]any{"wait_seconds": 0}
		for k, v := range tc.args {
			args[k] = v
		}
		res := h.call(t, ctx, tc.tool, args)
		if res.IsError {
			t.Errorf("%s %v refused: %s", tc.tool, tc.args, text(res))
			continue
		}
		if got := submitted(t, h.emu); !jsonEqual(mustJSON(t, got), mustJSON(t, tc.args)) {
			t.Errorf("fal received %v, want %v", got, tc.args)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMediaRefusedBeforeAnyUpload: a call whose media values include a bad
// one is refused before its good local file is uploaded, and a relative
// path gets the words upload_file uses for it.
func TestMediaRefusedBeforeAnyUpload(t *testing.T) {
	dir := t.TempDir()
	clip := writeFile(t, filepath.Join(dir, "clip.mp4"), "\x00\x00\x00\x18ftypisom the clip")
	h := newHarness(t, mcp.ProtocolVersion20260728, allowing(t, dir))
	ctx := ctxT(t)
	res := h.call(t, ctx, "wan_vace_video", map[string]any{"prompt": "x", "video_url": clip, "mask_image_url": "https://",
		"ref_image_urls": []any{"refs/a.png"}})
	msg := text(res)
	if !res.IsError || !strings.Contains(msg, "mask_image_url") || !strings.Contains(msg, "ref_image_urls[0]") {
		t.Errorf("want both bad values named: %s", msg)
	}
	if n := len(h.emu.Requests()); n != 0 {
		t.Errorf("%d requests reached fal (the good file was uploaded before the refusal): %+v", n, h.emu.Requests())
	}
	const words = "local paths must be absolute"
	media := h.call(t, ctx, "upscale_video", map[string]any{"video_url": "media/clip.mp4"})
	upload := h.call(t, ctx, "upload_file", map[string]any{"path": "media/clip.mp4"})
	if !media.IsError || !upload.IsError || !strings.Contains(text(media), words) || !strings.Contains(text(upload), words) {
		t.Errorf("a relative path: media field says %q, upload_file says %q; want both to say %q", text(media), text(upload), words)
	}
}

// TestMediaTextsAgree: what the error for a bad media value says is
// allowed is said, word for word, in the instructions every client gets;
// no text promises https only, since http is accepted too.
func TestMediaTextsAgree(t *testing.T) {
	fal, _ := falqueue.New(falqueue.Config{Key: testKey, QueueURL: "http://127.0.0.1:9"}) // never reached: refusals only
	srv, err := tools.NewServer(tools.Options{Fal: fal})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := client.NewInProcessClient(srv)
	defer c.Close()
	ctx := ctxT(t)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.ProtocolVersion20260728
	ires, err := c.Initialize(ctx, init)
	if err != nil {
		t.Fatal(err)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = "upscale_video", map[string]any{"video_url": "https://"}
	res, err := c.CallTool(ctx, req)
	if err != nil || !res.IsError {
		t.Fatalf("https:// = %v %v", res, err)
	}
	_, allowed, ok := strings.Cut(strings.SplitN(text(res), "\n", 3)[1], "allowed: ")
	if !ok || !strings.Contains(allowed, "http(s) URL") {
		t.Fatalf("the error does not say what is allowed: %s", text(res))
	}
	if !strings.Contains(ires.Instructions, allowed) {
		t.Errorf("the instructions do not say what the check allows (%q):\n%s", allowed, ires.Instructions)
	}
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{ires.Instructions}
	for _, tool := range list.Tools {
		b, _ := json.Marshal(tool)
		texts = append(texts, string(b))
	}
	for _, s := range texts {
		if strings.Contains(s, "an https URL") || strings.Contains(s, "take https URLs") {
			t.Errorf("a text promises https only, but http is accepted: %.200s", s)
		}
	}
}
