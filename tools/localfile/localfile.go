// Package localfile lets the server read and write the user's files
// safely: it reads a local file only inside the folders the user allowed
// (symlinks resolved, special files refused, size capped) and writes job
// outputs only inside the output folder, under safe names, never
// overwriting. Refusals never reveal whether a file outside the allowed
// folders exists.
package localfile

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// Policy decides which local files may be read. It is safe for concurrent
// use; folders can be added while serving (the client's MCP roots).
type Policy struct {
	mu      sync.RWMutex
	allowed []string // resolved absolute folders
	maxSize int64
}

// NewPolicy returns a policy allowing the given folders (each resolved,
// symlinks included) and files up to maxSize bytes.
func NewPolicy(dirs []string, maxSize int64) (*Policy, error) {
	p := &Policy{maxSize: maxSize}
	for _, d := range dirs {
		if err := p.Allow(d); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Allow adds a folder, which must exist.
func (p *Policy) Allow(dir string) error {
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("allowed folder %q must be an absolute path", dir)
	}
	real, err := filepath.EvalSymlinks(filepath.Clean(dir))
	if err != nil {
		return fmt.Errorf("allowed folder %q: %w", dir, err)
	}
	if fi, err := os.Stat(real); err != nil || !fi.IsDir() {
		return fmt.Errorf("allowed folder %q is not a directory", dir)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range p.allowed {
		if a == real {
			return nil
		}
	}
	p.allowed = append(p.allowed, real)
	return nil
}

// With returns a policy that also allows dirs (the client's MCP roots,
// say); folders that do not exist are left out.
func (p *Policy) With(dirs []string) *Policy {
	q := &Policy{allowed: p.Allowed(), maxSize: p.maxSize}
	for _, d := range dirs {
		_ = q.Allow(d)
	}
	return q
}

// MaxSize is the largest file the policy lets through (--max-upload-size);
// 0: no limit (and for no policy).
func (p *Policy) MaxSize() int64 {
	if p == nil {
		return 0
	}
	return p.maxSize
}

// Allowed returns the allowed folders, resolved.
func (p *Policy) Allowed() []string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return append([]string(nil), p.allowed...)
}

// IsLocal reports whether s names a local file (an absolute path or a
// file: URL) rather than something to pass through (https URL, data URI).
func IsLocal(s string) bool {
	return strings.HasPrefix(s, "/") || strings.HasPrefix(strings.ToLower(s), "file:") ||
		runtime.GOOS == "windows" && filepath.IsAbs(s)
}

// ErrRefused is matched by every refusal of a path (errors.Is).
var ErrRefused = errors.New("local file refused")

// RefusedError says a path may not be read. Its text is the same for
// every path that is missing or leads outside the allowed folders; only a
// file that is really inside them (a folder, a fifo, empty, too large)
// gets a reason of its own.
type RefusedError struct {
	Path   string
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("local file %q refused: %s", e.Path, e.Reason)
}
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// File is an opened local file, ready to upload.
type File struct {
	*os.File
	Path        string // resolved
	Size        int64
	ContentType string
	ModTime     int64 // unix nanoseconds, for the upload cache
}

// Open checks name against the policy and opens it for reading. name is an
// absolute path or a file: URL without a host.
func (p *Policy) Open(name string) (*File, error) {
	path, err := pathOf(name)
	if err != nil {
		return nil, &RefusedError{Path: name, Reason: err.Error()}
	}
	allowed := p.Allowed()
	if len(allowed) == 0 {
		return nil, &RefusedError{Path: name, Reason: "no folder is allowed for local files: start the server with --allow-dir /some/folder " +
			"(or set FAL_VIDEO_MCP_ALLOW_DIRS), or use a client that shares its MCP roots; or pass an https URL instead"}
	}
	// One refusal, in the same words, for a path outside the allowed
	// folders, a missing file, a link that leads out, and a name that
	// cannot be resolved: a path that reaches outside through a symlinked
	// folder must not tell whether a file exists there.
	outside := &RefusedError{Path: name, Reason: "there is no readable file at this path inside the allowed folders (" +
		strings.Join(allowed, ", ") + "); check the path, or ask the user to allow its folder"}
	// The lexical path must be inside first: nothing outside is even
	// looked at.
	if !within(allowed, path) {
		return nil, outside
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, outside
	}
	if !within(allowed, real) || systemPath(real) {
		return nil, outside // a symlink pointing out
	}
	// O_NONBLOCK: opening a fifo must not hang; O_NOFOLLOW: the last
	// component cannot have been swapped for a symlink since the check.
	f, err := os.OpenFile(real, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, outside
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, &RefusedError{Path: name, Reason: "only regular files can be uploaded (not directories, devices, fifos or sockets)"}
	}
	if again, ok := openedPath(f); ok && !within(allowed, again) {
		f.Close()
		return nil, outside // a parent folder was swapped while we looked
	}
	if fi.Size() == 0 {
		f.Close()
		return nil, &RefusedError{Path: name, Reason: "the file is empty"}
	}
	if p.maxSize > 0 && fi.Size() > p.maxSize {
		f.Close()
		return nil, &RefusedError{Path: name, Reason: fmt.Sprintf("the file has %d bytes; the limit is %d (--max-upload-size)", fi.Size(), p.maxSize)}
	}
	ct, err := DetectContentType(f, real)
	if err != nil {
		f.Close()
		return nil, &RefusedError{Path: name, Reason: "cannot read it: " + err.Error()}
	}
	return &File{File: f, Path: real, Size: fi.Size(), ContentType: ct, ModTime: fi.ModTime().UnixNano()}, nil
}

// pathOf turns an absolute path or a file: URL into a clean absolute path.
func pathOf(name string) (string, error) {
	if strings.HasPrefix(strings.ToLower(name), "file:") {
		u, err := url.Parse(name)
		if err != nil {
			return "", fmt.Errorf("not a valid file URL")
		}
		if u.Host != "" && u.Host != "localhost" {
			return "", fmt.Errorf("file URLs with a host (%q) are not local", u.Host)
		}
		if u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
			return "", fmt.Errorf("a file URL must be file:///absolute/path")
		}
		name = u.Path // percent-decoded
	}
	if strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("the path contains a NUL byte")
	}
	if !filepath.IsAbs(name) {
		return "", fmt.Errorf("local paths must be absolute")
	}
	return filepath.Clean(name), nil
}

