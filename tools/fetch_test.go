package tools_test

import (
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestOutputNotFetchedIsNoFailure: a job fal completed whose output cannot
// be read just now (the connection drops on every try) is not recorded as
// failed — that would be final — but returned as it stands with a hint to
// fetch the result; job_result then returns the output.
func TestOutputNotFetchedIsNoFailure(t *testing.T) {
	for _, era := range eras {
		t.Run(era, func(t *testing.T) {
			h := newHarness(t, era)
			output := h.emu.ServeOutputFiles([]byte(`{"video":{"url":"https://x/out.mp4","content_type":"video/mp4"}}`))
			h.emu.SetScript("fal-ai/video-upscaler", faltest.Script{Output: output})
			h.emu.Inject(faltest.Fault{Op: faltest.OpResult, DropBefore: true, Times: 100})
			ctx := ctxT(t)
			res := h.call(t, ctx, "upscale_video", map[string]any{"video_url": "https://x/in.mp4", "wait_seconds": 10})
			job := jobOf(t, res)
			if res.IsError || job.Status == tools.StatusFailed || job.Error != "" || !strings.Contains(job.Next, "job_result") {
				t.Fatalf("completed job whose output was unreadable = %+v (error %v): %s", job, res.IsError, text(res))
			}
			conformsToOutputSchema(t, "upscale_video", res)

			res = h.call(t, ctx, "job_result", map[string]any{"request_id": job.RequestID})
			if j := jobOf(t, res); !res.IsError || j.Status == tools.StatusFailed || !strings.Contains(j.Next, "could not be fetched") {
				t.Errorf("job_result while the output is unreadable = %+v: %s", j, text(res))
			}

			h.emu.ResetFaults()
			res = h.call(t, ctx, "job_result", map[string]any{"request_id": job.RequestID})
			final := jobOf(t, res)
			if res.IsError || final.Status != tools.StatusCompleted || !jsonEqual(final.Result, output) || len(final.Files) != 1 {
				t.Fatalf("job_result once fal answers = %+v: %s", final, text(res))
			}
		})
	}
}

// TestJobStatusWaitFollowsTheStream: job_status with wait_seconds watches
// the job's one follower — one status stream, no status polls, one result
// fetch over the job's whole life — and returns as soon as the job ends. The job is finished once the wait is seen to be under way (its
// first progress notification), so nothing sleeps.
func TestJobStatusWaitFollowsTheStream(t *testing.T) {
	for _, era := range eras {
		t.Run(era, func(t *testing.T) {
			h := newHarness(t, era)
			output := h.emu.ServeOutputFiles([]byte(`{"video":{"url":"https://x/out.mp4"}}`))
			h.emu.SetScript("fal-ai/video-upscaler", faltest.Script{Manual: true, Output: output})
			ctx := ctxT(t)
			job := jobOf(t, h.call(t, ctx, "upscale_video", map[string]any{"video_url": "https://x/in.mp4", "wait_seconds": 0}))

			type answer struct {
				res *mcp.CallToolResult
				err error
			}
			done := make(chan answer, 1)
			go func() {
				res, err := h.callErr(ctx, "job_status", map[string]any{"request_id": job.RequestID, "wait_seconds": 50},
					&mcp.Meta{ProgressToken: "s"})
				done <- answer{res, err}
			}()
		waiting:
			for {
				select {
				case n := <-h.notes:
					if n.Method == "notifications/progress" && n.Params.AdditionalFields["progressToken"] == "s" {
						break waiting
					}
				case <-ctx.Done():
					t.Fatal("no progress from the waiting job_status")
				}
			}
			h.emu.Finish(job.RequestID)
			a := <-done
			if a.err != nil {
				t.Fatal(a.err)
			}
			if j := jobOf(t, a.res); a.res.IsError || j.Status != tools.StatusCompleted || !jsonEqual(j.Result, output) {
				t.Fatalf("job_status with a wait = %+v: %s", j, text(a.res))
			}
			ops := map[faltest.Op]int{}
			for _, r := range h.emu.Requests() {
				ops[r.Op]++
			}
			if ops[faltest.OpSubmit] != 1 || ops[faltest.OpStream] != 1 || ops[faltest.OpStatus] != 0 || ops[faltest.OpResult] != 1 {
				t.Errorf("requests over the job's life = %v, want one submit, one stream, no status polls, one result", ops)
			}
		})
	}
}

// TestOutputBeyondItsStruct: an output the endpoint's struct cannot hold —
// fal has sent seeds beyond int64 — is pruned to the output schema rather
// than passed through with fields the schema forbids; its files are found.
func TestOutputBeyondItsStruct(t *testing.T) {
	h := newHarness(t, mcp.ProtocolVersion20260728)
	output := h.emu.ServeOutputFiles([]byte(`{"video":{"url":"https://x/out.mp4","content_type":"video/mp4","width":1280,"fps":16},` +
		`"frames_zip":{"url":"https://x/frames.zip"},"prompt":"a cat","seed":17454220438242315174,"timings":{"inference":1.5},"nsfw":null}`))
	h.emu.SetScript("fal-ai/wan-vace-14b", faltest.Script{Output: output})
	res := h.call(t, ctxT(t), "wan_vace_video", map[string]any{"prompt": "a cat", "video_url": "https://x/in.mp4", "wait_seconds": 10})
	job := jobOf(t, res)
	if res.IsError || job.Status != tools.StatusCompleted {
		t.Fatalf("job = %+v: %s", job, text(res))
	}
	conformsToOutputSchema(t, "wan_vace_video", res)
	if !strings.Contains(string(job.Result), `"prompt":"a cat"`) || !strings.Contains(string(job.Result), `"seed":1745422043824231`) {
		t.Errorf("result lost what the schema describes: %s", job.Result)
	}
	if len(job.Files) != 1 || !strings.HasSuffix(job.Files[0].URL, "out.mp4") {
		t.Errorf("files = %+v", job.Files)
	}
}

// TestUnknownRequestIsNotRecorded: a request fal does not know (a typo, or
// the wrong endpoint) gets an error saying so, and never becomes a job of
// the server's list.
func TestUnknownRequestIsNotRecorded(t *testing.T) {
	h := newHarness(t, mcp.ProtocolVersion20260728)
	ctx := ctxT(t)
	for _, tool := range []string{"job_status", "job_result", "job_cancel"} {
		res := h.call(t, ctx, tool, map[string]any{"request_id": "0193c2d4-0000-7000-8000-000000000000", "endpoint_id": "fal-ai/video-upscaler"})
		if !res.IsError || !strings.Contains(text(res), "fal does not know request") {
			t.Errorf("%s of an unknown request = %s", tool, text(res))
		}
	}
	res := h.call(t, ctx, "job_list", map[string]any{})
	if !strings.HasPrefix(text(res), "0 job(s)") {
		t.Errorf("job_list after unknown requests = %s", text(res))
	}
}

// TestSubmitOutcomeUnknown: when the submit's answer is lost after fal took
// the job, the tool says the job may exist and must not be resubmitted —
// and the server itself never resubmits it.
func TestSubmitOutcomeUnknown(t *testing.T) {
	h := newHarness(t, mcp.ProtocolVersion20260728)
	h.emu.SetScript("fal-ai/video-upscaler", faltest.Script{Manual: true})
	h.emu.Inject(faltest.Fault{Op: faltest.OpSubmit, DropAfter: true})
	res := h.call(t, ctxT(t), "upscale_video", map[string]any{"video_url": "https://x/in.mp4", "wait_seconds": 0})
	msg := text(res)
	job := jobOf(t, res)
	if !res.IsError || job.Status != tools.StatusUnknown || !strings.Contains(msg, "may have queued it") ||
		!strings.Contains(msg, "did not resubmit") || !strings.Contains(msg, `"video_url":"https://x/in.mp4"`) {
		t.Errorf("lost submit answer = %s", msg)
	}
	if n := len(h.emu.Jobs()); n != 1 {
		t.Errorf("fal holds %d jobs, want the one submit", n)
	}
	// It stays in view, unknown, under its local id.
	for _, tool := range []string{"job_status", "job_result"} {
		res = h.call(t, ctxT(t), tool, map[string]any{"request_id": job.RequestID})
		if j := jobOf(t, res); j.Status != tools.StatusUnknown || !strings.Contains(text(res), "never reached this server") {
			t.Errorf("%s of the unknown job = %s", tool, text(res))
		}
	}
	res = h.call(t, ctxT(t), "job_list", map[string]any{})
	if !strings.Contains(text(res), job.RequestID+" upscale_video unknown") {
		t.Errorf("job_list = %s", text(res))
	}
	if n := len(h.emu.Jobs()); n != 1 {
		t.Errorf("fal holds %d jobs after the job tools, want the one submit", n)
	}
}

// TestWrongKey: fal refusing the key is an error that says where the key
// comes from, and never shows the key.
func TestWrongKey(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{Key: "another-key"})
	t.Cleanup(emu.Close)
	h := newHarnessOn(t, emu, mcp.ProtocolVersion20251125)
	res := h.call(t, ctxT(t), "upscale_video", map[string]any{"video_url": "https://x/in.mp4", "wait_seconds": 0})
	msg := text(res)
	if !res.IsError || !strings.Contains(msg, "FAL_KEY") || strings.Contains(msg, testKey) {
		t.Errorf("submit with a wrong key = %s", msg)
	}
	if n := len(emu.Jobs()); n != 0 {
		t.Errorf("fal holds %d jobs", n)
	}
}
