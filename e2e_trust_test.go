package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestEchoedSecretsNeverShown: with canary values in FAL_KEY and
// FAL_VIDEO_MCP_AUTH_TOKEN and an emulated fal whose apps echo the key
// into log lines, error bodies and results, the canaries appear nowhere:
// not in --help, not on stderr at debug level, not in any tool result
// (every byte of stdout), not in the ledger's files.
func TestEchoedSecretsNeverShown(t *testing.T) {
	const keyID, keySecret = "canary-keyid-5f0c2a", "canary-keysecret-9d81e4b7"
	const falKey = keyID + ":" + keySecret
	const token = "canary-auth-token-77aa31"
	canaries := []string{falKey, keyID, keySecret, token}

	emu := faltest.NewServer(faltest.Options{Key: falKey, LogWindow: 10})
	defer emu.Close()
	ok, fail := schemas.Catalog[0], schemas.Catalog[1]
	emu.SetScript(ok.ID, faltest.Script{EchoKey: true, Logs: []string{"loading", "encoding"},
		Output: emu.ServeOutputFiles(schemas.ExampleOutput(ok.Tool))})
	emu.SetScript(fail.ID, faltest.Script{EchoKey: true, Logs: []string{"loading"},
		Failure: &faltest.Failure{Status: 500, Error: "the model crashed"}})

	stateDir := t.TempDir()
	vars := map[string]string{"FAL_KEY": falKey, "FAL_VIDEO_MCP_AUTH_TOKEN": token, "FAL_QUEUE_URL": emu.QueueURL,
		"FAL_REST_URL": emu.RestURL, "FAL_VIDEO_MCP_STATE_DIR": stateDir, "FAL_VIDEO_MCP_LOG_LEVEL": "debug"}

	var help, helpOut lockedBuffer
	if code := run(context.Background(), []string{"--help"}, env(vars), strings.NewReader(""), &helpOut, &help); code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	if !strings.Contains(help.String(), "(env FAL_VIDEO_MCP_AUTH_TOKEN)") {
		t.Errorf("--help does not name the token's variable:\n%s", help.String())
	}

	p := runPiped(t, mcp.ProtocolVersion20251125, nil, vars)
	ctx := ctxE2E(t)
	for _, row := range []schemas.Endpoint{ok, fail} {
		var args map[string]any
		if err := json.Unmarshal(schemas.ExampleInput(row.Tool), &args); err != nil {
			t.Fatal(err)
		}
		args["wait_seconds"] = 30
		_, job, err := callTool(ctx, p.client, row.Tool, args, nil)
		if err != nil || !finishedStatus(job.Status) {
			t.Fatalf("%s = %+v, %v", row.Tool, job, err)
		}
		for _, name := range []string{"job_status", "job_result"} {
			if _, _, err := callTool(ctx, p.client, name, map[string]any{"request_id": job.RequestID, "endpoint_id": row.ID}, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, _, err := callTool(ctx, p.client, "job_list", map[string]any{}, nil); err != nil {
		t.Fatal(err)
	}
	stdout, stderr := p.stdout.String(), p.stderr.String()
	if code := p.stop(); code != 0 {
		t.Errorf("exit %d", code)
	}
	var ledger strings.Builder
	_ = filepath.WalkDir(stateDir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(path)
			ledger.Write(b)
		}
		return nil
	})

	// The apps did echo, and the echo reached every place checked below.
	for place, text := range map[string]string{"tool results": stdout, "ledger": ledger.String()} {
		if !strings.Contains(text, "Authorization: Key [REDACTED]") {
			t.Errorf("no redacted echo in the %s: the test did not exercise the echo", place)
		}
	}
	for place, text := range map[string]string{"--help": help.String() + helpOut.String(), "stderr": stderr,
		"tool results": stdout, "ledger": ledger.String()} {
		for _, c := range canaries {
			if strings.Contains(text, c) {
				t.Errorf("%q leaked into the %s", c, place)
			}
		}
	}
	if !strings.Contains(stderr, "level=DBG") && !strings.Contains(stderr, "DBG") {
		t.Errorf("stderr has no debug lines:\n%s", stderr)
	}
}

func finishedStatus(s string) bool { return s == "completed" || s == "failed" }
