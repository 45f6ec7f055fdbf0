package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestExamples: every client configuration under examples/ is valid JSON,
// runs fal-video-mcp by its absolute install path, and names only real
// flags and environment variables.
func TestExamples(t *testing.T) {
	var help strings.Builder
	_, _ = parseFlags([]string{"--help"}, func(string) string { return "" }, &help)
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z-]+)`).FindAllStringSubmatch(help.String(), -1) {
		flags[m[1]] = true
	}
	envs := map[string]bool{"FAL_KEY": true, "FAL_KEY_ID": true, "FAL_KEY_SECRET": true}
	for _, m := range regexp.MustCompile(`env (FAL_[A-Z_]+)`).FindAllStringSubmatch(help.String(), -1) {
		envs[m[1]] = true
	}
	paths, _ := filepath.Glob("examples/*.json")
	if len(paths) < 4 {
		t.Fatalf("only %d examples", len(paths))
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Errorf("%s is not valid JSON: %v", p, err)
			continue
		}
		// The binary is named by the absolute path make install prints:
		// GUI clients do not search the shell's PATH.
		commands := regexp.MustCompile(`"([^" ]*fal-video-mcp)"`).FindAllStringSubmatch(string(b), -1)
		if len(commands) == 0 {
			t.Errorf("%s does not run fal-video-mcp", p)
		}
		for _, m := range commands {
			if !filepath.IsAbs(m[1]) || filepath.Base(m[1]) != "fal-video-mcp" || !strings.Contains(m[1], "/go/bin/") {
				t.Errorf("%s runs %q; want the absolute path make install prints, like /home/you/go/bin/fal-video-mcp", p, m[1])
			}
		}
		for _, m := range regexp.MustCompile(`"--([a-z-]+)"`).FindAllStringSubmatch(string(b), -1) {
			if !flags[m[1]] {
				t.Errorf("%s names --%s, which is not a flag", p, m[1])
			}
		}
		for _, m := range regexp.MustCompile(`"(FAL_[A-Z_]+)"`).FindAllStringSubmatch(string(b), -1) {
			if !envs[m[1]] {
				t.Errorf("%s names %s, which is not an environment variable of the server", p, m[1])
			}
		}
	}
}
