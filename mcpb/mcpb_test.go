package mcpb

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/schemas"
)

// manifest is the part of manifest.json the tests look at.
type manifest struct {
	ManifestVersion string `json:"manifest_version"`
	Name            string `json:"name"`
	Version         string `json:"version"`
	Server          struct {
		Type       string `json:"type"`
		EntryPoint string `json:"entry_point"`
		MCPConfig  struct {
			Command string            `json:"command"`
			Args    []string          `json:"args"`
			Env     map[string]string `json:"env"`
		} `json:"mcp_config"`
	} `json:"server"`
	Tools         []Tool `json:"tools"`
	Compatibility struct {
		Platforms []string `json:"platforms"`
	} `json:"compatibility"`
	UserConfig map[string]struct {
		Type      string `json:"type"`
		Title     string `json:"title"`
		Multiple  bool   `json:"multiple"`
		Sensitive bool   `json:"sensitive"`
		Required  bool   `json:"required"`
	} `json:"user_config"`
}

// The top-level keys manifest spec 0.3 allows (its schema is strict).
var specKeys = []string{"$schema", "dxt_version", "manifest_version", "name", "display_name", "version", "description",
	"long_description", "author", "repository", "homepage", "documentation", "support", "icon", "icons", "screenshots",
	"localization", "server", "tools", "tools_generated", "prompts", "prompts_generated", "keywords", "license",
	"privacy_policies", "compatibility", "user_config", "_meta"}

