package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/tools/ledger"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestSIGTERMDuringWait: SIGTERM while a call waits on a job ends the
// process cleanly and promptly; the ledger is intact and the next process
// follows the job to its end.
func TestSIGTERMDuringWait(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{Key: e2eKey})
	defer emu.Close()
	emu.SetScript("fal-ai/video-upscaler", faltest.Script{Manual: true,
		Output: emu.ServeOutputFiles([]byte(`{"video":{"url":"https://x/o.mp4"}}`))})
	dir := t.TempDir()
	p := startProcess(t, emu, dir)
	streaming := make(chan struct{})
	stop := emu.OnRequest(func(r faltest.Request) {
		if r.Op == faltest.OpStream {
			select {
			case <-streaming:
			default:
				close(streaming)
			}
		}
	})
	ctx := ctxE2E(t)
	go func() {
		_, _, _ = callTool(ctx, p.client, "upscale_video", map[string]any{"video_url": "https://x/i.mp4", "wait_seconds": 50}, nil)
	}()
	<-streaming
	stop()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, p.stderr.String())
		}
	case <-time.After(30 * time.Second): // the shutdown deadline guard, not a timing assertion
		t.Fatalf("no exit after SIGTERM:\n%s", p.stderr.String())
	}
	led, err := ledger.Open(ctx, dir)
	if err != nil {
		t.Fatalf("the ledger after SIGTERM: %v", err)
	}
	jobs, err := led.List(ctx, ledger.Filter{Unfinished: true})
	led.Close()
	if err != nil || len(jobs) != 1 {
		t.Fatalf("unfinished jobs after SIGTERM = %v, %v", jobs, err)
	}
	ended := make(chan struct{})
	stop = emu.OnRequest(func(r faltest.Request) {
		if r.Op == faltest.OpResult && r.RequestID == jobs[0].RequestID {
			select {
			case <-ended:
			default:
				close(ended)
			}
		}
	})
	defer stop()
	startProcess(t, emu, dir)
	emu.Finish(jobs[0].RequestID)
	select {
	case <-ended:
	case <-ctx.Done():
		t.Fatal("the job was not followed after the restart")
	}
}

// TestSecretsNeverLogged: a full session at debug level over HTTP —
// successes and failures — never prints the fal key or the HTTP token.
func TestSecretsNeverLogged(t *testing.T) {
	const falKey = "canary-fal-key-id:canary-fal-secret-9876543210"
	const token = "canary-auth-token-abcdefghij"
	emu := faltest.NewServer(faltest.Options{Key: "another-key"}) // every keyed call fails
	defer emu.Close()
	files := t.TempDir()
	base, stderr, cmd := startHTTPWith(t, []string{"FAL_KEY=" + falKey, "FAL_VIDEO_MCP_AUTH_TOKEN=" + token,
		"FAL_QUEUE_URL=" + emu.QueueURL, "FAL_REST_URL=" + emu.RestURL, "FAL_VIDEO_MCP_STATE_DIR=" + t.TempDir()},
		"--transport", "http", "--log-level", "debug", "--allow-dir", files)
	c, err := client.NewStreamableHttpClient(base+"/mcp", transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := ctxE2E(t)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Initialize(ctx, mcp.InitializeRequest{}); err != nil {
		t.Fatal(err)
	}
	clip := files + "/clip.mp4"
	_ = os.WriteFile(clip, []byte("\x00\x00\x00\x18ftypisom"), 0o600)
	var seen []string
	for _, call := range []struct {
		name string
		args map[string]any
	}{
		{"upscale_video", map[string]any{"video_url": "https://x/i.mp4", "wait_seconds": 1}},
		{"upscale_video", map[string]any{"video_url": clip}},
		{"upload_file", map[string]any{"path": clip}},
		{"job_status", map[string]any{"request_id": "r1", "endpoint_id": "fal-ai/video-upscaler"}},
		{"job_result", map[string]any{"request_id": "r2", "endpoint_id": "fal-ai/video-upscaler"}},
		{"job_cancel", map[string]any{"request_id": "r3", "endpoint_id": "fal-ai/video-upscaler"}},
		{"job_list", map[string]any{}},
		{"wan_vace_video", map[string]any{"prompt": 1}},
	} {
		res, _, err := callTool(ctx, c, call.name, call.args, nil)
		b, _ := json.Marshal(res)
		seen = append(seen, string(b), err2s(err))
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	all := strings.Join(seen, "\n") + stderr.String()
	if !strings.Contains(all, "401") && !strings.Contains(all, "refused the key") {
		t.Errorf("the session did not exercise the key failure:\n%s", all)
	}
	for _, secret := range []string{falKey, "canary-fal-key-id", "canary-fal-secret-9876543210", token} {
		if strings.Contains(all, secret) {
			t.Fatalf("%q leaked:\n%s", secret, all)
		}
	}
}

func err2s(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

var _ = context.Background
