package main

import (
	"strings"
	"testing"
)

// TestVersionShowsCommitOnce: --version names the commit once — beside a
// release version, and not again when the version already carries it (a
// Go pseudo-version, or a version made from git describe).
func TestVersionShowsCommitOnce(t *testing.T) {
	oldVersion, oldCommit := version, commit
	defer func() { version, commit = oldVersion, oldCommit }()
	for _, tc := range []struct{ version, commit, want string }{
		{"0.1.0", "0123456789abcdef0123", "fal-video-mcp 0.1.0 (commit 0123456789ab)\n"},
		{"v0.0.0-20261203211739-0123456789ab", "0123456789abcdef0123", "fal-video-mcp v0.0.0-20261203211739-0123456789ab\n"},
		{"0123456-dirty", "0123456789abcdef0123", "fal-video-mcp 0123456-dirty\n"},
		{"v0.1.0-3-g0123456", "0123456789abcdef0123", "fal-video-mcp v0.1.0-3-g0123456\n"},
	} {
		version, commit = tc.version, tc.commit
		code, out, _ := runCmd(t, nil, "--version")
		if code != 0 || out != tc.want {
			t.Errorf("version %q commit %q: exit %d: %q, want %q", tc.version, tc.commit, code, out, tc.want)
		}
		if n := strings.Count(out, tc.commit[:7]); n != 1 {
			t.Errorf("version %q: --version names the commit %d times: %q", tc.version, n, out)
		}
	}
}
