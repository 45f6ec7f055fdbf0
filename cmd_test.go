package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/mcpb"
)

// hostConfig does what an MCP Bundle host does with a manifest's
// mcp_config, as getMcpConfigForManifest in @anthropic-ai/mcpb
// (src/shared/config.ts, the code Claude for macOS and Windows uses) does: an argument that is exactly a
// ${user_config.x} with a list value becomes one argument per item; a
// string value replaces its placeholder in arguments and environment
// values; a setting without a value leaves its placeholder as it was.
func hostConfig(t *testing.T, manifest []byte, values map[string]any) (args []string, environ map[string]string) {
	t.Helper()
	var m struct {
		Server struct {
			MCPConfig struct {
				Args []string
				Env  map[string]string
			} `json:"mcp_config"`
		}
		UserConfig map[string]struct{ Default any } `json:"user_config"`
	}
	if err := json.Unmarshal(manifest, &m); err != nil {
		t.Fatal(err)
	}
	vars := map[string]any{}
	for k, o := range m.UserConfig {
		if o.Default != nil {
			vars[k] = o.Default
		}
	}
	for k, v := range values {
		vars[k] = v
	}
	placeholder := regexp.MustCompile(`\$\{user_config\.([a-z_]+)\}`)
	str := func(s string) string {
		return placeholder.ReplaceAllStringFunc(s, func(p string) string {
			switch v := vars[placeholder.FindStringSubmatch(p)[1]].(type) {
			case string:
				return v
			case bool:
				return map[bool]string{true: "true", false: "false"}[v]
			}
			return p
		})
	}
	for _, a := range m.Server.MCPConfig.Args {
		if sub := placeholder.FindStringSubmatch(a); sub != nil && sub[0] == a {
			if list, ok := vars[sub[1]].([]string); ok {
				args = append(args, list...)
				continue
			}
		}
		args = append(args, str(a))
	}
	environ = map[string]string{}
	for k, v := range m.Server.MCPConfig.Env {
		environ[k] = str(v)
	}
	return args, environ
}

// TestBundleSettingsReachTheServer: what a user enters in Claude
// Desktop's form for the bundle arrives in the server's configuration —
// several folders included — and settings left empty leave the server's
// defaults.
func TestBundleSettingsReachTheServer(t *testing.T) {
	home := t.TempDir()
	videos, more, out := filepath.Join(home, "videos"), filepath.Join(home, "more videos"), filepath.Join(home, "out")
	manifest, err := mcpb.Manifest("1.0.0", mcpb.Target{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		values   map[string]any
		dirs     []string
		output   string
		download bool
		key      string
	}{
		{name: "all set", values: map[string]any{"fal_key": "id:secret", "allowed_directories": []string{videos, more},
			"output_directory": out, "download": true}, dirs: []string{videos, more}, output: out, download: true, key: "id:secret"},
		{name: "only the key", values: map[string]any{"fal_key": "id:secret"},
			output: filepath.Join(home, "fal-video-mcp"), key: "id:secret"},
		{name: "no folders chosen", values: map[string]any{"fal_key": "k", "allowed_directories": []string{}, "output_directory": ""},
			output: filepath.Join(home, "fal-video-mcp"), key: "k"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args, environ := hostConfig(t, manifest, tt.values)
			environ["HOME"] = home
			args, getenv := fromBundle(args, env(environ))
			cfg, err := parseFlags(args, getenv, io.Discard)
			if err != nil {
				t.Fatalf("args %q: %v", args, err)
			}
			if !slices.Equal(cfg.allowDirs, tt.dirs) || cfg.outputDir != tt.output || cfg.download != tt.download ||
				string(falqueue.KeyFromEnv(getenv)) != tt.key {
				t.Errorf("args %q env %v: dirs %q output %q download %v", args, environ, cfg.allowDirs, cfg.outputDir, cfg.download)
			}
		})
	}
}

// TestRunTakesBundleArguments: run() itself reads the bundle's form:
// folders after "--" are allowed folders (a missing one stops the server
// with exit 2) and an unexpanded placeholder is no folder.
func TestRunTakesBundleArguments(t *testing.T) {
	home := t.TempDir()
	vars := map[string]string{"HOME": home, "FAL_VIDEO_MCP_OUTPUT_DIR": "${user_config.output_directory}"}
	base := []string{"--state-dir", filepath.Join(home, "state"), "--"}
	for _, tt := range []struct {
		dirs []string
		code int
	}{
		{[]string{home, "${user_config.allowed_directories}"}, 0},
		{[]string{filepath.Join(home, "missing")}, 2},
	} {
		var stderr bytes.Buffer
		code := run(context.Background(), append(slices.Clone(base), tt.dirs...), env(vars), strings.NewReader(""), io.Discard, &stderr)
		if code != tt.code {
			t.Errorf("dirs %q: exit %d, want %d\n%s", tt.dirs, code, tt.code, stderr.String())
		}
	}
}

// TestFromBundle: only what follows "--" changes, and only exact
// placeholders are dropped.
func TestFromBundle(t *testing.T) {
	args, getenv := fromBundle([]string{"--max-wait", "45s", "--", "/a", "${user_config.x}", "/b ${user_config.y}"},
		env(map[string]string{"A": "${user_config.a}", "B": "x${user_config.b}", "C": "c"}))
	want := []string{"--max-wait", "45s", "--allow-dir", "/a", "--allow-dir", "/b ${user_config.y}"}
	if !slices.Equal(args, want) {
		t.Errorf("args %q, want %q", args, want)
	}
	if getenv("A") != "" || getenv("B") != "x${user_config.b}" || getenv("C") != "c" {
		t.Errorf("env A=%q B=%q C=%q", getenv("A"), getenv("B"), getenv("C"))
	}
}

// TestVersionShowsCommit: --version prints the version and the commit
// injected at build time.
func TestVersionShowsCommit(t *testing.T) {
	oldVersion, oldCommit := version, commit
	defer func() { version, commit = oldVersion, oldCommit }()
	version, commit = "1.2.3", "0123456789abcdef0123"
	code, out, _ := runCmd(t, nil, "--version")
	if code != 0 || out != "fal-video-mcp 1.2.3 (commit 0123456789ab)\n" {
		t.Errorf("exit %d: %q", code, out)
	}
}
