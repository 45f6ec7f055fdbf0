package tools_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestFailedJob: a failed job's result is an error carrying fal's detail
// (a validation detail as "field: message" lines), and job_status reports it as failed (not an error).
func TestFailedJob(t *testing.T) {
	h := newHarness(t, mcp.ProtocolVersion20260728)
	detail := "video_url: Unsupported video codec: prores" // fal's 422 detail, as field: message lines
	h.emu.SetScript("fal-ai/video-upscaler", faltest.Script{Failure: &faltest.Failure{Status: 422,
		Body:  map[string]any{"detail": []map[string]any{{"loc": []string{"body", "video_url"}, "msg": "Unsupported video codec: prores", "type": "value_error"}}},
		Error: "Invalid status code: 422", ErrorType: "validation_error"}})
	ctx := ctxT(t)
	res := h.call(t, ctx, "upscale_video", map[string]any{"video_url": "https://x/in.mp4", "wait_seconds": 10})
	job := jobOf(t, res)
	if !res.IsError || job.Status != tools.StatusFailed || job.Error != detail {
		t.Fatalf("submit+wait = %+v (error %v)", job, res.IsError)
	}
	res = h.call(t, ctx, "job_status", map[string]any{"request_id": job.RequestID})
	if res.IsError && jobOf(t, res).Status != tools.StatusFailed {
		t.Errorf("job_status = %s", text(res))
	}
	res = h.call(t, ctx, "job_result", map[string]any{"request_id": job.RequestID})
	if !res.IsError || !strings.Contains(text(res), "Unsupported video codec: prores") {
		t.Errorf("job_result of a failed job = %v: %s", res.IsError, text(res))
	}
}

// TestNoKeyRefusesSubmits: without a key (and not in dry-run) the tools
// are listed, and a submit says how to fix it; fal hears nothing.
func TestNoKeyRefusesSubmits(t *testing.T) {
	h := newHarness(t, mcp.ProtocolVersion20251125, func(o *tools.Options) { o.NoKey = true })
	res := h.call(t, ctxT(t), "upscale_video", map[string]any{"video_url": "https://x/in.mp4"})
	if !res.IsError || !strings.Contains(text(res), "FAL_KEY") || !strings.Contains(text(res), "--dry-run") {
		t.Errorf("submit without a key = %s", text(res))
	}
	if n := len(h.emu.Requests()); n != 0 {
		t.Errorf("%d requests reached fal", n)
	}
}

// TestJobListAndReattach: job_list filters and orders; a job submitted
// elsewhere is reachable with its endpoint id.
func TestJobListAndReattach(t *testing.T) {
	h := newHarness(t, mcp.ProtocolVersion20260728)
	h.emu.SetScript("fal-ai/video-upscaler", faltest.Script{Manual: true})
	h.emu.SetScript("fal-ai/amt-interpolation", faltest.Script{Output: h.emu.ServeOutputFiles([]byte(`{"video":{"url":"https://x/o.mp4"}}`))})
	ctx := ctxT(t)
	a := jobOf(t, h.call(t, ctx, "upscale_video", map[string]any{"video_url": "https://x/1.mp4", "wait_seconds": 0}))
	b := jobOf(t, h.call(t, ctx, "interpolate_video_frames", map[string]any{"video_url": "https://x/2.mp4", "wait_seconds": 5}))
	if b.Status != tools.StatusCompleted {
		t.Fatalf("second job = %+v", b)
	}
	list := func(args map[string]any) []string {
		res := h.call(t, ctx, "job_list", args)
		var out struct{ Jobs []tools.Job }
		b, _ := json.Marshal(res.StructuredContent)
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, j := range out.Jobs {
			ids = append(ids, j.RequestID)
		}
		return ids
	}
	if got := list(map[string]any{}); len(got) != 2 || got[0] != b.RequestID || got[1] != a.RequestID {
		t.Errorf("job_list = %v, want newest first", got)
	}
	if got := list(map[string]any{"status": "queued"}); len(got) != 1 || got[0] != a.RequestID {
		t.Errorf("job_list queued = %v", got)
	}
	if got := list(map[string]any{"endpoint_id": "fal-ai/amt-interpolation", "limit": 1}); len(got) != 1 || got[0] != b.RequestID {
		t.Errorf("job_list by endpoint = %v", got)
	}

	res := h.call(t, ctx, "job_status", map[string]any{"request_id": a.RequestID, "endpoint_id": "fal-ai/amt-interpolation"})
	if !res.IsError || !strings.Contains(text(res), "belongs to fal-ai/video-upscaler") {
		t.Errorf("a wrong endpoint id = %s", text(res))
	}
}

// TestReattachByEndpointID: a job this server never saw (submitted by
// another process) is followed with its endpoint id.
func TestReattachByEndpointID(t *testing.T) {
	h := newHarness(t, mcp.ProtocolVersion20260728)
	h.emu.SetScript("fal-ai/pixverse/extend/fast", faltest.Script{Output: h.emu.ServeOutputFiles([]byte(`{"video":{"url":"https://x/o.mp4"}}`))})
	fal, err := falqueue.New(falqueue.Config{Key: testKey, QueueURL: h.emu.QueueURL, RestURL: h.emu.RestURL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	hd, err := fal.Submit(ctx, "fal-ai/pixverse/extend/fast", map[string]string{"video_url": "https://x/i.mp4", "prompt": "p"}, falqueue.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res := h.call(t, ctx, "job_result", map[string]any{"request_id": hd.RequestID})
	if !res.IsError || !strings.Contains(text(res), "endpoint_id") {
		t.Errorf("an unknown request without endpoint id = %s", text(res))
	}
	res = h.call(t, ctx, "job_result", map[string]any{"request_id": hd.RequestID, "endpoint_id": "fal-ai/pixverse/extend/fast"})
	job := jobOf(t, res)
	if res.IsError || job.Status != tools.StatusCompleted || job.Tool != "pixverse_extend_video_fast" || len(job.Files) != 1 {
		t.Errorf("reattached job = %+v: %s", job, text(res))
	}
	// Reattached status and result use owner/alias URLs, sub-path dropped.
	for _, r := range h.emu.Requests() {
		if r.Op == faltest.OpStatus || r.Op == faltest.OpResult {
			if !strings.HasPrefix(r.Path, "/fal-ai/pixverse/requests/") {
				t.Errorf("%s went to %s", r.Op, r.Path)
			}
		}
	}
}

// TestUnknownRequestSaysWhatToDo: a request id this server has no record
// of (and no endpoint_id) gets an answer that names job_list and the most
// recent jobs, and says how to reach a job submitted elsewhere.
func TestUnknownRequestSaysWhatToDo(t *testing.T) {
	h := newHarness(t, mcp.ProtocolVersion20260728)
	h.emu.SetScript("fal-ai/video-upscaler", faltest.Script{Output: map[string]any{}})
	ctx := ctxT(t)
	job := jobOf(t, h.call(t, ctx, "upscale_video", map[string]any{"video_url": "https://x/in.mp4", "wait_seconds": 0}))
	for _, tool := range []string{"job_status", "job_result", "job_cancel"} {
		res := h.call(t, ctx, tool, map[string]any{"request_id": "abc123"})
		msg := text(res)
		if !res.IsError || !strings.Contains(msg, "job_list") || !strings.Contains(msg, job.RequestID+" (upscale_video") ||
			!strings.Contains(msg, "endpoint_id") {
			t.Errorf("%s of an unknown id = %s", tool, msg)
		}
	}
}
