package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the server once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "fal-video-mcp-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "fal-video-mcp")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	return binPath
}

// stdioClient starts the built binary in dry-run mode (with extra
// environment variables, if any) and initializes an mcp-go client over its
// stdio in the given protocol era.
func stdioClient(t *testing.T, version string, extraEnv ...string) (*client.Client, chan mcp.JSONRPCNotification) {
	t.Helper()
	env := append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "FAL_VIDEO_MCP_DRY_RUN=1", "FAL_VIDEO_MCP_LOG_LEVEL=debug"}, extraEnv...)
	c, err := client.NewStdioMCPClient(binary(t), env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	notes := make(chan mcp.JSONRPCNotification, 1000)
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		select {
		case notes <- n:
		default:
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// NewStdioMCPClient starts the transport, but only Start wires the
	// notification handlers (mcp-go v1.2.1); it is idempotent.
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = version
	init.Params.ClientInfo = mcp.Implementation{Name: "e2e", Version: "1"}
	res, err := c.Initialize(ctx, init)
	if err != nil {
		t.Fatal(err)
	}
	if res.ProtocolVersion != version {
		t.Fatalf("negotiated %s, want %s", res.ProtocolVersion, version)
	}
	return c, notes
}

func callTool(ctx context.Context, c *client.Client, name string, args map[string]any, meta *mcp.Meta) (*mcp.CallToolResult, tools.Job, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments, req.Params.Meta = name, args, meta
	res, err := c.CallTool(ctx, req)
	if err != nil {
		return nil, tools.Job{}, err
	}
	var job tools.Job
	b, _ := json.Marshal(res.StructuredContent)
	_ = json.Unmarshal(b, &job)
	return res, job, nil
}

// TestStdioDryRunHappyPath: over stdio with the built binary in dry-run
// mode, every endpoint runs its seed example to completion: submit →
// job_status with a wait → job_result, in both protocol eras.
func TestStdioDryRunHappyPath(t *testing.T) {
	for _, era := range []string{mcp.ProtocolVersion20251125, mcp.ProtocolVersion20260728} {
		t.Run(era, func(t *testing.T) {
			c, _ := stdioClient(t, era)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			for _, row := range schemas.Catalog {
				wg.Add(1)
				go func() {
					defer wg.Done()
					args, err := exampleArgs(row.Tool, 0)
					if err != nil {
						t.Error(err)
						return
					}
					res, job, err := callTool(ctx, c, row.Tool, args, nil)
					if err != nil || res.IsError || !job.DryRun || job.Status != tools.StatusQueued {
						t.Errorf("%s: submit = %+v %v", row.Tool, job, err)
						return
					}
					res, job, err = callTool(ctx, c, "job_status", map[string]any{"request_id": job.RequestID, "wait_seconds": 30}, nil)
					if err != nil || res.IsError || job.Status != tools.StatusCompleted || len(job.Logs) == 0 {
						t.Errorf("%s: job_status = %+v %v", row.Tool, job, err)
						return
					}
					res, job, err = callTool(ctx, c, "job_result", map[string]any{"request_id": job.RequestID}, nil)
					if err != nil || res.IsError || job.Status != tools.StatusCompleted || len(job.Result) == 0 || !job.DryRun {
						t.Errorf("%s: job_result = %+v %v", row.Tool, job, err)
					}
				}()
			}
			wg.Wait()
		})
	}
}

// TestStdioProgressAndCancel: over stdio, a waiting call reports progress
// with increasing values, and a cancelled call returns at once while the
// server keeps serving.
func TestStdioProgressAndCancel(t *testing.T) {
	c, notes := stdioClient(t, mcp.ProtocolVersion20260728)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, job, err := callTool(ctx, c, "upscale_video", map[string]any{"video_url": "https://x/in.mp4", "wait_seconds": 30},
		&mcp.Meta{ProgressToken: "p"})
	if err != nil || res.IsError || job.Status != tools.StatusCompleted {
		t.Fatalf("call = %+v %v", job, err)
	}
	var last float64
	count := 0
	for len(notes) > 0 {
		n := <-notes
		if n.Method != "notifications/progress" {
			continue
		}
		p, _ := n.Params.AdditionalFields["progress"].(float64)
		if p <= last {
			t.Errorf("progress %v after %v", p, last)
		}
		last = p
		count++
	}
	if count == 0 {
		t.Error("no progress notifications")
	}

	cctx, ccancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, _, err := callTool(cctx, c, "upscale_video", map[string]any{"video_url": "https://x/in.mp4", "wait_seconds": 30, "force_new": true}, &mcp.Meta{ProgressToken: "q"})
		done <- err
	}()
waiting:
	for { // the call is waiting once its progress flows
		select {
		case n := <-notes:
			if n.Method == "notifications/progress" && n.Params.AdditionalFields["progressToken"] == "q" {
				break waiting
			}
		case <-ctx.Done():
			t.Fatal("no progress for the second call")
		}
	}
	ccancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled call = %v", err)
		}
	case <-time.After(20 * time.Second): // a hang guard, not a timing assertion
		t.Fatal("the cancelled call did not return")
	}
	res, _, err = callTool(ctx, c, "job_list", map[string]any{}, nil)
	if err != nil || res.IsError {
		t.Fatalf("job_list after cancel = %v %v", res, err)
	}
}

// exampleArgs is a tool's example input from the seed, with wait_seconds.
func exampleArgs(tool string, wait int) (map[string]any, error) {
	var args map[string]any
	if err := json.Unmarshal(schemas.ExampleInput(tool), &args); err != nil {
		return nil, err
	}
	args["wait_seconds"] = wait
	return args, nil
}
