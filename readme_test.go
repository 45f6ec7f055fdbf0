package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/schemas"
)

// readmeToolRows renders the README's table rows of the endpoint tools.
func readmeToolRows() string {
	var rows []string
	for _, row := range schemas.Catalog {
		rows = append(rows, fmt.Sprintf("| `%s` | `%s` | %s |", row.Tool, row.ID, row.Title))
	}
	return strings.Join(rows, "\n")
}

// TestReadmeToolTable: the README lists every catalog tool, as generated
// from the catalog. Run with -update-readme to rewrite the rows.
func TestReadmeToolTable(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := regexp.MustCompile(`(?s)(\|---\|---\|---\|\n)(.*?)(\n\| ` + "`job_status`" + `)`)
	m := section.FindSubmatch(b)
	if m == nil {
		t.Fatal("README has no tools table")
	}
	want := readmeToolRows()
	if *updateReadme {
		out := section.ReplaceAll(b, []byte("${1}"+want+"${3}"))
		if err := os.WriteFile("README.md", out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if string(m[2]) != want {
		t.Errorf("README tool table is out of date; run go test -run TestReadmeToolTable -update-readme .\ngot:\n%s\nwant:\n%s", m[2], want)
	}
}

// TestReadmeFlags: every flag of the command is in the README's table.
func TestReadmeFlags(t *testing.T) {
	b, _ := os.ReadFile("README.md")
	var help strings.Builder
	_, _ = parseFlags([]string{"--help"}, func(string) string { return "" }, &help)
	for _, name := range regexp.MustCompile(`(?m)^  -([a-z-]+)`).FindAllStringSubmatch(help.String(), -1) {
		if !strings.Contains(string(b), "`--"+name[1]+"`") {
			t.Errorf("README does not document --%s", name[1])
		}
	}
}

var updateReadme = flag.Bool("update-readme", false, "rewrite the README's tool table from the catalog")

// TestReadmeClaudeCodeLine: the README's Claude Code line and
// examples/claude_code.json are what `config claude-code --include-key`
// prints (user scope, the key as -e FAL_KEY=…), for the example paths.
func TestReadmeClaudeCodeLine(t *testing.T) {
	const bin, dir = "/home/you/go/bin/fal-video-mcp", "/home/you/videos"
	code, out, errOut := runCmd(t, map[string]string{"FAL_KEY": "your-key", "HOME": t.TempDir()},
		"config", "claude-code", "--include-key", "--allow-dir", dir)
	if code != 0 {
		t.Fatalf("config claude-code: exit %d: %s", code, errOut)
	}
	words := shellWords(t, strings.TrimSpace(out))
	i := slices.Index(words, "--")
	if i < 0 || i+1 >= len(words) {
		t.Fatalf("config claude-code printed %q", out)
	}
	words[i+1] = bin
	want := strings.Join(words, " ")
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, m := range regexp.MustCompile("`(claude mcp add [^`]*)`").FindAllStringSubmatch(string(b), -1) {
		lines = append(lines, m[1])
	}
	if len(lines) == 0 {
		t.Fatal("the README has no claude mcp add line")
	}
	for _, l := range lines {
		if l != want {
			t.Errorf("the README says\n  %s\nconfig claude-code --include-key says\n  %s", l, want)
		}
	}
	var ex struct{ Command []string }
	eb, err := os.ReadFile(filepath.Join("examples", "claude_code.json"))
	if err != nil || json.Unmarshal(eb, &ex) != nil {
		t.Fatalf("examples/claude_code.json: %v", err)
	}
	// The example writes claude's own flag as --scope=user (the examples
	// name only the server's flags in "--flag" form; TestExamples).
	var exWords []string
	for _, w := range ex.Command {
		if k, v, ok := strings.Cut(w, "="); ok && k == "--scope" {
			exWords = append(exWords, k, v)
			continue
		}
		exWords = append(exWords, w)
	}
	if !slices.Equal(exWords, words) {
		t.Errorf("examples/claude_code.json runs %q, config claude-code says %q", ex.Command, words)
	}
}
