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
// Partial files a killed download left there are removed (CleanPartials).
func NewOutputDir(dir string) (*OutputDir, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("output folder %q must be an absolute path", dir)
	}
	o := &OutputDir{dir: filepath.Clean(dir)}
	_, _ = o.CleanPartials() // best effort: a leftover costs disk space, nothing else
	return o, nil
}

// Partial files are named ".fal-video-mcp-<random>.part" while a save is
// under way; the saving process holds a lock on the file until it is done.
const (
	partialPrefix = ".fal-video-mcp-"
	partialSuffix = ".part"
)

func isPartial(name string) bool {
	return strings.HasPrefix(name, partialPrefix) && strings.HasSuffix(name, partialSuffix) &&
		len(name) > len(partialPrefix)+len(partialSuffix)
}

// CleanPartials removes the partial files of saves that will never finish
// (their process was killed) and returns how many it removed. A partial
// file another live process is still writing is locked by it and left
// alone (on systems without file locks: any partial file older than an
// hour is removed).
func (o *OutputDir) CleanPartials() (int, error) {
	dir := o.Dir()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("output folder: %w", err)
	}
	removed := 0
	var firstErr error
	for _, e := range entries {
		if !isPartial(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		ok, err := removeAbandoned(path)
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("removing partial file %s: %w", path, err)
		}
		if ok {
			removed++
		}
	}
	return removed, firstErr
}

// removeAbandoned removes the partial file at path if no live process
// holds its lock, and reports whether it did.
func removeAbandoned(path string) (bool, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return false, nil // gone already, or a symlink: not ours
	}
	defer f.Close()
	if !tryLock(f) || !stillAt(f, path) {
		return false, nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	return true, nil
}

// stillAt reports whether path still names the open file f.
func stillAt(f *os.File, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Lstat(path)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// createPartial creates a locked partial file in dir. A cleaner in
// another process may remove a partial file between its creation and its
// lock; that one is dropped and another created.
func createPartial(dir string) (*os.File, error) {
	for range 3 {
		f, err := os.CreateTemp(dir, partialPrefix+"*"+partialSuffix) // mode 0600: never executable
		if err != nil {
			return nil, err
		}
		if err := lock(f); err != nil {
			f.Close()
			os.Remove(f.Name())
			return nil, err
		}
		if stillAt(f, f.Name()) {
			return f, nil
		}
		f.Close()
	}
	return nil, errors.New("the partial file keeps disappearing")
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
// and so on when the name is taken. It writes to a partial file first and
// links it into place only when complete, so a reader never sees half a
// file and an existing file is never replaced; when r fails (a dropped
// connection, a size cap) nothing is left behind. base and ext are made
// safe here, whatever they contain. Saved files have mode 0600: never
// executable.
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
	tmp, err := createPartial(dir)
	if err != nil {
		return "", fmt.Errorf("saving output: %w", err)
	}
	// Kept open, and so locked, until it is linked into place or given up.
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	if _, err := io.Copy(tmp, r); err != nil {
		return "", fmt.Errorf("saving output: %w", err)
	}
	if err := tmp.Sync(); err != nil {
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
