package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestConfigWriteTouchesOnlyItsFile: config --write updates a symlinked
// file at its target and keeps the link; it reads only a regular file of
// at most 1 MiB (a FIFO, a device and a larger file are refused, untouched,
// without hanging); a file written with the key is 0600 whatever its mode
// was; and a write that would change nothing writes nothing.
func TestConfigWriteTouchesOnlyItsFile(t *testing.T) {
	const key = "key-id:key-secret-5678"
	type setup func(t *testing.T, dir string) (file string)
	regular := func(mode os.FileMode, content string) setup {
		return func(t *testing.T, dir string) string {
			f := filepath.Join(dir, "mcp.json")
			if err := os.WriteFile(f, []byte(content), mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(f, mode); err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	tests := []struct {
		name     string
		setup    setup
		args     []string
		refused  string // the refusal's words; "" when it is written
		mode     os.FileMode
		checkOut func(t *testing.T, dir, file, out string)
	}{
		{name: "symlinked file: updated at its target", setup: func(t *testing.T, dir string) string {
			real := filepath.Join(dir, "dotfiles", "cursor.json")
			if err := os.MkdirAll(filepath.Dir(real), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(real, []byte(`{"mcpServers": {"other": {"command": "/bin/sh"}}}`), 0o600); err != nil {
				t.Fatal(err)
			}
			link := filepath.Join(dir, "mcp.json")
			if err := os.Symlink(real, link); err != nil {
				t.Fatal(err)
			}
			return link
		}, mode: 0o600, checkOut: func(t *testing.T, dir, file, out string) {
			real := filepath.Join(dir, "dotfiles", "cursor.json")
			if fi, err := os.Lstat(file); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Errorf("the link was replaced by a plain file (%v)", err)
			}
			b, _ := os.ReadFile(real)
			if !strings.Contains(string(b), `"fal-video"`) || !strings.Contains(string(b), `"other"`) {
				t.Errorf("the link's target was not updated: %s", b)
			}
			if !strings.Contains(out, real) {
				t.Errorf("the output does not name the target %s: %s", real, out)
			}
			if backups, _ := filepath.Glob(real + ".bak-*"); len(backups) != 1 {
				t.Errorf("backups of the target: %q", backups)
			}
		}},
		{name: "FIFO", setup: func(t *testing.T, dir string) string {
			f := filepath.Join(dir, "mcp.json")
			if err := syscall.Mkfifo(f, 0o600); err != nil {
				t.Skip("no FIFOs here:", err)
			}
			t.Cleanup(func() { // release a reader that waits for a writer
				if w, err := os.OpenFile(f, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					w.Close()
				}
			})
			return f
		}, refused: "not a regular file"},
		{name: "symlink to nowhere", setup: func(t *testing.T, dir string) string {
			link := filepath.Join(dir, "mcp.json")
			if err := os.Symlink(filepath.Join(dir, "gone", "cursor.json"), link); err != nil {
				t.Fatal(err)
			}
			return link
		}, refused: "symbolic link that leads to no file"},
		{name: "larger than 1 MiB", setup: regular(0o600, `{"mcpServers": {}, "pad": "`+strings.Repeat("x", 1<<20)+`"}`),
			refused: "larger than 1 MiB"},
		{name: "include-key makes a 0644 file 0600", setup: regular(0o644, `{"mcpServers": {}}`),
			args: []string{"--include-key"}, mode: 0o600},
		{name: "include-key in a new file", setup: func(t *testing.T, dir string) string { return filepath.Join(dir, "new", "mcp.json") },
			args: []string{"--include-key"}, mode: 0o600},
		{name: "without the key, the mode stays", setup: regular(0o644, `{"mcpServers": {}}`), mode: 0o644},
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		tests = append(tests, struct {
			name     string
			setup    setup
			args     []string
			refused  string
			mode     os.FileMode
			checkOut func(t *testing.T, dir, file, out string)
		}{name: "a device", setup: func(*testing.T, string) string { return "/dev/zero" }, refused: "not a regular file"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, vars := fakeHome(t)
			vars["FAL_KEY"] = key
			dir := t.TempDir()
			file := tt.setup(t, dir)
			before, _ := os.Lstat(file)
			type result struct {
				code     int
				out, err string
			}
			done := make(chan result, 1)
			go func() {
				code, out, errOut := runCmd(t, vars, append([]string{"config", "cursor", "--write", "--file", file}, tt.args...)...)
				done <- result{code, out, errOut}
			}()
			var r result
			select {
			case r = <-done:
			case <-time.After(time.Minute): // a guard against a hang, not a measure
				t.Fatalf("config --write --file %s did not return", file)
			}
			if tt.refused != "" {
				if r.code != 2 || !strings.Contains(r.err, tt.refused) || !strings.Contains(r.err, file) {
					t.Fatalf("exit %d, stderr %q; want 2 and %q", r.code, r.err, tt.refused)
				}
				after, _ := os.Lstat(file)
				if before != nil && (after == nil || after.Mode() != before.Mode() || after.Size() != before.Size() || after.ModTime() != before.ModTime()) {
					t.Errorf("a refused file was changed")
				}
				if backups, _ := filepath.Glob(file + ".bak-*"); len(backups) != 0 {
					t.Errorf("backups of a refused file: %q", backups)
				}
				return
			}
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.err)
			}
			fi, err := os.Stat(file)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != tt.mode {
				t.Errorf("mode %v, want %v", fi.Mode().Perm(), tt.mode)
			}
			if tt.checkOut != nil {
				tt.checkOut(t, dir, file, r.out)
			}
		})
	}
}

// TestConfigWriteUnchanged: --write when the file already holds exactly
// this entry writes nothing, keeps no backup, and says so.
func TestConfigWriteUnchanged(t *testing.T) {
	home, vars := fakeHome(t)
	file := filepath.Join(home, "cursor.json")
	if code, _, errOut := runCmd(t, vars, "config", "cursor", "--write", "--file", file); code != 0 {
		t.Fatal(errOut)
	}
	before, _ := os.Stat(file)
	code, out, errOut := runCmd(t, vars, "config", "cursor", "--write", "--file", file)
	if code != 0 || !strings.Contains(out, "unchanged") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 0 and unchanged", code, out, errOut)
	}
	if backups, _ := filepath.Glob(file + ".bak-*"); len(backups) != 0 {
		t.Errorf("backups %q of a file that did not change", backups)
	}
	if after, _ := os.Stat(file); !os.SameFile(before, after) {
		t.Errorf("the file was replaced")
	}
}
