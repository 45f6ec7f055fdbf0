package tools_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/fal-video-mcp/fal-video-mcp/schemas/schemastest"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestThrowawayEndpoint: an endpoint added as one struct pair plus one
// catalog row (schemastest.Mirror, in a process of its own) is listed
// with its schema, validated by its schema and its cross-field rule with
// nothing sent, runs against the emulator as dry-run wires it, and is
// covered by the snapshots once they are regenerated — with no other edit.
func TestThrowawayEndpoint(t *testing.T) {
	if !schemastest.InOwnProcess(t) {
		return
	}
	row := schemastest.Mirror
	schemastest.AddToCatalog(t, row)
	h := newHarness(t, mcp.ProtocolVersion20260728)
	ctx := ctxT(t)

	// tools/list
	list, err := h.client.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if want := len(schemas.Catalog) + 6; len(list.Tools) != want { // + 4 job tools, upload_file, probe_media
		t.Errorf("%d tools, want %d", len(list.Tools), want)
	}
	var tool *mcp.Tool
	for i := range list.Tools {
		if list.Tools[i].Name == row.Tool {
			tool = &list.Tools[i]
		}
	}
	if tool == nil {
		t.Fatalf("%s is not listed", row.Tool)
	}
	var listed struct {
		InputSchema struct {
			Properties map[string]map[string]any `json:"properties"`
			Required   []string                  `json:"required"`
		} `json:"inputSchema"`
	}
	b, _ := json.Marshal(tool)
	if err := json.Unmarshal(b, &listed); err != nil {
		t.Fatal(err)
	}
	in := listed.InputSchema
	if mode := in.Properties["mode"]; mode["default"] != "flip" || len(mode["enum"].([]any)) != 2 ||
		in.Properties["seconds"]["maximum"] != float64(10) || len(in.Required) != 1 || in.Required[0] != "video_url" {
		t.Errorf("input schema = %+v", in)
	}
	if !strings.Contains(tool.Description, "throwaway endpoint") || !strings.Contains(tool.Description, row.ID) ||
		!strings.Contains(tool.Description, "overlay_image_url") {
		t.Errorf("description = %q", tool.Description)
	}

	// Validation: the schema, the media check and the row's own rule.
	for _, tc := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{}, "video_url: missing"},
		{map[string]any{"video_url": ""}, `video_url: got ""`},
		{map[string]any{"video_url": "https://x/a.mp4", "mode": "spin"}, `mode: got "spin"`},
		{map[string]any{"video_url": "https://x/a.mp4", "seconds": 11}, "seconds: got 11"},
		{map[string]any{"video_url": "https://x/a.mp4", "mode": "overlay"}, "overlay_image_url: got nothing — mode overlay needs"},
		{map[string]any{"video_url": "https://x/a.mp4", "overlay_image_url": "logo.png"}, "local paths must be absolute"},
	} {
		res := h.call(t, ctx, row.Tool, tc.args)
		if !res.IsError || !strings.Contains(text(res), tc.want) {
			t.Errorf("%v = %s, want an error with %q", tc.args, text(res), tc.want)
		}
	}
	if n := len(h.emu.Requests()); n != 0 {
		t.Errorf("%d requests reached fal for invalid calls", n)
	}

	// A run, wired as dry-run wires every row: the example output, its
	// files served as real media.
	h.emu.SetScript(row.ID, faltest.Script{Output: h.emu.ServeOutputFiles(schemas.ExampleOutput(row.Tool))})
	var args map[string]any
	if err := json.Unmarshal(schemas.ExampleInput(row.Tool), &args); err != nil {
		t.Fatal(err)
	}
	args["wait_seconds"] = 10
	res := h.call(t, ctx, row.Tool, args)
	job := jobOf(t, res)
	if res.IsError || job.Status != tools.StatusCompleted || len(job.Files) != 2 {
		t.Fatalf("job = %+v: %s", job, text(res))
	}
	types := map[string]bool{}
	for _, f := range job.Files {
		types[f.ContentType] = true
	}
	if !types["video/mp4"] || !types["image/png"] {
		t.Errorf("output files %+v, want an mp4 video and a png thumbnail", job.Files)
	}

	// Snapshots: the new tool has none until they are regenerated, then
	// it is covered like every other tool.
	dir := t.TempDir()
	entries, _ := os.ReadDir(filepath.Join("testdata", "tools"))
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("testdata", "tools", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	problems, err := checkSnapshots(list.Tools, dir, false)
	if err != nil || len(problems) != 1 || !strings.Contains(problems[0], "no snapshot for tool "+row.Tool) {
		t.Errorf("snapshots before regenerating: %q %v", problems, err)
	}
	if _, err := checkSnapshots(list.Tools, dir, true); err != nil {
		t.Fatal(err)
	}
	if problems, err := checkSnapshots(list.Tools, dir, false); err != nil || len(problems) != 0 {
		t.Errorf("snapshots after regenerating: %q %v", problems, err)
	}
	if _, err := os.Stat(filepath.Join(dir, row.Tool+".json")); err != nil {
		t.Errorf("no snapshot written for %s: %v", row.Tool, err)
	}
}
