package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/fal-video-mcp/fal-video-mcp/schemas/schemastest"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestStdioDryRunServesRealMedia: over stdio with the built binary in
// dry-run mode, every endpoint's example runs to completion and each of
// its output files downloads as a real file of the advertised type: the
// bytes sniff as the content_type the result gives (magic numbers), their
// length is file_size, the URL ends in file_name; a file in a video field
// is a video.
func TestStdioDryRunServesRealMedia(t *testing.T) {
	c, _ := stdioClient(t, mcp.ProtocolVersion20260728)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, row := range schemas.Catalog {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args, err := exampleArgs(row.Tool, 30)
			if err != nil {
				t.Error(err)
				return
			}
			res, job, err := callTool(ctx, c, row.Tool, args, nil)
			if err != nil || res.IsError || job.Status != tools.StatusCompleted {
				t.Errorf("%s: %+v %v", row.Tool, job, err)
				return
			}
			if len(job.Files) == 0 {
				t.Errorf("%s: no output files: %s", row.Tool, job.Result)
			}
			for _, f := range job.Files {
				checkDownload(ctx, t, row.Tool, f)
			}
			for field, f := range fileObjects(t, job.Result) {
				if strings.Contains(field, "video") && !strings.HasPrefix(f.ContentType, "video/") {
					t.Errorf("%s: the %s field is %s, not a video", row.Tool, field, f.ContentType)
				}
			}
		}()
	}
	wg.Wait()
}

// TestStdioDryRunRehearsal: a three-step workflow rehearsed in dry-run
// mode passes a real video from step to step: a local clip is upscaled,
// the upscaled video's URL is interpolated, and the interpolated video's
// URL gets a local audio track.
func TestStdioDryRunRehearsal(t *testing.T) {
	dir := t.TempDir()
	video, _ := faltest.SampleOf("video")
	audio, _ := faltest.SampleOf("audio")
	clip, voice := filepath.Join(dir, "clip.mp4"), filepath.Join(dir, "voice.mp3")
	for p, b := range map[string][]byte{clip: video.Data, voice: audio.Data} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := stdioClient(t, mcp.ProtocolVersion20251125, "FAL_VIDEO_MCP_ALLOW_DIRS="+dir)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	step := func(tool string, args map[string]any) tools.OutputFile {
		t.Helper()
		args["wait_seconds"] = 30
		res, job, err := callTool(ctx, c, tool, args, nil)
		if err != nil || res.IsError || job.Status != tools.StatusCompleted || len(job.Files) != 1 {
			t.Fatalf("%s %v: %+v %v %s", tool, args, job, err, textOf(res))
		}
		f := job.Files[0]
		if f.ContentType != "video/mp4" {
			t.Fatalf("%s returned %s, not a video", tool, f.ContentType)
		}
		checkDownload(ctx, t, tool, f)
		return f
	}
	upscaled := step("upscale_video", map[string]any{"video_url": clip, "scale": 2})
	smooth := step("interpolate_video_frames", map[string]any{"video_url": upscaled.URL, "output_fps": 48})
	merged := step("merge_audio_video", map[string]any{"video_url": smooth.URL, "audio_url": voice})
	if upscaled.URL == smooth.URL || smooth.URL == merged.URL {
		t.Errorf("a step handed back its input: %s → %s → %s", upscaled.URL, smooth.URL, merged.URL)
	}
}

