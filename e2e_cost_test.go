package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

type elicitAnswer func(context.Context, mcp.ElicitationRequest) (*mcp.ElicitationResult, error)

func (f elicitAnswer) Elicit(ctx context.Context, r mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	return f(ctx, r)
}

// startSpendProcess is the built binary on an emulator with extra
// environment, and a client over its stdio in the given protocol era that
// answers elicitation with answer (nil: it cannot elicit).
func startSpendProcess(t *testing.T, emu *faltest.Server, stateDir, version string, answer elicitAnswer, env ...string) *process {
	t.Helper()
	cmd := exec.Command(binary(t))
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "FAL_KEY=" + e2eKey,
		"FAL_QUEUE_URL=" + emu.QueueURL, "FAL_REST_URL=" + emu.RestURL, "FAL_VIDEO_MCP_STATE_DIR=" + stateDir}, env...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	p := &process{cmd: cmd, stderr: &lockedBuffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Kill() })
	var opts []client.ClientOption
	if answer != nil {
		opts = append(opts, client.WithElicitationHandler(answer))
	}
	p.client = client.NewClient(transport.NewIO(stdout, stdin, io.NopCloser(strings.NewReader(""))), opts...)
	ctx := ctxE2E(t)
	if err := p.client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = version
	if answer != nil {
		init.Params.Capabilities.Elicitation = &mcp.ElicitationCapability{}
	}
	if _, err := p.client.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	return p
}

func enqueued(emu *faltest.Server) int {
	n := 0
	for _, r := range emu.Requests() {
		if r.Op == faltest.OpSubmit {
			n++
		}
	}
	return n
}

// TestStdioConfirmAbove: over stdio, in both protocol eras, a job above
// --confirm-above is submitted once the user accepts, not at all when the
// user declines, and is refused with a way forward when the client cannot
// ask.
func TestStdioConfirmAbove(t *testing.T) {
	big := map[string]any{"prompt": "a fox", "video_url": "https://x/fox.mp4", "num_frames": 241, "wait_seconds": 0}
	for _, era := range []string{mcp.ProtocolVersion20251125, mcp.ProtocolVersion20260728} {
		for _, c := range []struct {
			name    string
			action  mcp.ElicitationResponseAction
			submits int
			want    string
		}{
			{"accept", mcp.ElicitationResponseActionAccept, 1, "Estimated cost: $1.205"},
			{"decline", mcp.ElicitationResponseActionDecline, 0, "did not accept"},
			{"no elicitation", "", 0, "raise --confirm-above"},
		} {
			t.Run(era+"/"+c.name, func(t *testing.T) {
				emu := faltest.NewServer(faltest.Options{Key: e2eKey})
				t.Cleanup(emu.Close)
				var asked []string
				var answer elicitAnswer
				if c.action != "" {
					answer = func(_ context.Context, r mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
						asked = append(asked, r.Params.Message)
						return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: c.action, Content: map[string]any{"run": true}}}, nil
					}
				}
				p := startSpendProcess(t, emu, t.TempDir(), era, answer, "FAL_VIDEO_MCP_CONFIRM_ABOVE=1")
				res, _, err := callTool(ctxE2E(t), p.client, "wan_vace_video", big, nil)
				if err != nil {
					t.Fatal(err)
				}
				var txt string
				for _, ct := range res.Content {
					if tc, ok := ct.(mcp.TextContent); ok {
						txt += tc.Text
					}
				}
				if !strings.Contains(txt, c.want) {
					t.Errorf("result: %s; want %q", txt, c.want)
				}
				if n := enqueued(emu); n != c.submits {
					t.Errorf("%d submits, want %d", n, c.submits)
				}
				if c.action != "" && (len(asked) != 1 || !strings.Contains(asked[0], "about $1.21")) {
					t.Errorf("the user was asked %q", asked)
				}
			})
		}
	}
}

// TestStdioDedupe: the same call twice, and once more after a restart,
// enqueues one job and returns the same request id; force_new enqueues a
// second.
func TestStdioDedupe(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{Key: e2eKey})
	t.Cleanup(emu.Close)
	state := t.TempDir()
	in := func(extra ...string) map[string]any {
		m := map[string]any{"video_url": "https://x/in.mp4", "wait_seconds": 0}
		for _, k := range extra {
			m[k] = true
		}
		return m
	}
	ctx := ctxE2E(t)
	p := startSpendProcess(t, emu, state, mcp.ProtocolVersion20260728, nil)
	_, first, err := callTool(ctx, p.client, "upscale_video", in(), nil)
	if err != nil || first.RequestID == "" {
		t.Fatalf("first call: %v", err)
	}
	_, again, err := callTool(ctx, p.client, "upscale_video", in(), nil)
	if err != nil || again.RequestID != first.RequestID {
		t.Errorf("second call: job %s (%v), want %s", again.RequestID, err, first.RequestID)
	}
	p.Kill()
	p2 := startSpendProcess(t, emu, state, mcp.ProtocolVersion20251125, nil)
	_, after, err := callTool(ctx, p2.client, "upscale_video", in(), nil)
	if err != nil || after.RequestID != first.RequestID {
		t.Errorf("after a restart: job %s (%v), want %s", after.RequestID, err, first.RequestID)
	}
	if n := enqueued(emu); n != 1 {
		t.Errorf("%d jobs enqueued, want 1", n)
	}
	_, forced, err := callTool(ctx, p2.client, "upscale_video", in("force_new"), nil)
	if err != nil || forced.RequestID == first.RequestID || enqueued(emu) != 2 {
		t.Errorf("force_new: job %s (%v), %d enqueued", forced.RequestID, err, enqueued(emu))
	}
}
