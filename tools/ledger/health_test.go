package ledger_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/tools/ledger"
)

// TestHealth: the ledger is healthy while its file is the one Open
// opened; deleted, or replaced by another file (a copy of it included),
// it says so, naming the file.
func TestHealth(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, path string)
		want   string
	}{
		{"untouched", func(*testing.T, string) {}, ""},
		{"deleted", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}, "was deleted"},
		{"replaced by a copy", func(t *testing.T, path string) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			tmp := path + ".new"
			if err := os.WriteFile(tmp, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}, "was replaced"},
		{"state folder deleted", func(t *testing.T, path string) {
			if err := os.RemoveAll(filepath.Dir(path)); err != nil {
				t.Fatal(err)
			}
		}, "was deleted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ledger.Open(context.Background(), filepath.Join(t.TempDir(), "state"))
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			tt.change(t, l.Path())
			err = l.Health()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Health = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), l.Path())):
				t.Errorf("Health = %v, want %q and the path", err, tt.want)
			}
		})
	}
}
