package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// unknownCostCalls are calls whose cost cannot be estimated against the
// emulator (input URLs are not probed off fal's own hosts), made distinct
// by n so that dedupe does not fold them.
func unknownCostCalls(n int) []struct {
	tool string
	args map[string]any
} {
	url := fmt.Sprintf("https://x/in-%d.mp4", n)
	return []struct {
		tool string
		args map[string]any
	}{
		{"ray2_modify_video", map[string]any{"video_url": url, "prompt": "a fox", "wait_seconds": 0}},
		{"upscale_video", map[string]any{"video_url": url, "wait_seconds": 0}},
		{"wan_vace_video", map[string]any{"prompt": "a fox", "video_url": url, "match_input_num_frames": true, "wait_seconds": 0}},
	}
}

// TestUnknownCostRefusedAcrossProcesses: two processes sharing a state
// folder, 8 calls each of endpoints whose cost is unknown, under
// --max-job-cost 0.01 --budget 1 and the default --unknown-cost: nothing
// is enqueued, and each refusal names the endpoint, why and the flag.
func TestUnknownCostRefusedAcrossProcesses(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{Key: e2eKey})
	t.Cleanup(emu.Close)
	state := t.TempDir()
	ps := []*process{
		startSpendProcess(t, emu, state, mcp.ProtocolVersion20251125, nil, "FAL_VIDEO_MCP_MAX_JOB_COST=0.01", "FAL_VIDEO_MCP_BUDGET=1"),
		startSpendProcess(t, emu, state, mcp.ProtocolVersion20260728, nil, "FAL_VIDEO_MCP_MAX_JOB_COST=0.01", "FAL_VIDEO_MCP_BUDGET=1"),
	}
	ctx := ctxE2E(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var refusals []string
	for pi, p := range ps {
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := unknownCostCalls(pi*8 + i)[i%3]
				res, _, err := callTool(ctx, p.client, c.tool, c.args, nil)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Errorf("%s: %v", c.tool, err)
					return
				}
				if !res.IsError {
					t.Errorf("%s was not refused: %s", c.tool, textOf(res))
				}
				refusals = append(refusals, c.tool+": "+textOf(res))
			}()
		}
	}
	wg.Wait()
	if n := enqueued(emu); n != 0 {
		t.Errorf("%d jobs of unknown cost enqueued under --max-job-cost 0.01 --budget 1, want 0", n)
	}
	for _, r := range refusals {
		if !strings.Contains(r, "--unknown-cost") || !strings.Contains(r, "fal-ai/") || !strings.Contains(r, "unknown") {
			t.Errorf("a refusal that does not name the endpoint, the reason and the flag: %s", r)
		}
	}
}

// forging is a client transport that adds inputResponses (and a
// requestState, when set) to every tools/call: what a client forging a
// consent sends.
type forging struct {
	transport.Interface
	responses map[string]any
	state     string
}

func (f *forging) SendRequest(ctx context.Context, r transport.JSONRPCRequest) (*transport.JSONRPCResponse, error) {
	if r.Method == string(mcp.MethodToolsCall) {
		b, _ := json.Marshal(r.Params)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		m["inputResponses"] = f.responses
		if f.state != "" {
			m["requestState"] = f.state
		}
		r.Params = m
	}
	return f.Interface.SendRequest(ctx, r)
}

func (f *forging) SetRequestHandler(h transport.RequestHandler) {
	if b, ok := f.Interface.(transport.BidirectionalInterface); ok {
		b.SetRequestHandler(h)
	}
}

func (f *forging) SetProtocolVersion(v string) {
	if h, ok := f.Interface.(transport.HTTPConnection); ok {
		h.SetProtocolVersion(v)
	}
}

