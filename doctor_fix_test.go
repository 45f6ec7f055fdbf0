package main

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// TestDoctorKeyFixesWorkFromHere: the fixes doctor gives for a missing
// key are commands that work as they stand, from a shell without FAL_KEY
// (the case that made doctor say so): run as printed — the key given on
// the line — they write a client entry that carries the key, and doctor
// then finds it.
func TestDoctorKeyFixesWorkFromHere(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the fixes are PowerShell lines on Windows")
	}
	home, vars := fakeHome(t)
	args := []string{"doctor", "--output-dir", home, "--state-dir", filepath.Join(home, "state")}
	// runFix runs a fix as a shell would: VAR=value assignments first, then
	// this program and its arguments.
	runFix := func(fix string) {
		t.Helper()
		m := regexp.MustCompile("`([^`]+)`").FindStringSubmatch(fix)
		if m == nil {
			t.Fatalf("the fix %q is no command", fix)
		}
		words := shellWords(t, m[1])
		env := map[string]string{}
		for k, v := range vars {
			env[k] = v
		}
		for len(words) > 0 && strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "-") {
			k, v, _ := strings.Cut(words[0], "=")
			env[k] = v
			words = words[1:]
		}
		if len(words) < 2 || !strings.Contains(filepath.Base(words[0]), "fal-video-mcp") && words[0] != selfPath(t) {
			t.Fatalf("the fix %q does not run this program", m[1])
		}
		if code, out, errOut := runCmd(t, env, words[1:]...); code != 0 {
			t.Fatalf("the fix %q fails from here: exit %d\n%s%s", m[1], code, out, errOut)
		}
	}
	fixOf := func(out, name string) string {
		t.Helper()
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, name+":") {
				if _, fix, ok := strings.Cut(line, " — fix: "); ok {
					return fix
				}
			}
		}
		t.Fatalf("no fix for %s:\n%s", name, out)
		return ""
	}

	// No key anywhere: the fal key check fails; its fix writes an entry
	// with the key.
	_, out, _ := runCmd(t, vars, args...)
	runFix(fixOf(out, "fal key"))
	code, out, _ := runCmd(t, vars, args...)
	if lines := doctorLines(t, out); lines["fal key"] != "ok" {
		t.Errorf("after the fix, doctor: exit %d\n%s", code, out)
	}

	// An entry without a key: its warning's fix gives it one.
	if code, _, errOut := runCmd(t, vars, "config", "cursor", "--write"); code != 0 {
		t.Fatal(errOut)
	}
	file := filepath.Join(home, ".cursor", "mcp.json")
	_, out, _ = runCmd(t, vars, args...)
	runFix(fixOf(out, "Cursor ("+file+") fal-video"))
	b, _ := os.ReadFile(file)
	if !strings.Contains(string(b), `"FAL_KEY"`) {
		t.Errorf("after the fix, %s has no key:\n%s", file, b)
	}
	_, out, _ = runCmd(t, vars, args...)
	if lines := doctorLines(t, out); lines["Cursor ("+file+") fal-video"] != "ok" {
		t.Errorf("after the fix, doctor:\n%s", out)
	}
}