// checkDownload fetches an output file and checks that it is what its
// description says.
func checkDownload(ctx context.Context, t *testing.T, tool string, f tools.OutputFile) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.URL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("%s: GET %s: %v", tool, f.URL, err)
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("%s: GET %s = %d %v", tool, f.URL, resp.StatusCode, err)
		return
	}
	if sniffed := http.DetectContentType(body); sniffed != f.ContentType {
		t.Errorf("%s: %s advertises %s but its bytes are %s", tool, f.URL, f.ContentType, sniffed)
	}
	if got := resp.Header.Get("Content-Type"); got != f.ContentType {
		t.Errorf("%s: %s is served as %s, advertised %s", tool, f.URL, got, f.ContentType)
	}
	if f.FileSize == nil || *f.FileSize != int64(len(body)) {
		t.Errorf("%s: %s has %d bytes, file_size says %v", tool, f.URL, len(body), f.FileSize)
	}
	if f.FileName == "" || path.Base(f.URL) != f.FileName {
		t.Errorf("%s: %s is not named %q", tool, f.URL, f.FileName)
	}
	if ext := extensionOf[f.ContentType]; path.Ext(f.FileName) != ext {
		t.Errorf("%s: file_name %s does not fit %s (want %q)", tool, f.FileName, f.ContentType, ext)
	}
}

// fileObjects finds the file objects of an output by field name.
func fileObjects(t *testing.T, result json.RawMessage) map[string]tools.OutputFile {
	t.Helper()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(result, &fields); err != nil {
		t.Fatalf("result %s: %v", result, err)
	}
	out := map[string]tools.OutputFile{}
	for name, raw := range fields {
		var f tools.OutputFile
		if json.Unmarshal(raw, &f) == nil && f.URL != "" {
			out[name] = f
		}
	}
	return out
}

// extensionOf is the file name extension of each media type a dry run
// serves (not mime.ExtensionsByType: its table depends on the system).
var extensionOf = map[string]string{"video/mp4": ".mp4", "audio/mpeg": ".mp3", "image/png": ".png", "application/zip": ".zip"}

func textOf(res *mcp.CallToolResult) string {
	if res == nil {
		return ""
	}
	var s string
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			s += tc.Text
		}
	}
	return s
}

// TestThrowawayEndpointDryRun: an endpoint added as one struct pair plus
// one catalog row (schemastest.Mirror, in a process of its own) is served
// by the command in dry-run mode with no other edit: listed, validated,
// and answered with real media of its output's kinds.
func TestThrowawayEndpointDryRun(t *testing.T) {
	if !schemastest.InOwnProcess(t) {
		return
	}
	row := schemastest.Mirror
	schemastest.AddToCatalog(t, row)
	p := runPiped(t, mcp.ProtocolVersion20260728, nil, map[string]string{"FAL_VIDEO_MCP_DRY_RUN": "1", "FAL_VIDEO_MCP_STATE_DIR": t.TempDir()})
	defer p.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	list, err := p.client.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	listed := false
	for _, tool := range list.Tools {
		listed = listed || tool.Name == row.Tool
	}
	if !listed || len(list.Tools) != len(schemas.Catalog)+6 { // + 4 job tools, upload_file, probe_media
		t.Fatalf("%s listed: %v, %d tools", row.Tool, listed, len(list.Tools))
	}
	res, _, err := callTool(ctx, p.client, row.Tool, map[string]any{"video_url": "https://v3.fal.media/x.mp4", "mode": "overlay"}, nil)
	if err != nil || !res.IsError || !strings.Contains(textOf(res), "overlay_image_url") {
		t.Errorf("an invalid call = %s %v", textOf(res), err)
	}
	var args map[string]any
	if err := json.Unmarshal(schemas.ExampleInput(row.Tool), &args); err != nil {
		t.Fatal(err)
	}
	args["wait_seconds"] = 30
	res, job, err := callTool(ctx, p.client, row.Tool, args, nil)
	if err != nil || res.IsError || job.Status != tools.StatusCompleted || !job.DryRun || len(job.Files) != 2 {
		t.Fatalf("dry-run job = %+v %v %s", job, err, textOf(res))
	}
	for _, f := range job.Files {
		checkDownload(ctx, t, row.Tool, f)
	}
	files := fileObjects(t, job.Result)
	if files["video"].ContentType != "video/mp4" || files["thumbnail"].ContentType != "image/png" {
		t.Errorf("output files %+v, want an mp4 video and a png thumbnail", files)
	}
}
