package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
		// One version everywhere: the VERSION file's, and the commit once.
		v, err := exec.Command(want, "--version").Output()
		if m := regexp.MustCompile(`^fal-video-mcp (\S+) \(commit [0-9a-f]{12}\)\n$`).FindStringSubmatch(string(v)); err != nil || m == nil || m[1] != fileVersion(t) {
			t.Errorf("the installed binary's --version = %q (%v), want version %s (the VERSION file) and the commit", v, err, fileVersion(t))
		}
	}
}

// TestMakeTestRaceFallback: make test runs with -race when cgo has a C
// compiler, and otherwise says it runs the tests without -race, why, and
// how to get a compiler — rather than failing with "-race requires cgo".
func TestMakeTestRaceFallback(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
	}{
		{"no compiler", []string{"CC=/nonexistent/cc"}},
		{"cgo off", []string{"CGO_ENABLED=0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := makeCmd(t, tc.env, "test-flags").CombinedOutput()
			if err != nil {
				t.Fatalf("make test-flags: %v\n%s", err, out)
			}
			for _, want := range []string{"without -race", "C compiler", "apt install gcc"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("make test without a compiler does not say %q:\n%s", want, out)
				}
			}
		})
	}
	if cc, _ := exec.Command("go", "env", "CC").Output(); len(cc) > 0 {
		if _, err := exec.LookPath(strings.TrimSpace(string(cc))); err != nil {
			return
		}
	}
	out, err := makeCmd(t, nil, "test-flags").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "with -race") || strings.Contains(string(out), "without") {
		t.Errorf("make test with a compiler: %v\n%s", err, out)
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
