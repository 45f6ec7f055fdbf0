package main

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

const httpToken = "canary-http-token-0123456789"

// startHTTP runs the binary in dry-run mode on an HTTP transport and
// returns its base URL, read from its start-up log line.
func startHTTP(t *testing.T, args ...string) string {
	t.Helper()
	base, _, _ := startHTTPWith(t, []string{"FAL_VIDEO_MCP_DRY_RUN=1", "FAL_VIDEO_MCP_AUTH_TOKEN=" + httpToken}, args...)
	return base
}

// startHTTPWith runs the binary with env (beside PATH and HOME) on
// 127.0.0.1:0 and returns its base URL, its stderr so far and on, and the
// command.
func startHTTPWith(t *testing.T, env []string, args ...string) (string, *lockedBuffer, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	log := &lockedBuffer{}
	addr := regexp.MustCompile(`serving MCP over HTTP .*addr=(\S+)`)
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		log.Write([]byte(sc.Text() + "\n"))
		if m := addr.FindStringSubmatch(sc.Text()); m != nil {
			go func() { // keep reading the log
				for sc.Scan() {
					log.Write([]byte(sc.Text() + "\n"))
				}
			}()
			return "http://" + m[1], log, cmd
		}
	}
	t.Fatalf("the server did not start:\n%s", log.String())
	return "", nil, nil
}

func runDryJob(t *testing.T, c *client.Client, version string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	progress := make(chan struct{}, 100)
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method == "notifications/progress" {
			select {
			case progress <- struct{}{}:
			default:
			}
		}
	})
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = version
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	// Every catalog endpoint, the four job tools, upload_file and probe_media.
	if want := len(schemas.Catalog) + 6; err != nil || len(list.Tools) != want {
		t.Fatalf("tools/list = %v, %v; want %d tools", list, err, want)
	}
	res, job, err := callTool(ctx, c, "upscale_video", map[string]any{"video_url": "https://x/in.mp4", "wait_seconds": 20}, nil)
	if err != nil || res.IsError || job.Status != tools.StatusCompleted || !job.DryRun {
		t.Fatalf("dry-run job = %+v %v", job, err)
	}

	// Cancel a waiting call: it returns at once; the server keeps serving.
	for len(progress) > 0 {
		<-progress
	}
	cctx, ccancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, _, err := callTool(cctx, c, "upscale_video", map[string]any{"video_url": "https://x/in.mp4", "wait_seconds": 20, "force_new": true}, &mcp.Meta{ProgressToken: "c"})
		done <- err
	}()
	select {
	case <-progress:
	case <-ctx.Done():
		t.Fatal("no progress from the waiting call")
	}
	ccancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled call = %v", err)
		}
	case <-ctx.Done():
		t.Fatal("the cancelled call did not return")
	}
	if _, _, err := callTool(ctx, c, "job_list", map[string]any{}, nil); err != nil {
		t.Errorf("job_list after a cancelled call: %v", err)
	}
}

// TestHTTPTransports: streamable HTTP (stateful and stateless) and SSE
// serve the tools and run a job to completion, with the bearer token.
func TestHTTPTransports(t *testing.T) {
	auth := map[string]string{"Authorization": "Bearer " + httpToken}
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"http stateful", []string{"--transport", "http"}},
		{"http stateless", []string{"--transport", "http", "--stateless"}},
		{"sse", []string{"--transport", "sse"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			base := startHTTP(t, tt.args...)
			var c *client.Client
			var err error
			if tt.args[1] == "sse" {
				c, err = client.NewSSEMCPClient(base+"/sse", transport.WithHeaders(auth))
			} else {
				c, err = client.NewStreamableHttpClient(base+"/mcp", transport.WithHTTPHeaders(auth))
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			runDryJob(t, c, mcp.ProtocolVersion20251125)
		})
	}
}

// TestHTTPSecurity: token, Origin, body size and /healthz.
func TestHTTPSecurity(t *testing.T) {
	base := startHTTP(t, "--transport", "http", "--allowed-origins", "http://localhost:6274")
	init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`
	tests := []struct {
		name, path, body string
		header           map[string]string
		want             int
	}{
		{"no token", "/mcp", init, nil, 401},
		{"wrong token", "/mcp", init, map[string]string{"Authorization": "Bearer nope"}, 401},
		{"foreign origin", "/mcp", init, map[string]string{"Authorization": "Bearer " + httpToken, "Origin": "https://evil.example"}, 403},
		{"oversized body", "/mcp", `{"x":"` + strings.Repeat("a", 5<<20) + `"}`, map[string]string{"Authorization": "Bearer " + httpToken}, 413},
		{"allowed origin", "/mcp", init, map[string]string{"Authorization": "Bearer " + httpToken, "Origin": "http://localhost:6274"}, 200},
		{"healthz without token", "/healthz", "", nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := "POST"
			if tt.body == "" {
				method = "GET"
			}
			req, _ := http.NewRequest(method, base+tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("%s: %d, want %d", tt.name, resp.StatusCode, tt.want)
			}
		})
	}
}

// TestNonLoopbackNeedsToken: listening beyond loopback without a token is
// refused at start, with the reason.
func TestNonLoopbackNeedsToken(t *testing.T) {
	cmd := exec.Command(binary(t), "--transport", "http", "--listen", "0.0.0.0:0")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "FAL_VIDEO_MCP_DRY_RUN=1"}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "--auth-token") {
		t.Errorf("exit %v, output:\n%s", err, out)
	}
}
