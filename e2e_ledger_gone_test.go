package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/fal-video-mcp/fal-video-mcp/tools/ledger"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestLedgerDeletedWhileServing: the ledger file deleted while the server
// runs, or replaced by another file, is noticed: job_list and every job
// result say "Job history is unavailable" and why, in both eras; before,
// nothing says so.
func TestLedgerDeletedWhileServing(t *testing.T) {
	for _, tt := range []struct {
		era, how, says string
	}{
		{mcp.ProtocolVersion20251125, "deleted", "was deleted"},
		{mcp.ProtocolVersion20260728, "deleted", "was deleted"},
		{mcp.ProtocolVersion20251125, "replaced", "was replaced"},
		{mcp.ProtocolVersion20260728, "replaced", "was replaced"},
	} {
		t.Run(tt.how+" "+tt.era, func(t *testing.T) {
			emu := faltest.NewServer(faltest.Options{Key: e2eKey})
			defer emu.Close()
			stateDir := t.TempDir()
			vars := map[string]string{"FAL_KEY": e2eKey, "FAL_QUEUE_URL": emu.QueueURL, "FAL_REST_URL": emu.RestURL,
				"FAL_VIDEO_MCP_STATE_DIR": stateDir}
			p := runPiped(t, tt.era, nil, vars)
			ctx := ctxE2E(t)
			row := schemas.Catalog[0]
			var args map[string]any
			if err := json.Unmarshal(schemas.ExampleInput(row.Tool), &args); err != nil {
				t.Fatal(err)
			}
			args["wait_seconds"] = 30
			res, job, err := callTool(ctx, p.client, row.Tool, args, nil)
			if err != nil || job.Status != "completed" {
				t.Fatalf("%s = %+v, %v", row.Tool, job, err)
			}
			if txt := textOf(res); strings.Contains(txt, "unavailable") {
				t.Fatalf("history unavailable before anything happened: %s", txt)
			}
			file := filepath.Join(stateDir, ledger.FileName)
			if err := os.Remove(file); err != nil {
				t.Fatal(err)
			}
			if tt.how == "replaced" {
				if err := os.WriteFile(file, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			for _, call := range []struct {
				name string
				args map[string]any
			}{
				{"job_list", map[string]any{}},
				{"job_status", map[string]any{"request_id": job.RequestID, "endpoint_id": row.ID}},
			} {
				res, _, err := callTool(ctx, p.client, call.name, call.args, nil)
				if err != nil {
					t.Fatal(err)
				}
				txt := textOf(res)
				if !strings.Contains(txt, "Job history is unavailable") || !strings.Contains(txt, tt.says) || !strings.Contains(txt, file) {
					t.Errorf("%s after the ledger %s: %s", call.name, tt.how, txt)
				}
			}
			if code := p.stop(); code != 0 {
				t.Errorf("exit %d", code)
			}
		})
	}
}
