package tools_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/mark3labs/mcp-go/mcp"
)

// Answers an agent cannot misread: what shapes a job is described where
// every host shows it (the tool's input schema), the statuses are all
// named, a cancel reads as a cancel, and job_list stays small.

// jobShapingArgs are the arguments that change what a call does to a job
// rather than what the job computes.
var jobShapingArgs = []string{"wait_seconds", "estimate_only", "force_new"}

// TestJobShapingArgsDescribed: every tool that takes wait_seconds,
// estimate_only or force_new describes it in its input schema, in a few
// words (many hosts never show the server's instructions to the model);
// every endpoint tool takes all three.
func TestJobShapingArgsDescribed(t *testing.T) {
	for _, era := range eras {
		t.Run(era, func(t *testing.T) {
			h := newHarness(t, era)
			res, err := h.client.ListTools(ctxT(t), mcp.ListToolsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			for _, tool := range res.Tools {
				var in struct {
					Properties map[string]map[string]any `json:"properties"`
				}
				b, _ := json.Marshal(tool)
				var listed struct {
					InputSchema json.RawMessage `json:"inputSchema"`
				}
				if err := json.Unmarshal(b, &listed); err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(listed.InputSchema, &in); err != nil {
					t.Fatal(err)
				}
				for _, arg := range jobShapingArgs {
					p, ok := in.Properties[arg]
					if !ok {
						if isEndpointTool(tool.Name) {
							t.Errorf("%s: no %s", tool.Name, arg)
						}
						continue
					}
					d, _ := p["description"].(string)
					switch {
					case d == "":
						t.Errorf("%s: %s has no description", tool.Name, arg)
					case len(d) > 100:
						t.Errorf("%s: %s is described in %d bytes, not a few words: %q", tool.Name, arg, len(d), d)
					}
				}
			}
		})
	}
}

// TestStatusesLineNamesEveryStatus: the instructions' "Statuses" line
// names every status a tool can return, estimate included (the Job's
// status enum is the list).
func TestStatusesLineNamesEveryStatus(t *testing.T) {
	h := newHarness(t, mcp.ProtocolVersion20260728)
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.ProtocolVersion20260728
	init.Params.ClientInfo = mcp.Implementation{Name: "statuses", Version: "1"}
	ires, err := h.client.Initialize(ctxT(t), init)
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for l := range strings.SplitSeq(ires.Instructions, "\n") {
		if strings.HasPrefix(l, "Statuses:") {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("no Statuses line in the instructions:\n%s", ires.Instructions)
	}
	f, _ := reflect.TypeFor[tools.Job]().FieldByName("Status")
	var statuses []string
	for part := range strings.SplitSeq(f.Tag.Get("jsonschema"), ",") {
		if v, ok := strings.CutPrefix(part, "enum="); ok {
			statuses = append(statuses, v)
		}
	}
	if len(statuses) < 7 {
		t.Fatalf("the Job's status enum is %v", statuses)
	}
	for _, s := range statuses {
		if !strings.Contains(line, " "+s) {
			t.Errorf("the Statuses line does not name %q: %s", s, line)
		}
	}
}

// TestCancelAnsweredPlainly: a cancel that worked says so in plain words —
// not as an error from fal — in both eras.
func TestCancelAnsweredPlainly(t *testing.T) {
	for _, era := range eras {
		t.Run(era, func(t *testing.T) {
			h := newHarness(t, era)
			h.emu.SetScript("fal-ai/video-upscaler", faltest.Script{Manual: true})
			ctx := ctxT(t)
			job := jobOf(t, h.call(t, ctx, "upscale_video", map[string]any{"video_url": "https://x/in.mp4", "wait_seconds": 0}))
			res := h.call(t, ctx, "job_cancel", map[string]any{"request_id": job.RequestID})
			got := jobOf(t, res)
			msg := text(res)
			if res.IsError || got.Status != tools.StatusCancelled {
				t.Fatalf("job_cancel = %+v: %s", got, msg)
			}
			if strings.Contains(msg, "Error") || strings.Contains(msg, "error") || got.Error != "" {
				t.Errorf("a successful cancel reads as an error: %q (error field %q)", msg, got.Error)
			}
			if !strings.Contains(msg, "Cancelled: job "+job.RequestID) || !strings.Contains(msg, "will not run") {
				t.Errorf("job_cancel text = %q, want it to say plainly the job was cancelled", msg)
			}
		})
	}
}

// maxListBytesPerJob is job_list's budget per job, in the structured
// content and in the text alike.
const maxListBytesPerJob = 300

// TestJobListCompact: job_list is compact by default — per job at most
// maxListBytesPerJob bytes of structured content and of text, no logs,
// inputs or results — and detail: true returns the full jobs.
func TestJobListCompact(t *testing.T) {
	for _, era := range eras {
		t.Run(era, func(t *testing.T) {
			h := newHarness(t, era)
			var logs []string
			for i := range 20 {
				logs = append(logs, fmt.Sprintf("step %d of 20: denoising the frames of the upscaled video at 4x", i))
			}
			h.emu.SetScript("fal-ai/video-upscaler", faltest.Script{Logs: logs,
				Output: h.emu.ServeOutputFiles([]byte(`{"video":{"url":"https://x/out-of-a-long-name-for-the-upscaled-video.mp4","content_type":"video/mp4","file_name":"out.mp4","file_size":123456}}`))})
			ctx := ctxT(t)
			const n = 4
			for i := range n {
				j := jobOf(t, h.call(t, ctx, "upscale_video", map[string]any{"video_url": fmt.Sprintf("https://x/in-%d.mp4", i), "wait_seconds": 30}))
				if j.Status != tools.StatusCompleted || len(j.Logs) == 0 {
					t.Fatalf("job %d = %+v", i, j)
				}
			}

			res := h.call(t, ctx, "job_list", map[string]any{})
			var compact struct{ Jobs []map[string]any }
			b, _ := json.Marshal(res.StructuredContent)
			if err := json.Unmarshal(b, &compact); err != nil {
				t.Fatal(err)
			}
			if len(compact.Jobs) != n {
				t.Fatalf("job_list = %d jobs, want %d", len(compact.Jobs), n)
			}
			for _, j := range compact.Jobs {
				jb, _ := json.Marshal(j)
				if len(jb) > maxListBytesPerJob {
					t.Errorf("a listed job takes %d bytes of structured content; the budget is %d: %s", len(jb), maxListBytesPerJob, jb)
				}
				for _, k := range []string{"logs", "input", "result"} {
					if _, ok := j[k]; ok {
						t.Errorf("a compact listed job carries %s: %s", k, jb)
					}
				}
				if j["request_id"] == "" || j["status"] != tools.StatusCompleted {
					t.Errorf("a listed job lacks its id or status: %s", jb)
				}
			}
			msg := text(res)
			if len(msg) > n*maxListBytesPerJob {
				t.Errorf("job_list's text takes %d bytes for %d jobs; the budget is %d a job:\n%s", len(msg), n, maxListBytesPerJob, msg)
			}
			t.Logf("job_list of %d jobs: %d bytes structured, %d bytes text", n, len(b), len(msg))
			if !strings.Contains(msg, "detail: true") {
				t.Errorf("job_list's text does not say how to see the rest: %s", msg)
			}

			res = h.call(t, ctx, "job_list", map[string]any{"detail": true, "limit": 1})
			var full struct{ Jobs []tools.Job }
			b, _ = json.Marshal(res.StructuredContent)
			if err := json.Unmarshal(b, &full); err != nil {
				t.Fatal(err)
			}
			if len(full.Jobs) != 1 || len(full.Jobs[0].Logs) == 0 || len(full.Jobs[0].Result) == 0 || len(full.Jobs[0].Files) == 0 {
				t.Errorf("job_list detail: true = %+v, want the full job", full.Jobs)
			}
		})
	}
}
