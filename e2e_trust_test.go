package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
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

// countingRoots answers roots/list with the filesystem root, file:///,
// and counts how often it was asked.
type countingRoots struct{ asked atomic.Int32 }

func (r *countingRoots) ListRoots(context.Context, mcp.ListRootsRequest) (*mcp.ListRootsResult, error) {
	r.asked.Add(1)
	return &mcp.ListRootsResult{Roots: []mcp.Root{{URI: "file:///", Name: "everything"}}}, nil
}

// TestRootsNeverWidenTheSandbox: a client that shares file:/// as its MCP
// root reads nothing outside --allow-dir: over stdio the root is ignored
// with a warning, over HTTP roots are not even asked for. No byte of the
// outside file reaches fal; a file inside --allow-dir still uploads.
func TestRootsNeverWidenTheSandbox(t *testing.T) {
	allowed, outside := t.TempDir(), t.TempDir()
	inside := filepath.Join(allowed, "clip.mp4")
	secret := filepath.Join(outside, "secret.mp4")
	for _, f := range []string{inside, secret} {
		if err := os.WriteFile(f, []byte("\x00\x00\x00\x18ftypisom "+f), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, transportName := range []string{"stdio", "http"} {
		t.Run(transportName, func(t *testing.T) {
			emu := faltest.NewServer(faltest.Options{Key: e2eKey})
			defer emu.Close()
			env := []string{"FAL_KEY=" + e2eKey, "FAL_QUEUE_URL=" + emu.QueueURL, "FAL_REST_URL=" + emu.RestURL,
				"FAL_VIDEO_MCP_STATE_DIR=" + t.TempDir()}
			rootsHandler := &countingRoots{}
			var c *client.Client
			var stderr *lockedBuffer
			if transportName == "stdio" {
				cmd := exec.Command(binary(t), "--allow-dir", allowed)
				cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
				stdin, _ := cmd.StdinPipe()
				stdout, _ := cmd.StdoutPipe()
				stderr = &lockedBuffer{}
				cmd.Stderr = stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
				c = client.NewClient(transport.NewIO(stdout, stdin, io.NopCloser(strings.NewReader(""))), client.WithRootsHandler(rootsHandler))
			} else {
				var base string
				base, stderr, _ = startHTTPWith(t, append(env, "FAL_VIDEO_MCP_AUTH_TOKEN="+httpToken), "--transport", "http", "--allow-dir", allowed)
				tr, err := transport.NewStreamableHTTP(base+"/mcp", transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + httpToken}))
				if err != nil {
					t.Fatal(err)
				}
				c = client.NewClient(tr, client.WithRootsHandler(rootsHandler))
			}
			defer c.Close()
			ctx := ctxE2E(t)
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
			init := mcp.InitializeRequest{}
			init.Params.ProtocolVersion = mcp.ProtocolVersion20251125
			if _, err := c.Initialize(ctx, init); err != nil {
				t.Fatal(err)
			}
			for _, path := range []string{secret, "file://" + secret, "/etc/passwd"} {
				res, _, err := callTool(ctx, c, "upload_file", map[string]any{"path": path}, nil)
				if err != nil || !res.IsError {
					t.Errorf("upload_file %s was not refused: %v %v", path, res, err)
				}
			}
			var sent int64
			for _, r := range emu.Requests() {
				sent += r.BodySize
			}
			if sent != 0 {
				t.Errorf("%d bytes reached fal from refused files", sent)
			}
			if res, _, err := callTool(ctx, c, "upload_file", map[string]any{"path": inside}, nil); err != nil || res.IsError {
				t.Errorf("upload_file inside --allow-dir = %v, %v", res, err)
			}
			switch asked := rootsHandler.asked.Load(); {
			case transportName == "http" && asked != 0:
				t.Errorf("over HTTP the server asked the client for its roots %d times", asked)
			case transportName == "stdio" && asked == 0:
				t.Error("over stdio the server never asked for roots: the test did not exercise them")
			case transportName == "stdio" && !strings.Contains(stderr.String(), "filesystem root"):
				t.Errorf("no warning about the filesystem root on stderr:\n%s", stderr.String())
			}
		})
	}
}