// within reports whether path is one of dirs or below one.
func within(dirs []string, path string) bool {
	for _, d := range dirs {
		if path == d || strings.HasPrefix(path, strings.TrimSuffix(d, string(filepath.Separator))+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// systemPath refuses kernel pseudo-file systems even inside an allowed
// folder (someone allowing "/" still cannot upload /proc/self/environ).
func systemPath(p string) bool {
	for _, sys := range []string{"/proc", "/sys", "/dev"} {
		if p == sys || strings.HasPrefix(p, sys+"/") {
			return true
		}
	}
	return false
}

// readerAtStart rewinds f for reading from the start.
func readerAtStart(f *os.File) (io.Reader, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return f, nil
}

// TooBroad says why dir is too broad a folder to share, or "" when it is
// not: the filesystem root, the home folder itself, or a folder that
// contains the home folder (its parent, /home, /Users) would open every
// file the user has (keys, tokens, mail). home is the user's home folder
// ("" when unknown). Both are resolved (symlinks followed) first, so a
// link to / or to /home is seen for what it is.
func TooBroad(dir, home string) string {
	dir = resolvedPath(dir)
	switch {
	case filepath.Dir(dir) == dir:
		return "it is a filesystem root"
	case home == "":
		return ""
	}
	home = resolvedPath(home)
	switch {
	case dir == home:
		return "it is the home folder itself"
	case within([]string{dir}, home):
		return "it contains the home folder (" + home + ")"
	}
	return ""
}

// resolvedPath is p cleaned, its symlinks resolved when it exists.
func resolvedPath(p string) string {
	p = filepath.Clean(filepath.FromSlash(p))
	if real, err := filepath.EvalSymlinks(p); err == nil {
		return real
	}
	return p
}
