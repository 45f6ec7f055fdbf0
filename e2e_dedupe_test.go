package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestDryRunThenRealSubmits: with one state folder, a dry-run job is never
// the answer to a real call: the real call is submitted to fal.
func TestDryRunThenRealSubmits(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{Key: e2eKey})
	t.Cleanup(emu.Close)
	state := t.TempDir()
	ctx := ctxE2E(t)
	args := map[string]any{"video_url": "https://x/in.mp4", "wait_seconds": 0}
	dry := startSpendProcess(t, emu, state, mcp.ProtocolVersion20260728, nil, "FAL_VIDEO_MCP_DRY_RUN=1")
	_, rehearsed, err := callTool(ctx, dry.client, "upscale_video", args, nil)
	if err != nil || rehearsed.RequestID == "" || !rehearsed.DryRun {
		t.Fatalf("dry run: job %+v (%v)", rehearsed, err)
	}
	dry.Kill()
	if n := enqueued(emu); n != 0 {
		t.Fatalf("the dry run reached fal: %d submits", n)
	}
	for _, era := range []string{mcp.ProtocolVersion20251125, mcp.ProtocolVersion20260728} {
		real := startSpendProcess(t, emu, state, era, nil)
		res, job, err := callTool(ctx, real.client, "upscale_video", args, nil)
		if err != nil {
			t.Fatal(err)
		}
		if job.RequestID == rehearsed.RequestID || job.DryRun {
			t.Errorf("%s: a real call was answered with the dry-run job %s: %s", era, rehearsed.RequestID, textOf(res))
		}
		real.Kill()
	}
	// The second real call is the first's job again: one submit.
	if n := enqueued(emu); n != 1 {
		t.Errorf("%d jobs enqueued at fal by the real calls, want 1", n)
	}
}

// initiateBarrier is a proxy to the emulator's REST host that holds every
// upload initiation until n have arrived: calls that upload the same file
// reach the ledger at the same time.
func initiateBarrier(t *testing.T, target string, n int) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/storage/upload/initiate") {
			mu.Lock()
			if arrived++; arrived == n {
				close(all)
			}
			mu.Unlock()
			select {
			case <-all:
			case <-r.Context().Done():
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestTwoProcessesRaceSameCall: two server processes sharing a state
// folder get the same call at the same moment (both past the dedupe
// check, both uploading the same file): fal gets one job, and the other
// call is answered with it, flagged reused.
func TestTwoProcessesRaceSameCall(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{Key: e2eKey})
	t.Cleanup(emu.Close)
	emu.SetScript("fal-ai/video-upscaler", faltest.Script{Manual: true})
	state, files := t.TempDir(), t.TempDir()
	clip := filepath.Join(files, "clip.mp4")
	if err := os.WriteFile(clip, []byte("\x00\x00\x00\x18ftypisom the race"), 0o600); err != nil {
		t.Fatal(err)
	}
	rest := initiateBarrier(t, emu.RestURL, 2)
	env := []string{"FAL_REST_URL=" + rest, "FAL_VIDEO_MCP_ALLOW_DIRS=" + files}
	procs := []*process{
		startSpendProcess(t, emu, state, mcp.ProtocolVersion20251125, nil, env...),
		startSpendProcess(t, emu, state, mcp.ProtocolVersion20260728, nil, env...),
	}
	ctx := ctxE2E(t)
	type answer struct {
		res *mcp.CallToolResult
		job tools.Job
		err error
	}
	answers := make([]answer, len(procs))
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, job, err := callTool(ctx, p.client, "upscale_video", map[string]any{"video_url": clip, "wait_seconds": 0}, nil)
			answers[i] = answer{res, job, err}
		}()
	}
	wg.Wait()
	for i, a := range answers {
		if a.err != nil || a.res.IsError {
			t.Fatalf("process %d: %v %s; stderr:\n%s", i, a.err, textOf(a.res), procs[i].stderr.String())
		}
	}
	if n := enqueued(emu); n != 1 {
		t.Errorf("%d jobs enqueued by two processes racing the same call, want 1", n)
	}
	jobs := emu.Jobs()
	reused := 0
	for _, a := range answers {
		var sc map[string]any
		if b, err := jsonOf(a.res.StructuredContent); err == nil {
			sc = b
		}
		if sc["reused"] == true {
			reused++
		}
		if len(jobs) == 1 && a.job.RequestID != jobs[0].RequestID {
			t.Errorf("an answer names job %s, not the one at fal (%s): %s", a.job.RequestID, jobs[0].RequestID, textOf(a.res))
		}
	}
	if reused != 1 {
		t.Errorf("%d answers flagged reused, want 1", reused)
	}
}

// jsonOf is structured content as a JSON object.
func jsonOf(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}
