package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestStdioDryRunOutputOfAnEarlierProcess: a dry-run output URL lives as
// long as the process whose offline emulator served it. Passed to a later
// dry-run process — to probe_media, or as an endpoint tool's input — it is
// refused with what it is (an output of an earlier dry-run process, gone
// with it), not as a "loopback address", and nothing is submitted.
func TestStdioDryRunOutputOfAnEarlierProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	first, _ := stdioClient(t, mcp.ProtocolVersion20260728)
	args, err := exampleArgs("upscale_video", 30)
	if err != nil {
		t.Fatal(err)
	}
	res, job, err := callTool(ctx, first, "upscale_video", args, nil)
	if err != nil || res.IsError || job.Status != tools.StatusCompleted || len(job.Files) == 0 {
		t.Fatalf("upscale_video in dry-run: %+v %v", job, err)
	}
	old := job.Files[0].URL
	first.Close() // its emulator, and its files, are gone

	for _, era := range []string{mcp.ProtocolVersion20251125, mcp.ProtocolVersion20260728} {
		t.Run(era, func(t *testing.T) {
			later, _ := stdioClient(t, era)
			for _, call := range []struct {
				tool string
				args map[string]any
			}{
				{"probe_media", map[string]any{"source": old}},
				{"upscale_video", map[string]any{"video_url": old, "wait_seconds": 0}},
			} {
				res, _, err := callTool(ctx, later, call.tool, call.args, nil)
				if err != nil {
					t.Fatalf("%s: %v", call.tool, err)
				}
				msg := textOf(res)
				if !res.IsError || !strings.Contains(msg, "dry-run output of an earlier process") ||
					!strings.Contains(msg, "live only as long as that process") || strings.Contains(msg, "loopback") {
					t.Errorf("%s of an earlier dry-run output = %v: %s", call.tool, res.IsError, msg)
				}
			}
			res, _, err := callTool(ctx, later, "job_list", map[string]any{}, nil)
			if err != nil || !strings.Contains(textOf(res), "0 job(s)") {
				t.Errorf("a job was submitted: %s (%v)", textOf(res), err)
			}
		})
	}
}
