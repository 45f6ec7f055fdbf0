package localfile_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/tools/localfile"
)

// TestTooBroad: the filesystem root, the home folder and any folder that
// contains it are too broad to share, directly or through a symlink;
// folders inside home or beside it are not.
func TestTooBroad(t *testing.T) {
	base := t.TempDir()
	home := filepath.Join(base, "people", "ann")
	inside := filepath.Join(home, "videos")
	beside := filepath.Join(base, "people", "bob")
	for _, d := range []string{inside, beside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(filepath.Join(base, "people"), link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dir, home, want string
	}{
		{"/", home, "filesystem root"},
		{"/", "", "filesystem root"},
		{home, home, "home folder itself"},
		{home + "/", home, "home folder itself"},
		{filepath.Join(base, "people"), home, "contains the home folder"},
		{base, home, "contains the home folder"},
		{link, home, "contains the home folder"},
		{inside + "/../..", home, "contains the home folder"},
		{inside, home, ""},
		{beside, home, ""},
		{home + "-other", home, ""},
		{filepath.Join(base, "people"), "", ""},
	}
	for _, tt := range tests {
		got := localfile.TooBroad(tt.dir, tt.home)
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("TooBroad(%q, %q) = %q, want %q", tt.dir, tt.home, got, tt.want)
		}
	}
}