// TestForgedConsentRefused: a tools/call that carries an acceptance the
// server never asked for — in every era, over stdio and HTTP, from clients
// with and without elicitation — is refused with a tool error, and nothing
// is enqueued.
func TestForgedConsentRefused(t *testing.T) {
	accept := map[string]any{"action": "accept", "content": map[string]any{"run": true}}
	forgeries := []struct {
		name      string
		responses map[string]any
		state     string
	}{
		{"accept", map[string]any{"confirm_cost": accept}, ""},
		{"accept with a made-up state", map[string]any{"confirm_cost": accept}, "c3RhdGU"},
		{"unknown key", map[string]any{"ok": accept}, ""},
	}
	big := map[string]any{"prompt": "a fox", "video_url": "https://x/fox.mp4", "num_frames": 241, "wait_seconds": 0}
	for _, tr := range []string{"stdio", "http"} {
		for _, era := range []string{mcp.ProtocolVersion20250618, mcp.ProtocolVersion20251125, mcp.ProtocolVersion20260728} {
			for _, elicits := range []bool{false, true} {
				for _, f := range forgeries {
					t.Run(fmt.Sprintf("%s/%s/elicit=%v/%s", tr, era, elicits, f.name), func(t *testing.T) {
						emu := faltest.NewServer(faltest.Options{Key: e2eKey})
						t.Cleanup(emu.Close)
						asked := 0
						var answer elicitAnswer = func(context.Context, mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
							asked++
							return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionDecline}}, nil
						}
						if !elicits {
							answer = nil
						}
						c := clientThrough(t, tr, emu, era, answer, func(tp transport.Interface) transport.Interface {
							return &forging{Interface: tp, responses: f.responses, state: f.state}
						})
						res, _, err := callTool(ctxE2E(t), c, "wan_vace_video", big, nil)
						if err != nil {
							t.Fatal(err)
						}
						if !res.IsError {
							t.Errorf("a forged consent was not refused: %s", textOf(res))
						}
						if n := enqueued(emu); n != 0 {
							t.Errorf("%d jobs enqueued on a forged consent (%s), want 0", n, textOf(res))
						}
					})
				}
			}
		}
	}
}

// clientThrough starts the built binary with --confirm-above 0.01 on the
// emulator, over stdio or streamable HTTP, and a client in the given era
// (answering elicitation with answer; nil: it cannot) whose transport is
// wrapped by wrap.
func clientThrough(t *testing.T, tr string, emu *faltest.Server, era string, answer elicitAnswer,
	wrap func(transport.Interface) transport.Interface) *client.Client {
	t.Helper()
	env := []string{"FAL_KEY=" + e2eKey, "FAL_QUEUE_URL=" + emu.QueueURL, "FAL_REST_URL=" + emu.RestURL,
		"FAL_VIDEO_MCP_STATE_DIR=" + t.TempDir(), "FAL_VIDEO_MCP_CONFIRM_ABOVE=0.01"}
	var tp transport.Interface
	if tr == "http" || tr == "http-stateless" {
		args := []string{"--transport", "http"}
		if tr == "http-stateless" {
			args = append(args, "--stateless")
		}
		base, _, _ := startHTTPWith(t, append(env, "FAL_VIDEO_MCP_AUTH_TOKEN="+httpToken), args...)
		h, err := transport.NewStreamableHTTP(base+"/mcp", transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + httpToken}))
		if err != nil {
			t.Fatal(err)
		}
		tp = h
	} else {
		cmd := exec.Command(binary(t))
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = &lockedBuffer{}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		tp = transport.NewIO(stdout, stdin, io.NopCloser(strings.NewReader("")))
	}
	var opts []client.ClientOption
	if answer != nil {
		opts = append(opts, client.WithElicitationHandler(answer))
	}
	c := client.NewClient(wrap(tp), opts...)
	t.Cleanup(func() { c.Close() })
	ctx := ctxE2E(t)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = era
	if answer != nil {
		init.Params.Capabilities.Elicitation = &mcp.ElicitationCapability{}
	}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	return c
}

// recording is a client transport that keeps the params of the last
// tools/call that answered a question (it carries a requestState).
type recording struct {
	forging
	mu      sync.Mutex
	answers []map[string]any
	headers []http.Header
}

func (r *recording) SendRequest(ctx context.Context, req transport.JSONRPCRequest) (*transport.JSONRPCResponse, error) {
	if req.Method == string(mcp.MethodToolsCall) {
		b, _ := json.Marshal(req.Params)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		if m["requestState"] != nil {
			r.mu.Lock()
			r.answers = append(r.answers, m)
			r.headers = append(r.headers, req.Header.Clone())
			r.mu.Unlock()
		}
	}
	return r.Interface.SendRequest(ctx, req)
}

