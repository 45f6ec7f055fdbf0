package localfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// OutputDir is the folder job outputs are saved into. Nothing is written
// outside it and nothing in it is overwritten.
type OutputDir struct {
	dir string
}

// NewOutputDir uses dir for outputs; it is created at the first save.
func NewOutputDir(dir string) (*OutputDir, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("output folder %q must be an absolute path", dir)
	}
	return &OutputDir{dir: filepath.Clean(dir)}, nil
}

// Dir is the folder, resolved when it exists.
func (o *OutputDir) Dir() string {
	if real, err := filepath.EvalSymlinks(o.dir); err == nil {
		return real
	}
	return o.dir
}

// SafeName reduces s to letters, digits, '-', '_' and '.', with no leading
// dot, at most max characters; "" when nothing is left.
func SafeName(s string, max int) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == '.' && b.Len() > 0:
			b.WriteRune(r)
		default:
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "_") {
				b.WriteByte('_')
			}
		}
	}
	out := strings.Trim(b.String(), "._")
	if len(out) > max {
		out = out[:max]
	}
	return out
}

// Save streams r into the folder as "<base>.<ext>" — or "<base>-2.<ext>"
// and so on when the name is taken. It writes to a temporary file first and
// links it into place only when complete, so a reader never sees half a
// file and an existing file is never replaced. base and ext are made safe
// here, whatever they contain.
func (o *OutputDir) Save(base, ext string, r io.Reader) (string, error) {
	base, ext = SafeName(base, 120), SafeName(ext, 8)
	if base == "" {
		base = "output"
	}
	if ext != "" {
		ext = "." + ext
	}
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return "", fmt.Errorf("output folder: %w", err)
	}
	dir, err := filepath.EvalSymlinks(o.dir)
	if err != nil {
		return "", fmt.Errorf("output folder: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".fal-video-mcp-*.part")
	if err != nil {
		return "", fmt.Errorf("saving output: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		return "", fmt.Errorf("saving output: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", fmt.Errorf("saving output: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("saving output: %w", err)
	}
	for n := 1; n < 10000; n++ {
		name := base + ext
		if n > 1 {
			name = fmt.Sprintf("%s-%d%s", base, n, ext)
		}
		final := filepath.Join(dir, name)
		if filepath.Dir(final) != dir {
			return "", fmt.Errorf("saving output: unsafe name %q", name) // cannot happen after SafeName
		}
		// A hard link fails if the name exists: no overwrite, no race.
		err := os.Link(tmp.Name(), final)
		if err == nil {
			return final, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("saving output: %w", err)
		}
	}
	return "", fmt.Errorf("saving output: no free name for %s%s", base, ext)
}
