package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/mcpb"
)

// TestWriteServerJSON: the server.json a release publishes is the
// committed one at the build's version — every version it names is that
// one, a snapshot's too — with every bundle's SHA-256, the fal key
// declared as a required secret, and valid against the MCP Registry's
// schema (testdata/registry); a bundle without a sum is an error.
func TestWriteServerJSON(t *testing.T) {
	schema, err := os.ReadFile(filepath.Join("..", "..", "testdata", "registry", "server.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, version := range []string{"0.1.0-snapshot", "0.1.0", "1.2.3"} {
		t.Run(version, func(t *testing.T) {
			sums := map[string]string{}
			for i, target := range mcpb.Targets {
				sums[mcpb.BundleName(version, target)] = strings.Repeat(string("0123456789abcdef"[i]), 64)
			}
			out := filepath.Join(t.TempDir(), "server.json")
			if err := writeServerJSON(filepath.Join("..", "..", "server.json"), out, version, sums); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if err := mcpb.ValidateServerJSON(b, schema, true); err != nil {
				t.Errorf("the generated server.json: %v", err)
			}
			// Every version the file names — in its version, URLs, file
			// names and install line — is this build's.
			for _, m := range regexp.MustCompile(`v?\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?`).FindAllString(string(b), -1) {
				if strings.TrimPrefix(m, "v") != version {
					t.Errorf("the server.json of %s names version %s", version, m)
				}
			}
			var doc struct {
				Packages []struct {
					Identifier           string
					FileSha256           string
					EnvironmentVariables []struct {
						Name                 string
						IsRequired, IsSecret bool
					}
				}
			}
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			for i, p := range doc.Packages {
				name := mcpb.BundleName(version, mcpb.Targets[i])
				if p.Identifier != mcpb.ReleaseURL(version, name) || p.FileSha256 != sums[name] {
					t.Errorf("package %d: %s sha %q, want %s with its sum", i, p.Identifier, p.FileSha256, name)
				}
				key := false
				for _, e := range p.EnvironmentVariables {
					key = key || e.Name == "FAL_KEY" && e.IsRequired && e.IsSecret
				}
				if !key {
					t.Errorf("package %d does not declare FAL_KEY as a required secret: %+v", i, p.EnvironmentVariables)
				}
			}
			delete(sums, mcpb.BundleName(version, mcpb.Targets[2]))
			if err := writeServerJSON(filepath.Join("..", "..", "server.json"), out, version, sums); err == nil {
				t.Error("a bundle without its SHA-256 was written into server.json")
			}
		})
	}
}
