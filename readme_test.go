package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
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
