package tools_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestToolSnapshots holds the JSON of every tool — name, title,
// description, annotations, input and output schema — under
// testdata/tools/. A changed tool without its snapshot fails; regenerate
// with UPDATE_SNAPSHOTS=1 go test ./tools and review the diff.
func TestToolSnapshots(t *testing.T) {
	h := newHarness(t, mcp.ProtocolVersion20260728)
	res, err := h.client.ListTools(ctxT(t), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	problems, err := checkSnapshots(res.Tools, filepath.Join("testdata", "tools"), os.Getenv("UPDATE_SNAPSHOTS") == "1")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// checkSnapshots compares every tool with its snapshot in dir and lists
// what differs: a tool without a snapshot, a changed tool, a snapshot
// without a tool. With update it rewrites dir from the tools instead.
func checkSnapshots(tools []mcp.Tool, dir string, update bool) ([]string, error) {
	if update {
		os.RemoveAll(dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	var problems []string
	seen := map[string]bool{}
	for _, tool := range tools {
		got, err := json.MarshalIndent(tool, "", "  ")
		if err != nil {
			return nil, err
		}
		got = append(got, '\n')
		path := filepath.Join(dir, tool.Name+".json")
		seen[filepath.Base(path)] = true
		if update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				return nil, err
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			problems = append(problems, fmt.Sprintf("no snapshot for tool %s (%v): run UPDATE_SNAPSHOTS=1 go test ./tools", tool.Name, err))
			continue
		}
		if string(got) != string(want) {
			problems = append(problems, fmt.Sprintf("tool %s differs from %s: run UPDATE_SNAPSHOTS=1 go test ./tools and review the diff\ngot:\n%s", tool.Name, path, got))
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !seen[e.Name()] {
			problems = append(problems, fmt.Sprintf("snapshot %s has no tool", e.Name()))
		}
	}
	return problems, nil
}

// TestAnnotations: every tool sets its title and all four hints, and they
// agree with what it does.
func TestAnnotations(t *testing.T) {
	h := newHarness(t, mcp.ProtocolVersion20260728)
	res, err := h.client.ListTools(ctxT(t), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if want := len(schemas.Catalog) + 6; len(res.Tools) != want {
		t.Errorf("%d tools, want %d: the %d endpoint tools of the catalog, 4 job tools, upload_file and probe_media", len(res.Tools), want, len(schemas.Catalog))
	}
	want := map[string][4]bool{ // read-only, destructive, idempotent, open-world
		"job_status":  {true, false, true, true},
		"job_result":  {true, false, true, true},
		"job_list":    {true, false, true, true},
		"job_cancel":  {false, true, true, true},
		"upload_file": {false, false, true, true},
		"probe_media": {true, false, true, true},
	}
	if n := len(schemas.Catalog) + len(want); len(res.Tools) != n {
		t.Errorf("%d tools, want %d: one per catalog endpoint and %d others", len(res.Tools), n, len(want))
	}
	for _, tool := range res.Tools {
		a := tool.Annotations
		if tool.Title == "" || a.Title == "" || a.ReadOnlyHint == nil || a.DestructiveHint == nil || a.IdempotentHint == nil || a.OpenWorldHint == nil {
			t.Errorf("%s: title or a hint is not set: %+v", tool.Name, a)
			continue
		}
		got := [4]bool{*a.ReadOnlyHint, *a.DestructiveHint, *a.IdempotentHint, *a.OpenWorldHint}
		w, ok := want[tool.Name]
		if !ok {
			w = [4]bool{false, false, false, true} // endpoint tools
		}
		if got != w {
			t.Errorf("%s: hints %v, want %v", tool.Name, got, w)
		}
		if got[0] && got[1] {
			t.Errorf("%s: read-only and destructive", tool.Name)
		}
	}
}