// TestReplayedConsentRefused: from 2026-07-28 the client carries the
// user's answer back with the server's request state. A real accept runs
// one job; the same answer sent again (a replay), or put on another call,
// is refused and enqueues nothing. Over stdio and HTTP.
func TestReplayedConsentRefused(t *testing.T) {
	big := map[string]any{"prompt": "a fox", "video_url": "https://x/fox.mp4", "num_frames": 241, "wait_seconds": 0}
	for _, tr := range []string{"stdio", "http"} {
		t.Run(tr, func(t *testing.T) {
			emu := faltest.NewServer(faltest.Options{Key: e2eKey})
			t.Cleanup(emu.Close)
			rec := &recording{}
			var accept elicitAnswer = func(context.Context, mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
				return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionAccept, Content: map[string]any{"run": true}}}, nil
			}
			c := clientThrough(t, tr, emu, mcp.ProtocolVersion20260728, accept, func(tp transport.Interface) transport.Interface {
				rec.Interface = tp
				return rec
			})
			ctx := ctxE2E(t)
			res, job, err := callTool(ctx, c, "wan_vace_video", big, nil)
			if err != nil || res.IsError || job.RequestID == "" {
				t.Fatalf("an accepted job: %v %s", err, textOf(res))
			}
			if n := enqueued(emu); n != 1 || len(rec.answers) != 1 {
				t.Fatalf("%d enqueued after an accept (%d answers sent), want 1", n, len(rec.answers))
			}
			answer := rec.answers[0]
			other := map[string]any{}
			for k, v := range answer {
				other[k] = v
			}
			otherArgs := map[string]any{"prompt": "another fox", "video_url": "https://x/fox.mp4", "num_frames": 241, "wait_seconds": 0}
			other["arguments"] = otherArgs
			for name, params := range map[string]map[string]any{"replay": answer, "other call": other} {
				resp, err := rec.Interface.SendRequest(ctx, transport.JSONRPCRequest{JSONRPC: "2.0", ID: mcp.NewRequestId(int64(1000 + len(name))),
					Method: string(mcp.MethodToolsCall), Params: params, Header: rec.headers[0]})
				if err != nil {
					t.Fatal(err)
				}
				var r mcp.CallToolResult
				if resp.Error != nil || json.Unmarshal(resp.Result, &r) != nil || !r.IsError {
					t.Errorf("%s of a real accept: %s %v; want a tool error", name, resp.Result, resp.Error)
				} else {
					t.Logf("%s: %s", name, textOf(&r))
				}
			}
			if n := enqueued(emu); n != 1 {
				t.Errorf("%d enqueued after replays of one accept, want 1", n)
			}
		})
	}
}

// TestHTTPConfirmAbove: over streamable HTTP, in both eras, a job above
// --confirm-above runs once when the user accepts, and not at all, with a
// tool error, when the user declines.
func TestHTTPConfirmAbove(t *testing.T) {
	big := map[string]any{"prompt": "a fox", "video_url": "https://x/fox.mp4", "num_frames": 241, "wait_seconds": 0}
	for _, tr := range []string{"http", "http-stateless"} {
		for _, era := range []string{mcp.ProtocolVersion20251125, mcp.ProtocolVersion20260728} {
			for _, action := range []mcp.ElicitationResponseAction{mcp.ElicitationResponseActionAccept, mcp.ElicitationResponseActionDecline} {
				if tr == "http-stateless" && era != mcp.ProtocolVersion20260728 {
					continue // before 2026-07-28 a stateless server cannot put a question to the client
				}
				t.Run(tr+"/"+era+"/"+string(action), func(t *testing.T) {
					emu := faltest.NewServer(faltest.Options{Key: e2eKey})
					t.Cleanup(emu.Close)
					asked := 0
					c := clientThrough(t, tr, emu, era, func(context.Context, mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
						asked++
						return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: action, Content: map[string]any{"run": true}}}, nil
					}, func(tp transport.Interface) transport.Interface { return tp })
					res, _, err := callTool(ctxE2E(t), c, "wan_vace_video", big, nil)
					if err != nil {
						t.Fatal(err)
					}
					want := 0
					if action == mcp.ElicitationResponseActionAccept {
						want = 1
					}
					if n := enqueued(emu); n != want || asked != 1 || res.IsError != (want == 0) {
						t.Errorf("%d enqueued (want %d), asked %d times; result (error %v): %s", n, want, asked, res.IsError, textOf(res))
					}
				})
			}
		}
	}
}
