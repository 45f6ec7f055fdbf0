package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// lockedBuffer is a bytes.Buffer safe to write from the server goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// piped is run() serving stdio over pipes, with an initialized mcp-go
// client on the other end.
type piped struct {
	client *client.Client
	stdout *lockedBuffer // every byte run wrote to stdout
	stderr *lockedBuffer
	stdin  io.Closer
	done   chan int
}

// runPiped starts run(args, env) over pipes and initializes a client in
// the given protocol era.
func runPiped(t *testing.T, version string, args []string, vars map[string]string) *piped {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	p := &piped{stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, stdin: inW, done: make(chan int, 1)}
	go func() {
		p.done <- run(context.Background(), args, env(vars), inR, io.MultiWriter(outW, p.stdout), p.stderr)
		outW.Close()
	}()
	p.client = client.NewClient(transport.NewIO(outR, inW, io.NopCloser(strings.NewReader(""))))
	t.Cleanup(func() { p.client.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = version
	req.Params.ClientInfo = mcp.Implementation{Name: "test", Version: "1"}
	res, err := p.client.Initialize(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.ServerInfo.Name != "fal-video-mcp" || res.Instructions == "" || res.ProtocolVersion != version {
		t.Errorf("initialize = %+v", res)
	}
	return p
}

// stop closes stdin (EOF ends the server) and returns its exit code.
func (p *piped) stop() int {
	p.stdin.Close()
	return <-p.done
}

// TestServesMCPOverStdio drives run() with an mcp-go client over pipes in
// both protocol eras: the handshake works, stdout carries only the
// protocol, and the logs go to stderr.
func TestServesMCPOverStdio(t *testing.T) {
	for _, version := range []string{mcp.ProtocolVersion20251125, mcp.LATEST_PROTOCOL_VERSION} {
		t.Run(version, func(t *testing.T) {
			p := runPiped(t, version, []string{"--log-level", "debug"},
				map[string]string{"FAL_KEY": "canary-key-never-printed", "FAL_VIDEO_MCP_STATE_DIR": t.TempDir()})
			if _, err := p.client.ListTools(context.Background(), mcp.ListToolsRequest{}); err != nil {
				t.Fatal(err)
			}
			stdout, stderr := p.stdout, p.stderr
			if code := p.stop(); code != 0 {
				t.Errorf("exit code %d; stderr:\n%s", code, stderr.String())
			}
			for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
				if !strings.HasPrefix(line, `{"jsonrpc":"2.0"`) {
					t.Errorf("stdout line is not JSON-RPC: %q", line)
				}
			}
			if !strings.Contains(stderr.String(), "serving MCP over stdio") {
				t.Errorf("stderr lacks the start-up log:\n%s", stderr.String())
			}
			if strings.Contains(stderr.String()+stdout.String(), "canary-key-never-printed") {
				t.Error("the key was printed")
			}
		})
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		code   int
		stdout string
		stderr string
		hidden []string // never printed
	}{
		{name: "version", args: []string{"--version"}, stdout: "fal-video-mcp "},
		{name: "help", args: []string{"--help"}, stderr: "FAL_VIDEO_MCP_LOG_LEVEL"},
		{name: "bad level", args: []string{"--log-level", "loud"}, code: 2, stderr: `--log-level "loud"`},
		{name: "bad level from env", env: map[string]string{"FAL_VIDEO_MCP_LOG_LEVEL": "loud"}, code: 2, stderr: `"loud"`},
		{name: "bad timeout", args: []string{"--request-timeout", "-1s"}, code: 2, stderr: "--request-timeout"},
		{name: "bad queue url", args: []string{"--queue-url", "queue.fal.run"}, code: 2, stderr: "absolute http(s) URL"},
		{name: "bad queue url from env", env: map[string]string{"FAL_QUEUE_URL": "ftp://x"}, code: 2, stderr: "absolute http(s) URL"},
		{name: "stray argument", args: []string{"serve"}, code: 2, stderr: `unexpected argument "serve"`},
		{name: "unknown flag", args: []string{"--nope"}, code: 2, stderr: "flag provided but not defined"},
		{name: "help shows no env value", args: []string{"--help"}, env: map[string]string{"FAL_VIDEO_MCP_AUTH_TOKEN": "s3cr3t-from-env",
			"FAL_VIDEO_MCP_LISTEN": "10.9.8.7:6543"}, stderr: "(env FAL_VIDEO_MCP_AUTH_TOKEN)", hidden: []string{"s3cr3t-from-env", "10.9.8.7"}},
		{name: "bad boolean from env", env: map[string]string{"FAL_VIDEO_MCP_DRY_RUN": "maybe"}, code: 2, stderr: `FAL_VIDEO_MCP_DRY_RUN="maybe"`},
		{name: "flag beats env", args: []string{"--log-level", "loud"}, env: map[string]string{"FAL_VIDEO_MCP_LOG_LEVEL": "debug"}, code: 2, stderr: `--log-level "loud"`},
		{name: "bad max sessions", args: []string{"--max-sessions", "0"}, code: 2, stderr: "--max-sessions"},
		{name: "bad session idle from env", env: map[string]string{"FAL_VIDEO_MCP_SESSION_IDLE_TIMEOUT": "soon"}, code: 2, stderr: `--session-idle-timeout "soon"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr lockedBuffer
			if tt.env == nil {
				tt.env = map[string]string{}
			}
			tt.env["FAL_VIDEO_MCP_STATE_DIR"] = t.TempDir()
			code := run(context.Background(), tt.args, env(tt.env), strings.NewReader(""), &stdout, &stderr)
			if code != tt.code || !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("run(%q) = %d\nstdout: %s\nstderr: %s", tt.args, code, stdout.String(), stderr.String())
			}
			for _, h := range tt.hidden {
				if strings.Contains(stdout.String()+stderr.String(), h) {
					t.Errorf("%q was printed:\n%s", h, stderr.String())
				}
			}
		})
	}
}

// TestUnusableLedgerStillServes: a ledger file of garbage is reported on
// stderr, left untouched, and the server serves without history.
func TestUnusableLedgerStillServes(t *testing.T) {
	dir := t.TempDir()
	garbage := strings.Repeat("not a database ", 1000)
	if err := os.WriteFile(filepath.Join(dir, "jobs.db"), []byte(garbage), 0o600); err != nil {
		t.Fatal(err)
	}
	p := runPiped(t, mcp.LATEST_PROTOCOL_VERSION, nil, map[string]string{"FAL_VIDEO_MCP_STATE_DIR": dir, "FAL_VIDEO_MCP_DRY_RUN": "1"})
	c, stderr, ctx := p.client, p.stderr, context.Background()
	call := mcp.CallToolRequest{}
	call.Params.Name = "job_list"
	res, err := c.CallTool(ctx, call)
	if err != nil || res.IsError {
		t.Fatalf("job_list = %v, %v", res, err)
	}
	if txt := res.Content[0].(mcp.TextContent).Text; !strings.Contains(txt, "history is unavailable") {
		t.Errorf("job_list does not say the history is unavailable: %s", txt)
	}
	p.stop()
	if !strings.Contains(stderr.String(), "no job ledger") || !strings.Contains(stderr.String(), "jobs.db") {
		t.Errorf("stderr does not explain the ledger problem:\n%s", stderr.String())
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "jobs.db")); string(b) != garbage {
		t.Error("the ledger file was changed")
	}
}
