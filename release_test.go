package main

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/mcpb"
)

func fileVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("VERSION")
	if err != nil {
		t.Fatal(err)
	}
	v := strings.TrimSpace(string(b))
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(v) {
		t.Fatalf("VERSION %q is not X.Y.Z", v)
	}
	return v
}

// TestServerJSONInStep: server.json, the MCP Registry entry, is at the
// version of the VERSION file, names one bundle per release platform and
// every release archive, and keeps to the registry's rules.
func TestServerJSONInStep(t *testing.T) {
	version := fileVersion(t)
	b, err := os.ReadFile("server.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Schema      string `json:"$schema"`
		Name        string
		Title       string
		Description string
		Version     string
		Repository  struct{ URL, Source string }
		Packages    []struct {
			RegistryType string
			Identifier   string
			Transport    struct{ Type string }
		}
		Meta map[string]struct {
			Binaries  []struct{ OS, Arch, URL string }
			Checksums string
		} `json:"_meta"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != version {
		t.Errorf("server.json is at version %q, VERSION at %q", doc.Version, version)
	}
	if doc.Schema != "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json" ||
		!regexp.MustCompile(`^[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+$`).MatchString(doc.Name) ||
		len(doc.Description) == 0 || len(doc.Description) > 100 || len(doc.Title) > 100 ||
		doc.Repository.Source != "github" || !strings.HasPrefix(doc.Name, "io.github.fal-video-mcp/") {
		t.Errorf("schema %q name %q description %d chars, repository %+v", doc.Schema, doc.Name, len(doc.Description), doc.Repository)
	}
	if len(doc.Packages) != len(mcpb.Targets) {
		t.Fatalf("%d packages, want one bundle per platform (%d)", len(doc.Packages), len(mcpb.Targets))
	}
	for i, target := range mcpb.Targets {
		p := doc.Packages[i]
		want := mcpb.ReleaseURL(version, mcpb.BundleName(version, target))
		if p.RegistryType != "mcpb" || p.Identifier != want || p.Transport.Type != "stdio" {
			t.Errorf("package %d: %+v, want the mcpb %s over stdio", i, p, want)
		}
	}
	meta := doc.Meta["io.modelcontextprotocol.registry/publisher-provided"]
	if len(meta.Binaries) != len(mcpb.Targets) || meta.Checksums != mcpb.ReleaseURL(version, "checksums.txt") {
		t.Fatalf("_meta binaries %+v checksums %q", meta.Binaries, meta.Checksums)
	}
	for i, target := range mcpb.Targets {
		bin := meta.Binaries[i]
		if bin.OS != target.GOOS || bin.Arch != target.GOARCH || bin.URL != mcpb.ReleaseURL(version, mcpb.ArchiveName(version, target)) {
			t.Errorf("binary %d: %+v", i, bin)
		}
	}
	if m, _ := json.Marshal(doc.Meta); len(m) > 4096 {
		t.Errorf("publisher-provided _meta is %d bytes; the registry takes 4 KB", len(m))
	}
}

// TestServerJSONGenerated: the committed server.json is the generator's
// (mcpb.ServerJSON) at the VERSION file's version — the one a release
// publishes is the same with its bundles' sums — and validates against
// the MCP Registry's schema, vendored in testdata/registry, with the fal
// key declared as a required secret.
func TestServerJSONGenerated(t *testing.T) {
	committed, err := os.ReadFile("server.json")
	if err != nil {
		t.Fatal(err)
	}
	want, err := mcpb.ServerJSON(committed, fileVersion(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(committed, want) {
		t.Errorf("server.json is not the generator's: run go run ./mcpb/build -committed")
	}
	schema, err := os.ReadFile(filepath.Join("testdata", "registry", "server.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := mcpb.ValidateServerJSON(committed, schema, false); err != nil {
		t.Error(err)
	}
	// The validation sees what it must: a package without the key, a
	// name out of the registry's pattern, a bad sum.
	for name, spoil := range map[string]func(string) string{
		"no key": func(s string) string { return strings.ReplaceAll(s, `"FAL_KEY"`, `"FAL_KEYS"`) },
		"bad name": func(s string) string {
			return strings.Replace(s, `"io.github.fal-video-mcp/fal-video-mcp"`, `"no slash"`, 1)
		},
		"bad sum": func(s string) string {
			return strings.Replace(s, `"registryType": "mcpb"`, `"registryType": "mcpb", "fileSha256": "XYZ"`, 1)
		},
	} {
		if err := mcpb.ValidateServerJSON([]byte(spoil(string(committed))), schema, false); err == nil {
			t.Errorf("%s: a spoilt server.json validates", name)
		}
	}
}

// TestDist checks what `make dist` built (it runs this test): an archive
// per platform with README, LICENSE and a binary for that platform, the
// checksums of them all, and the linux/amd64 binary showing its version
// and commit.
func TestDist(t *testing.T) {
	var meta struct{ Version, Commit string }
	b, err := os.ReadFile("dist/metadata.json")
	if err != nil || json.Unmarshal(b, &meta) != nil {
		t.Skip("no release build: run make dist")
	}
	if want := fileVersion(t); meta.Version != want && meta.Version != want+"-snapshot" {
		t.Fatalf("dist/ holds version %s, VERSION says %s: run make dist again", meta.Version, want)
	}
	sums := map[string]string{}
	f, err := os.Open("dist/checksums.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if sum, name, ok := strings.Cut(sc.Text(), "  "); ok {
			sums[name] = sum
		}
	}
	if len(sums) != len(mcpb.Targets) {
		t.Errorf("checksums.txt lists %d files, want %d archives", len(sums), len(mcpb.Targets))
	}
	for _, target := range mcpb.Targets {
		name := mcpb.ArchiveName(meta.Version, target)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("dist", name))
			if err != nil {
				t.Fatal(err)
			}
			if sum := sha256.Sum256(data); sums[name] != hex.EncodeToString(sum[:]) {
				t.Errorf("checksum %q, file has %x", sums[name], sum)
			}
			files := archiveFiles(t, name, data)
			for _, want := range []string{"README.md", "LICENSE"} {
				if len(files[want]) == 0 {
					t.Errorf("no %s in %s", want, name)
				}
			}
			bin := files[target.Binary()]
			if got, err := mcpb.BinaryTarget(bytes.NewReader(bin)); err != nil || got != target {
				t.Fatalf("%s is for %v (%v), want %v", target.Binary(), got, err, target)
			}
			if target != (mcpb.Target{GOOS: "linux", GOARCH: "amd64"}) || runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
				return
			}
			exe := filepath.Join(t.TempDir(), target.Binary())
			if err := os.WriteFile(exe, bin, 0o755); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(exe, "--version").Output()
			m := regexp.MustCompile(`^fal-video-mcp (\S+) \(commit ([0-9a-f]{12})\)\n$`).FindStringSubmatch(string(out))
			if err != nil || m == nil || m[1] != meta.Version {
				t.Fatalf("--version: %q, %v; want version %s and a commit", out, err, meta.Version)
			}
			// GoReleaser knows the commit when the clone has a remote.
			if regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(meta.Commit) && meta.Commit[:12] != m[2] {
				t.Errorf("--version shows commit %s, the build was of %s", m[2], meta.Commit)
			}
		})
	}
}

// archiveFiles reads a .tar.gz or .zip into memory, by file name.
func archiveFiles(t *testing.T, name string, data []byte) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	if strings.HasSuffix(name, ".zip") {
		z, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range z.File {
			r, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			files[f.Name], err = io.ReadAll(r)
			r.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
		return files
	}
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if files[h.Name], err = io.ReadAll(tr); err != nil {
			t.Fatal(err)
		}
	}
}
