package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// makeCmd runs a make target of the repository's Makefile in the test's
// environment (Go's settings kept, no fal key) with env added.
func makeCmd(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	cmd := exec.Command("make", append([]string{"-s"}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FAL_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// TestMakeInstall: make install puts the binary in GOBIN, or else in the
// first GOPATH entry's bin, and prints its absolute path for the client
// configuration.
func TestMakeInstall(t *testing.T) {
	gobin, gopath := t.TempDir(), t.TempDir()
	modcache, _ := exec.Command("go", "env", "GOMODCACHE").Output() // a new GOPATH keeps the module cache
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{[]string{"GOBIN=" + gobin}, filepath.Join(gobin, "fal-video-mcp")},
		{[]string{"GOBIN=", "GOMODCACHE=" + strings.TrimSpace(string(modcache)), "GOPATH=" + gopath + string(filepath.ListSeparator) + t.TempDir()}, filepath.Join(gopath, "bin", "fal-video-mcp")},
	} {
		out, err := makeCmd(t, tc.env, "install").CombinedOutput()
		if err != nil {
			t.Fatalf("make install (%v): %v\n%s", tc.env, err, out)
		}
		dir, _ := filepath.EvalSymlinks(filepath.Dir(tc.want)) // the temporary folder may be behind a symlink
		want := filepath.Join(dir, "fal-video-mcp")
		if !strings.Contains(string(out), "installed "+want+"\n") || !strings.Contains(string(out), "absolute path") {
			t.Errorf("make install (%v) does not print the absolute path %s:\n%s", tc.env, want, out)
		}
		fi, err := os.Stat(want)
		if err != nil || fi.Mode()&0o111 == 0 {
			t.Errorf("no executable at %s: %v", want, err)
		}
	}
}

// TestMakeRun: make run says on stderr, before the server starts, that
// clients start the server themselves, how to stop it and where make
// install comes in; at end of input the server stops.
func TestMakeRun(t *testing.T) {
	cmd := makeCmd(t, nil, "run", "BIN="+filepath.Join(t.TempDir(), "fal-video-mcp"))
	cmd.Stdin = strings.NewReader("")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("make run: %v\n%s", err, stderr.String())
	}
	log := stderr.String()
	for _, want := range []string{"MCP server over stdio", "starts it itself", "make install", "absolute path", "Ctrl-D", "Ctrl-C", "dry-run mode"} {
		if !strings.Contains(log, want) {
			t.Errorf("make run does not say %q:\n%s", want, log)
		}
	}
	if i := strings.Index(log, "dry run: fal is emulated"); i < 0 || i < strings.Index(log, "Ctrl-C") {
		t.Errorf("the server did not start after the message:\n%s", log)
	}
	if stdout.Len() != 0 {
		t.Errorf("make run wrote to stdout, the MCP channel: %q", stdout.String())
	}
}
