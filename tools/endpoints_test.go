package tools_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestEveryEndpointHappyPath drives each endpoint tool with the seed's
// example input, in both protocol eras: submit (no wait) → job_status
// with a wait → job_result, checking the exact body fal received and the
// Job returned.
func TestEveryEndpointHappyPath(t *testing.T) {
	for _, era := range eras {
		for _, row := range schemas.Catalog {
			t.Run(era+"/"+row.Tool, func(t *testing.T) {
				h := newHarness(t, era)
				output := h.emu.ServeOutputFiles(schemas.ExampleOutput(row.Tool))
				h.emu.SetScript(row.ID, faltest.Script{Manual: true, Ahead: 1, Logs: []string{"working"}, Output: output})
				ctx := ctxT(t)
				input := schemas.ExampleInput(row.Tool)
				var args map[string]any
				if err := json.Unmarshal(input, &args); err != nil {
					t.Fatal(err)
				}
				args["wait_seconds"] = 0
				res := h.call(t, ctx, row.Tool, args)
				if res.IsError {
					t.Fatalf("submit failed: %s", text(res))
				}
				conformsToOutputSchema(t, row.Tool, res)
				job := jobOf(t, res)
				if job.Status != tools.StatusQueued || job.EndpointID != row.ID || job.Tool != row.Tool || job.DryRun {
					t.Errorf("submitted job = %+v", job)
				}
				if !strings.Contains(job.Next, "job_status") {
					t.Errorf("no hint of what to call next: %q", job.Next)
				}
				subs := 0
				for _, r := range h.emu.Requests() {
					if r.Op == faltest.OpSubmit {
						subs++
						if r.Path != "/"+row.ID || !jsonEqual(r.Body, input) {
							t.Errorf("fal received %s %s, want the seed input %s", r.Path, r.Body, input)
						}
					}
				}
				if subs != 1 {
					t.Fatalf("%d submits", subs)
				}

				h.emu.Finish(job.RequestID)
				res = h.call(t, ctx, "job_status", map[string]any{"request_id": job.RequestID, "wait_seconds": 10})
				conformsToOutputSchema(t, "job_status", res)
				done := jobOf(t, res)
				if done.Status != tools.StatusCompleted || done.CompletedAt == nil || len(done.Logs) != 1 {
					t.Fatalf("job_status = %+v (%s)", done, text(res))
				}

				res = h.call(t, ctx, "job_result", map[string]any{"request_id": job.RequestID})
				conformsToOutputSchema(t, "job_result", res)
				final := jobOf(t, res)
				if res.IsError || final.Status != tools.StatusCompleted {
					t.Fatalf("job_result = %s", text(res))
				}
				if !jsonEqual(final.Result, output) {
					t.Errorf("result = %s\nwant the seed output %s", final.Result, output)
				}
				if len(final.Files) == 0 || final.Files[0].URL == "" {
					t.Errorf("no output files: %+v", final)
				}
				links := 0
				for _, c := range res.Content {
					if l, ok := c.(mcp.ResourceLink); ok && l.URI == final.Files[0].URL {
						links++
					}
				}
				if links != 1 {
					t.Errorf("want one resource link to %s: %+v", final.Files[0].URL, res.Content)
				}
			})
		}
	}
}