// checkManifest checks a manifest.json of the target's bundle: it runs the
// target's binary, asks for the key (sensitive), the folders (several) and
// the output folder, and maps each setting to the server's environment or
// arguments.
func checkManifest(t *testing.T, b []byte, version string, target Target) manifest {
	t.Helper()
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatalf("manifest is not JSON: %v", err)
	}
	for k := range keys {
		if !slices.Contains(specKeys, k) {
			t.Errorf("key %q is not in manifest spec 0.3", k)
		}
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	s := m.Server
	if m.ManifestVersion != "0.3" || m.Name != "fal-video-mcp" || m.Version != version || s.Type != "binary" {
		t.Errorf("manifest %q name %q version %q type %q", m.ManifestVersion, m.Name, m.Version, s.Type)
	}
	if s.EntryPoint != "server/"+target.Binary() || s.MCPConfig.Command != "${__dirname}/"+s.EntryPoint {
		t.Errorf("runs %q (entry point %q), want the %s binary", s.MCPConfig.Command, s.EntryPoint, target.Binary())
	}
	if !slices.Equal(m.Compatibility.Platforms, []string{target.Platform()}) {
		t.Errorf("platforms %q, want %q", m.Compatibility.Platforms, target.Platform())
	}
	wantEnv := map[string]string{"FAL_KEY": "${user_config.fal_key}", "FAL_VIDEO_MCP_OUTPUT_DIR": "${user_config.output_directory}",
		"FAL_VIDEO_MCP_DOWNLOAD": "${user_config.download}"}
	if !maps(s.MCPConfig.Env, wantEnv) || !slices.Equal(s.MCPConfig.Args, []string{"--", "${user_config.allowed_directories}"}) {
		t.Errorf("env %v args %q", s.MCPConfig.Env, s.MCPConfig.Args)
	}
	uc := m.UserConfig
	if k := uc["fal_key"]; k.Type != "string" || !k.Sensitive || !k.Required {
		t.Errorf("fal_key %+v: want a required sensitive string", k)
	}
	if d := uc["allowed_directories"]; d.Type != "directory" || !d.Multiple {
		t.Errorf("allowed_directories %+v: want several directories", d)
	}
	if d := uc["output_directory"]; d.Type != "directory" || d.Multiple {
		t.Errorf("output_directory %+v: want one directory", d)
	}
	if d := uc["download"]; d.Type != "boolean" {
		t.Errorf("download %+v: want a boolean", d)
	}
	// Every setting is used, and everything used is a setting.
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$\{user_config\.([a-z_]+)\}`).FindAllStringSubmatch(string(b), -1) {
		used[m[1]] = true
	}
	for k, v := range uc {
		if !used[k] || v.Title == "" {
			t.Errorf("setting %q is not used or has no title", k)
		}
	}
	for k := range used {
		if _, ok := uc[k]; !ok {
			t.Errorf("${user_config.%s} is not a setting", k)
		}
	}
	list, err := ServerTools()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Tools, list) {
		t.Errorf("tools %v, want the server's %v", m.Tools, list)
	}
	return m
}

func maps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestManifestTemplate: the template renders the manifest of every target.
func TestManifestTemplate(t *testing.T) {
	list, err := ServerTools()
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range schemas.Catalog {
		if !slices.ContainsFunc(list, func(x Tool) bool { return x.Name == row.Tool && x.Description == row.Title }) {
			t.Errorf("tool %s (%q) is not listed", row.Tool, row.Title)
		}
	}
	for _, target := range Targets {
		t.Run(target.GOOS+"_"+target.GOARCH, func(t *testing.T) {
			b, err := Manifest("1.2.3", target, list)
			if err != nil {
				t.Fatal(err)
			}
			checkManifest(t, b, "1.2.3", target)
		})
	}
}

// distDir is GoReleaser's output, when `make dist` has run.
const distDir = "../dist"

func distVersion(t *testing.T) string {
	t.Helper()
	var meta struct{ Version string }
	b, err := os.ReadFile(filepath.Join(distDir, "metadata.json"))
	if err != nil || json.Unmarshal(b, &meta) != nil {
		t.Skip("no release build: run make dist")
	}
	return meta.Version
}

// TestBundles unpacks each bundle `make mcpb` built: its manifest is the
// target's, and the binary it runs is in it, executable, for that target;
// the linux/amd64 one runs here.
func TestBundles(t *testing.T) {
	version := distVersion(t)
	for _, target := range Targets {
		path := filepath.Join(distDir, BundleName(version, target))
		if _, err := os.Stat(path); err != nil {
			t.Skipf("no bundle %s: run make mcpb", path)
		}
		t.Run(target.GOOS+"_"+target.GOARCH, func(t *testing.T) {
			z, err := zip.OpenReader(path)
			if err != nil {
				t.Fatal(err)
			}
			defer z.Close()
			files := map[string]*zip.File{}
			for _, f := range z.File {
				files[f.Name] = f
			}
			mb := readZip(t, files["manifest.json"])
			m := checkManifest(t, mb, version, target)
			bin, ok := files[m.Server.EntryPoint]
			if !ok {
				t.Fatalf("the bundle has no %s: %v", m.Server.EntryPoint, slices.Collect(mapsKeys(files)))
			}
			if target.GOOS != "windows" && bin.Mode().Perm()&0o111 == 0 {
				t.Errorf("%s is not executable: %v", bin.Name, bin.Mode())
			}
			data := readZip(t, bin)
			if got, err := BinaryTarget(bytes.NewReader(data)); err != nil || got != target {
				t.Errorf("%s is for %v (%v), want %v", bin.Name, got, err, target)
			}
			for _, name := range []string{"README.md", "LICENSE"} {
				if files[name] == nil {
					t.Errorf("no %s in the bundle", name)
				}
			}
			if target != (Target{runtime.GOOS, runtime.GOARCH}) || runtime.GOOS != "linux" {
				return
			}
			exe := filepath.Join(t.TempDir(), target.Binary())
			if err := os.WriteFile(exe, data, 0o755); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(exe, "--version").Output()
			if err != nil || !strings.HasPrefix(string(out), "fal-video-mcp "+version+" (commit ") {
				t.Errorf("%s --version: %q, %v", bin.Name, out, err)
			}
		})
	}
}

func readZip(t *testing.T, f *zip.File) []byte {
	t.Helper()
	if f == nil {
		t.Fatal("missing file in the bundle")
	}
	r, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestBundleServerJSON: the registry entry of a release build names this
// build's bundles with their SHA-256 and validates against the MCP
// Registry's schema.
func TestBundleServerJSON(t *testing.T) {
	version := distVersion(t)
	b, err := os.ReadFile(filepath.Join(distDir, "server.json"))
	if err != nil {
		t.Skip("no dist/server.json: run make dist")
	}
	var doc struct {
		Version  string
		Packages []struct {
			RegistryType string
			Identifier   string
			FileSha256   string
		}
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	schema, err := os.ReadFile(filepath.Join("..", "testdata", "registry", "server.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidateServerJSON(b, schema, true); err != nil {
		t.Error(err)
	}
	// GoReleaser knows it as a release file (its signs step made it),
	// beside the archives and checksums it uploads.
	var artifacts []struct{ Name, Path, Type string }
	if a, err := os.ReadFile(filepath.Join(distDir, "artifacts.json")); err == nil && json.Unmarshal(a, &artifacts) == nil {
		found := false
		for _, a := range artifacts {
			found = found || a.Name == "server.json" && a.Type == "Signature"
		}
		if !found {
			t.Errorf("dist/artifacts.json does not list server.json as a release file: %+v", artifacts)
		}
	}
	if doc.Version != version || len(doc.Packages) != len(Targets) {
		t.Fatalf("version %q with %d packages, want %q and %d", doc.Version, len(doc.Packages), version, len(Targets))
	}
	for i, target := range Targets {
		p := doc.Packages[i]
		name := BundleName(version, target)
		data, err := os.ReadFile(filepath.Join(distDir, name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if p.RegistryType != "mcpb" || p.Identifier != ReleaseURL(version, name) || p.FileSha256 != hex.EncodeToString(sum[:]) {
			t.Errorf("package %d: %+v, want %s with sha256 %x", i, p, name, sum)
		}
	}
}
