package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

const e2eKey = "e2e-key"

// process is the built binary against an emulator, with a client on its
// stdio; Kill stops it abruptly.
type process struct {
	cmd    *exec.Cmd
	client *client.Client
	stderr *lockedBuffer
}

func startProcess(t *testing.T, emu *faltest.Server, stateDir string) *process {
	t.Helper()
	return startSpendProcess(t, emu, stateDir, mcp.LATEST_PROTOCOL_VERSION, nil)
}

func (p *process) Kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	}
}

func ctxE2E(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestAbruptStopMidWait: the server is killed while a call waits on a
// job; a new process on the same state directory follows the job to its
// end by itself and answers job_result without endpoint_id.
func TestAbruptStopMidWait(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{Key: e2eKey})
	defer emu.Close()
	emu.SetScript("fal-ai/wan-vace-14b", faltest.Script{Manual: true,
		Output: emu.ServeOutputFiles([]byte(`{"video":{"url":"https://x/o.mp4","content_type":"video/mp4"}}`))})
	dir := t.TempDir()
	first := startProcess(t, emu, dir)
	ctx := ctxE2E(t)
	waiting := make(chan struct{})
	stop := emu.OnRequest(func(r faltest.Request) {
		if r.Op == faltest.OpStream {
			select {
			case <-waiting:
			default:
				close(waiting)
			}
		}
	})
	go func() {
		_, _, _ = callTool(ctx, first.client, "wan_vace_video", map[string]any{"prompt": "a fox", "video_url": "https://x/fox.mp4", "wait_seconds": 50}, nil)
	}()
	select { // the call is following the job
	case <-waiting:
	case <-ctx.Done():
		t.Fatalf("the first call never followed its job; stderr:\n%s", first.stderr.String())
	}
	stop()
	first.Kill()
	jobs := emu.Jobs()
	if len(jobs) != 1 {
		t.Fatalf("%d jobs at fal", len(jobs))
	}
	id := jobs[0].RequestID

	second := startProcess(t, emu, dir)
	emu.ResetRequests()
	emu.Finish(id)
	// The new process follows the unfinished job with no tool call: wait
	// until it has fetched the result from fal.
	fetched := make(chan struct{})
	stop = emu.OnRequest(func(r faltest.Request) {
		if r.Op == faltest.OpResult && r.RequestID == id {
			select {
			case <-fetched:
			default:
				close(fetched)
			}
		}
	})
	defer stop()
	for _, r := range emu.Requests() {
		if r.Op == faltest.OpResult && r.RequestID == id {
			select {
			case <-fetched:
			default:
				close(fetched)
			}
		}
	}
	select {
	case <-fetched:
	case <-ctx.Done():
		t.Fatalf("the restarted server never fetched the result; stderr:\n%s", second.stderr.String())
	}
	// Once captured, job_result answers from the ledger.
	for {
		res, job, err := callTool(ctx, second.client, "job_result", map[string]any{"request_id": id}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if job.Status == tools.StatusCompleted && len(job.Files) == 1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("job_result = %+v", res)
		}
	}
}

// TestTwoProcessesOneLedger: two server processes on one state directory
// submit 100 jobs each, concurrently; both list all 200, and no tool
// result mentions a locked database.
func TestTwoProcessesOneLedger(t *testing.T) {
	if testing.Short() {
		t.Skip("200 jobs through two processes")
	}
	emu := faltest.NewServer(faltest.Options{Key: e2eKey})
	defer emu.Close()
	emu.SetScript("fal-ai/video-upscaler", faltest.Script{Output: emu.ServeOutputFiles([]byte(`{"video":{"url":"https://x/o.mp4"}}`))})
	dir := t.TempDir()
	procs := []*process{startProcess(t, emu, dir), startProcess(t, emu, dir)}
	ctx := ctxE2E(t)
	var wg sync.WaitGroup
	errs := make(chan string, 400)
	for pi, p := range procs {
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 25 {
					res, _, err := callTool(ctx, p.client, "upscale_video", map[string]any{
						"video_url": fmt.Sprintf("https://x/%d-%d-%d.mp4", pi, w, i), "wait_seconds": 0}, nil)
					if err != nil {
						errs <- err.Error()
						continue
					}
					b, _ := json.Marshal(res)
					if res.IsError || strings.Contains(strings.ToLower(string(b)), "locked") {
						errs <- string(b)
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	for i, p := range procs {
		res, _, err := callTool(ctx, p.client, "job_list", map[string]any{"limit": 1000}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out struct{ Jobs []tools.Job }
		b, _ := json.Marshal(res.StructuredContent)
		_ = json.Unmarshal(b, &out)
		if len(out.Jobs) != 200 {
			t.Errorf("process %d lists %d jobs, want 200", i, len(out.Jobs))
		}
		if strings.Contains(strings.ToLower(p.stderr.String()), "database is locked") {
			t.Errorf("process %d logged a locked database:\n%s", i, p.stderr.String())
		}
	}
}

// TestReadOnlyStateDir: a state directory on a read-only mount (empty, or
// holding a ledger) yields a clear message and a serving server. It needs
// a private mount namespace (root, util-linux unshare); elsewhere it is
// skipped.
func TestReadOnlyStateDir(t *testing.T) {
	if err := exec.Command("unshare", "-m", "--propagation", "private", "true").Run(); err != nil {
		t.Skipf("no private mount namespace here (%v): cannot make a read-only mount", err)
	}
	withLedger := t.TempDir()
	emu := faltest.NewServer(faltest.Options{Key: e2eKey})
	defer emu.Close()
	// Fill one state directory with a real ledger first.
	p := startProcess(t, emu, withLedger)
	if _, _, err := callTool(ctxE2E(t), p.client, "job_list", map[string]any{}, nil); err != nil {
		t.Fatal(err)
	}
	p.Kill()
	for name, dir := range map[string]string{"empty": t.TempDir(), "with a ledger": withLedger} {
		t.Run(name, func(t *testing.T) {
			script := `mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" && exec "$2"`
			cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", dir, binary(t))
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "FAL_KEY=" + e2eKey,
				"FAL_QUEUE_URL=" + emu.QueueURL, "FAL_REST_URL=" + emu.RestURL, "FAL_VIDEO_MCP_STATE_DIR=" + dir}
			stdin, _ := cmd.StdinPipe()
			stdout, _ := cmd.StdoutPipe()
			stderr := &lockedBuffer{}
			cmd.Stderr = stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
			c := client.NewClient(transport.NewIO(stdout, stdin, io.NopCloser(strings.NewReader(""))))
			ctx := ctxE2E(t)
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
			init := mcp.InitializeRequest{}
			init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
			if _, err := c.Initialize(ctx, init); err != nil {
				t.Fatalf("the server does not serve: %v\n%s", err, stderr.String())
			}
			res, job, err := callTool(ctx, c, "upscale_video", map[string]any{"video_url": "https://x/i.mp4", "wait_seconds": 5}, nil)
			if err != nil || res.IsError || job.Status != tools.StatusCompleted {
				t.Errorf("a job on a read-only state dir = %+v %v", job, err)
			}
			res, _, err = callTool(ctx, c, "job_list", map[string]any{}, nil)
			if err != nil || res.IsError {
				t.Fatalf("job_list = %v %v", res, err)
			}
			txt := res.Content[0].(mcp.TextContent).Text
			if !strings.Contains(txt, "history is unavailable") && !strings.Contains(stderr.String(), "job ledger") {
				t.Errorf("nothing says the ledger cannot be written:\njob_list: %s\nstderr: %s", txt, stderr.String())
			}
		})
	}
}
