package tools

import (
	"net"
	"strings"
	"testing"
)

// TestDeadDryRunOutput: an emulator file URL on loopback whose emulator
// is gone — not this process's, nothing listening — is a dead dry-run
// output; this process's own, a live one's, fal's and other URLs are not.
func TestDeadDryRunOutput(t *testing.T) {
	listening, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer listening.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := closed.Addr().String()
	closed.Close()
	_, gonePort, _ := net.SplitHostPort(gone)
	const file = "/files/346bbacf5f1ae74089283ee7/out_upscaled_video.mp4"
	live := []string{"http://127.0.0.1:4000"}
	for _, tc := range []struct {
		url  string
		dead bool
	}{
		{"http://" + gone + file, true},
		{"http://localhost:" + gonePort + file, true},
		{"http://127.0.0.1:4000" + file, false},               // this process's emulator
		{"http://" + listening.Addr().String() + file, false}, // another emulator, still there
		{"https://v3.fal.media" + file, false},
		{"http://" + gone + "/other/out.mp4", false},
		{"http://10.0.0.2:" + gonePort + file, false},
		{"not a url", false},
	} {
		if got := deadDryRunOutput(tc.url, live); got != tc.dead {
			t.Errorf("%s: dead = %v, want %v", tc.url, got, tc.dead)
		}
	}
	if !strings.Contains(deadDryRunMessage, "dry-run output of an earlier process") {
		t.Error(deadDryRunMessage)
	}
}
