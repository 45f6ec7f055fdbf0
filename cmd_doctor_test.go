package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/schemas"
)

// doctorLines maps each check's name to its status, from doctor's output.
func doctorLines(t *testing.T, out string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		status, rest, ok := strings.Cut(line, "  ")
		name, _, ok2 := strings.Cut(strings.TrimSpace(rest), ": ")
		if !ok || !ok2 {
			continue
		}
		got[name] = strings.TrimSpace(status)
	}
	return got
}

// TestDoctor: every check passes in a good setup and fails in a bad one,
// --online against the emulator (401 is a bad key, 404 a good one), and the
// exit code says whether any check failed.
func TestDoctor(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{Key: "good-id:good-secret"})
	defer emu.Close()
	home, vars := fakeHome(t)
	vars["FAL_QUEUE_URL"], vars["FAL_REST_URL"] = emu.QueueURL, emu.RestURL
	videos, out, state := filepath.Join(home, "videos"), filepath.Join(home, "out"), filepath.Join(home, "state")
	for _, d := range []string{videos, out} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	notDir := filepath.Join(home, "a-file")
	if err := os.WriteFile(notDir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A Claude Desktop file that mentions the server beside another one.
	desktop := filepath.Join(vars["XDG_CONFIG_HOME"], "Claude", "claude_desktop_config.json")
	writeClientFile := func(command string, env map[string]string) {
		t.Helper()
		doc := map[string]any{"mcpServers": map[string]any{
			"other":     map[string]any{"command": "/bin/sh"},
			"fal-video": serverEntry{Command: command, Args: []string{"--allow-dir", videos}, Env: env},
		}}
		b, _ := json.Marshal(doc)
		if err := os.MkdirAll(filepath.Dir(desktop), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(desktop, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	installed := filepath.Join(home, "bin", "fal-video-mcp")
	if err := os.MkdirAll(filepath.Dir(installed), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(installed, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	clientCheck := "Claude Desktop (" + desktop + ") fal-video"

	good := []string{"doctor", "--online", "--allow-dir", videos, "--output-dir", out, "--state-dir", state}
	writeClientFile(installed, map[string]string{"FAL_KEY": "good-id:good-secret"})
	vars["FAL_KEY"] = "good-id:good-secret"
	code, stdout, stderr := runCmd(t, vars, good...)
	lines := doctorLines(t, stdout)
	want := map[string]string{"fal key": "ok", "fal accepts the key": "ok", "state folder": "ok",
		"allowed folder " + videos: "ok", "output folder": "ok", clientCheck: "ok", "client roots": "ok"}
	for name, status := range want {
		if lines[name] != status {
			t.Errorf("good setup: %q is %q, want %q\n%s", name, lines[name], status, stdout)
		}
	}
	if code != 0 || len(lines) != len(want) {
		t.Errorf("good setup: exit %d, %d checks, want 0 and %d\n%s%s", code, len(lines), len(want), stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(state, "jobs.db")); err != nil {
		t.Errorf("the ledger was not opened: %v", err)
	}
	// --online sent exactly one status request, for the impossible job.
	var statuses []faltest.Request
	for _, r := range emu.Requests() {
		if r.Host == "queue" {
			statuses = append(statuses, r)
		}
	}
	if len(statuses) != 1 || statuses[0].Op != faltest.OpStatus || statuses[0].RequestID != doctorRequestID || statuses[0].Status != 404 {
		t.Errorf("requests to the queue: %+v, want one status of %s answered 404", statuses, doctorRequestID)
	}

	// Without a key in the environment, the key of the client's entry is
	// the one checked.
	delete(vars, "FAL_KEY")
	emu.ResetRequests()
	code, stdout, _ = runCmd(t, vars, good...)
	if lines := doctorLines(t, stdout); code != 0 || lines["fal key"] != "ok" || lines["fal accepts the key"] != "ok" ||
		!strings.Contains(stdout, "the entry "+clientCheck+" sets one") {
		t.Errorf("key in the client entry only: exit %d\n%s", code, stdout)
	}
	if n := len(emu.Requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}

	// Each check fails once.
	tests := []struct {
		name      string
		check     string
		emptyPath bool
		setup     func() []string
	}{
		{"no key", "fal key", false, func() []string {
			delete(vars, "FAL_KEY")
			writeClientFile(installed, nil)
			return good
		}},
		{"bad key", "fal accepts the key", false, func() []string { vars["FAL_KEY"] = "good-id:wrong"; return good }},
		{"state folder under a file", "state folder", false, func() []string {
			return []string{"doctor", "--allow-dir", videos, "--output-dir", out, "--state-dir", filepath.Join(notDir, "state")}
		}},
		{"missing allowed folder", "allowed folder " + filepath.Join(home, "gone"), false, func() []string {
			return []string{"doctor", "--allow-dir", filepath.Join(home, "gone"), "--output-dir", out, "--state-dir", state}
		}},
		{"allowed folder is a file", "allowed folder " + notDir, false, func() []string {
			return []string{"doctor", "--allow-dir", notDir, "--output-dir", out, "--state-dir", state}
		}},
		{"output folder is a file", "output folder", false, func() []string {
			return []string{"doctor", "--allow-dir", videos, "--output-dir", notDir, "--state-dir", state}
		}},
		{"output folder cannot be created", "output folder", false, func() []string {
			return []string{"doctor", "--allow-dir", videos, "--output-dir", filepath.Join(notDir, "out"), "--state-dir", state}
		}},
		{"client runs a binary that is gone", clientCheck, false, func() []string {
			writeClientFile(filepath.Join(home, "old", "fal-video-mcp"), map[string]string{"FAL_KEY": "good-id:good-secret"})
			return good
		}},
		{"client runs a name not on the PATH", clientCheck, true, func() []string {
			writeClientFile("fal-video-mcp", map[string]string{"FAL_KEY": "good-id:good-secret"})
			return good
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.emptyPath {
				t.Setenv("PATH", home)
			}
			vars["FAL_KEY"] = "good-id:good-secret"
			writeClientFile(installed, map[string]string{"FAL_KEY": "good-id:good-secret"})
			args := tt.setup()
			code, stdout, stderr := runCmd(t, vars, args...)
			lines := doctorLines(t, stdout)
			if lines[tt.check] != "FAIL" || code != 1 || len(lines) != len(want) {
				t.Errorf("exit %d, %q is %q; want 1 and FAIL\n%s%s", code, tt.check, lines[tt.check], stdout, stderr)
			}
			for name, status := range lines {
				if status == "FAIL" && name != tt.check {
					t.Errorf("%q failed too\n%s", name, stdout)
				}
			}
			for _, line := range strings.Split(stdout, "\n") {
				if strings.HasPrefix(line, "FAIL") && !strings.Contains(line, "fix: ") {
					t.Errorf("a failed check without a fix: %s", line)
				}
			}
			if strings.Contains(stdout+stderr, "good-secret") || strings.Contains(stdout+stderr, "wrong") {
				t.Errorf("the key was printed:\n%s%s", stdout, stderr)
			}
		})
	}
}

// TestDoctorWarnings: what does not stop the server is a warning, and the
// exit code stays 0.
func TestDoctorWarnings(t *testing.T) {
	home, vars := fakeHome(t)
	vars["FAL_KEY"] = "id:secret"
	args := []string{"doctor", "--output-dir", home, "--state-dir", filepath.Join(home, "state")}
	code, stdout, _ := runCmd(t, vars, args...)
	lines := doctorLines(t, stdout)
	if code != 0 || lines["allowed folders"] != "warn" || lines["client configuration"] != "warn" || lines["fal accepts the key"] != "skip" {
		t.Errorf("exit %d:\n%s", code, stdout)
	}
	// An entry without a key in its env is a warning.
	file := filepath.Join(home, ".cursor", "mcp.json")
	if code, _, errOut := runCmd(t, vars, "config", "cursor", "--write"); code != 0 {
		t.Fatal(errOut)
	}
	code, stdout, _ = runCmd(t, vars, args...)
	if lines := doctorLines(t, stdout); code != 0 || lines["Cursor ("+file+") fal-video"] != "warn" {
		t.Errorf("entry without a key: exit %d\n%s", code, stdout)
	}
	// Claude Code's project-scope entries are looked at too.
	claudeJSON := filepath.Join(home, ".claude.json")
	gone := filepath.Join(home, "gone", "fal-video-mcp")
	if err := os.WriteFile(claudeJSON, []byte(`{"projects": {"/work/p": {"mcpServers": {"fv": {"command": "`+gone+`", "args": []}}}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = runCmd(t, vars, args...)
	if lines := doctorLines(t, stdout); code != 1 || lines["Claude Code ("+claudeJSON+") project /work/p fv"] != "FAIL" {
		t.Errorf("project entry running a missing binary: exit %d\n%s", code, stdout)
	}
	// Bad server flags are refused before any check.
	if code, _, errOut := runCmd(t, vars, "doctor", "--nope"); code != 2 || !strings.Contains(errOut, "-nope") {
		t.Errorf("doctor --nope: exit %d, %s", code, errOut)
	}
}

// TestDoctorEndpointIsInTheCatalog: --online asks about an endpoint the
// server serves.
func TestDoctorEndpointIsInTheCatalog(t *testing.T) {
	for _, row := range schemas.Catalog {
		if row.ID == doctorEndpoint {
			return
		}
	}
	t.Errorf("%s is not in the catalog", doctorEndpoint)
}

// TestDoctorBroadFolders: an --allow-dir that is the filesystem root, the
// home folder or a folder containing it is the user's own choice, so the
// server takes it, but doctor warns that every file of the user can then
// be uploaded; and doctor says which client roots the server ignores.
func TestDoctorBroadFolders(t *testing.T) {
	home, vars := fakeHome(t)
	vars["FAL_KEY"] = "id:secret"
	videos := filepath.Join(home, "videos")
	if err := os.MkdirAll(videos, 0o755); err != nil {
		t.Fatal(err)
	}
	toParent := filepath.Join(t.TempDir(), "people")
	if err := os.Symlink(filepath.Dir(home), toParent); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dir, status, says string
	}{
		{videos, "ok", "exists and can be read"},
		{home, "warn", "the home folder itself"},
		{filepath.Dir(home), "warn", "contains the home folder"},
		{toParent, "warn", "contains the home folder"},
		{"/", "warn", "filesystem root"},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			code, stdout, _ := runCmd(t, vars, "doctor", "--allow-dir", tt.dir, "--output-dir", home, "--state-dir", filepath.Join(home, "state"))
			lines := doctorLines(t, stdout)
			name := "allowed folder " + tt.dir
			if code != 0 || lines[name] != tt.status {
				t.Fatalf("exit %d, %q is %q, want %q:\n%s", code, name, lines[name], tt.status, stdout)
			}
			var line string
			for _, l := range strings.Split(stdout, "\n") {
				if strings.Contains(l, name+": ") {
					line = l
				}
			}
			if !strings.Contains(line, tt.says) {
				t.Errorf("the line does not say %q: %s", tt.says, line)
			}
		})
	}
	_, stdout, _ := runCmd(t, vars, "doctor", "--output-dir", home, "--state-dir", filepath.Join(home, "state"))
	if lines := doctorLines(t, stdout); lines["client roots"] != "ok" || !strings.Contains(stdout, "contains the home folder") {
		t.Errorf("doctor does not say which client roots are ignored:\n%s", stdout)
	}
	_, stdout, _ = runCmd(t, vars, "doctor", "--no-roots", "--output-dir", home, "--state-dir", filepath.Join(home, "state"))
	if lines := doctorLines(t, stdout); lines["client roots"] != "skip" {
		t.Errorf("--no-roots: client roots are not skipped:\n%s", stdout)
	}
}
