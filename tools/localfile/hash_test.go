package localfile_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/fal-video-mcp/fal-video-mcp/tools/localfile"
)

// TestVerifiedRead: a file read again after it was hashed gives its bytes
// only when they are still the bytes hashed; otherwise the read that would
// finish fails with ErrChanged — even through io.ReadFull into a buffer of
// exactly the file's size, which keeps no error once the buffer is full —
// and a seek back to the start (a retried upload) hashes afresh.
func TestVerifiedRead(t *testing.T) {
	const v1 = "\x00\x00\x00\x18ftypisom first take"
	for _, c := range []struct {
		name    string
		change  func(path string) error
		changed bool
	}{
		{"unchanged", func(string) error { return nil }, false},
		{"same size, other bytes", func(p string) error { return os.WriteFile(p, []byte("\x00\x00\x00\x18ftypisom other take"), 0o600) }, true},
		{"shorter", func(p string) error { return os.Truncate(p, 10) }, true},
		{"longer: the bytes hashed are still all there", func(p string) error {
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteString(" and more")
			return err
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := write(t, filepath.Join(dir, "clip.mp4"), v1)
			p, err := localfile.NewPolicy([]string{dir}, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			f, err := p.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sum, err := f.Hash()
			want := sha256.Sum256([]byte(v1))
			if err != nil || sum != hex.EncodeToString(want[:]) {
				t.Fatalf("Hash = %s, %v; want %x", sum, err, want)
			}
			if err := c.change(path); err != nil {
				t.Fatal(err)
			}
			for attempt := range 2 { // the second: an upload retried from the start
				v := f.Verified(sum)
				if attempt == 1 {
					if _, err := v.Seek(0, io.SeekStart); err != nil {
						t.Fatal(err)
					}
				}
				buf := make([]byte, f.Size)
				_, err = io.ReadFull(iotest.OneByteReader(v), buf)
				if c.changed {
					if !errors.Is(err, localfile.ErrChanged) || v.Done() {
						t.Errorf("attempt %d: ReadFull = %v, Done %v; want ErrChanged", attempt, err, v.Done())
					}
					continue
				}
				if err != nil || string(buf) != v1 || !v.Done() {
					t.Errorf("attempt %d: ReadFull = %q, %v, Done %v; want the bytes hashed", attempt, buf, err, v.Done())
				}
				if _, err := f.Seek(0, io.SeekStart); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
