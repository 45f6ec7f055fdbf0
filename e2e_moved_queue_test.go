package main

import (
	"encoding/json"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestJobFollowsTheMovedQueue: a job submitted through one queue URL (a
// proxy in front of fal), the server stopped, the proxy removed and the
// server started again with fal's own queue URL: the job's stored URLs
// are on a host no longer configured, so they are rebuilt from its
// endpoint id and request id on the configured one, and the job, finished
// at fal meanwhile, is followed to completed and its result read. Both
// protocol eras.
func TestJobFollowsTheMovedQueue(t *testing.T) {
	for _, era := range []string{mcp.ProtocolVersion20251125, mcp.ProtocolVersion20260728} {
		t.Run(era, func(t *testing.T) {
			emu := faltest.NewServer(faltest.Options{Key: e2eKey})
			defer emu.Close()
			row := schemas.Catalog[0]
			emu.SetScript(row.ID, faltest.Script{Manual: true, Output: emu.ServeOutputFiles(schemas.ExampleOutput(row.Tool))})
			target, _ := url.Parse(emu.QueueURL)
			proxy := httptest.NewServer(httputil.NewSingleHostReverseProxy(target))
			defer proxy.Close()

			stateDir := t.TempDir()
			vars := map[string]string{"FAL_KEY": e2eKey, "FAL_QUEUE_URL": proxy.URL, "FAL_REST_URL": emu.RestURL,
				"FAL_VIDEO_MCP_STATE_DIR": stateDir}
			var args map[string]any
			if err := json.Unmarshal(schemas.ExampleInput(row.Tool), &args); err != nil {
				t.Fatal(err)
			}
			args["wait_seconds"] = 0
			p := runPiped(t, era, nil, vars)
			ctx := ctxE2E(t)
			_, job, err := callTool(ctx, p.client, row.Tool, args, nil)
			if err != nil || job.RequestID == "" || job.Status != "queued" {
				t.Fatalf("%s = %+v, %v", row.Tool, job, err)
			}
			if code := p.stop(); code != 0 {
				t.Fatalf("exit %d", code)
			}
			proxy.Close() // the proxy is gone
			if !emu.Finish(job.RequestID) {
				t.Fatal("the emulator does not know the job")
			}

			vars["FAL_QUEUE_URL"] = emu.QueueURL
			p = runPiped(t, era, nil, vars)
			res, got, err := callTool(ctx, p.client, "job_status", map[string]any{"request_id": job.RequestID, "wait_seconds": 30}, nil)
			if err != nil || got.Status != "completed" {
				t.Fatalf("job_status after the move = %+v, %v: %s", got, err, textOf(res))
			}
			res, got, err = callTool(ctx, p.client, "job_result", map[string]any{"request_id": job.RequestID}, nil)
			if err != nil || res.IsError || got.Status != "completed" || len(got.Result) == 0 {
				t.Fatalf("job_result after the move = %+v, %v: %s", got, err, textOf(res))
			}
			if code := p.stop(); code != 0 {
				t.Errorf("exit %d", code)
			}
		})
	}
}
