package localfile_test

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/tools/localfile"
)

func write(t *testing.T, path string, data string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOpenRefusals(t *testing.T) {
	root := t.TempDir()
	allowed := filepath.Join(root, "allowed")
	outside := filepath.Join(root, "outside")
	clip := write(t, filepath.Join(allowed, "clip.mp4"), "\x00\x00\x00\x18ftypisom video bytes")
	secret := write(t, filepath.Join(outside, "secret.txt"), "top secret")
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink(secret, filepath.Join(allowed, "link-out")))
	must(os.Symlink(outside, filepath.Join(allowed, "dir-out")))
	must(os.Symlink(clip, filepath.Join(allowed, "link-in")))
	must(syscall.Mkfifo(filepath.Join(allowed, "fifo"), 0o600))
	must(os.Mkdir(filepath.Join(allowed, "sub"), 0o755))
	write(t, filepath.Join(allowed, "empty.mp4"), "")
	big, err := os.Create(filepath.Join(allowed, "big.mp4"))
	must(err)
	must(big.Truncate(3 << 30)) // sparse: 3 GiB over a 2 GiB limit, no disk used
	big.Close()
	if ln, err := net.Listen("unix", filepath.Join(allowed, "sock")); err == nil {
		defer ln.Close()
	}
	home, _ := os.UserHomeDir()

	p, err := localfile.NewPolicy([]string{allowed}, 2<<30)
	must(err)
	refused := []string{
		allowed + "/../outside/secret.txt",
		filepath.Join(outside, "secret.txt"),
		filepath.Join(outside, "missing.txt"),
		filepath.Join(allowed, "link-out"),
		filepath.Join(allowed, "dir-out", "secret.txt"),
		"/etc/passwd",
		"/etc/shadow",
		filepath.Join(home, ".ssh", "id_rsa"),
		"/dev/zero",
		"/proc/self/environ",
		filepath.Join(allowed, "fifo"),
		filepath.Join(allowed, "sub"),
		filepath.Join(allowed, "sock"),
		filepath.Join(allowed, "big.mp4"),
		filepath.Join(allowed, "empty.mp4"),
		filepath.Join(allowed, "missing.mp4"),
		"file://evil.example" + clip,
		"file://" + allowed + "/%2e%2e/outside/secret.txt",
		"file://" + allowed + "/..%2Foutside%2Fsecret.txt",
		"file:" + clip + "?x=1",
		"relative/clip.mp4",
		"clip.mp4",
		allowed + "/clip.mp4\x00.png",
		allowed, // the folder itself
	}
	for _, name := range refused {
		t.Run(name, func(t *testing.T) {
			f, err := p.Open(name)
			if err == nil {
				f.Close()
				t.Fatalf("Open(%q) succeeded", name)
			}
			if !errors.Is(err, localfile.ErrRefused) {
				t.Fatalf("Open(%q) = %v, want a refusal", name, err)
			}
			if strings.Contains(err.Error(), "top secret") {
				t.Fatalf("refusal leaks content: %v", err)
			}
		})
	}
	// Outside the allowed folders, a file that exists and one that does
	// not are refused in the same words.
	// So are they through a symlinked folder inside.
	for _, dir := range []string{outside, filepath.Join(allowed, "dir-out")} {
		_, e1 := p.Open(filepath.Join(dir, "secret.txt"))
		_, e2 := p.Open(filepath.Join(dir, "missing.txt"))
		if strings.ReplaceAll(e1.Error(), "secret.txt", "X") != strings.ReplaceAll(e2.Error(), "missing.txt", "X") {
			t.Errorf("refusals differ:\n%v\n%v", e1, e2)
		}
	}

	for _, name := range []string{clip, "file://" + clip, "file://localhost" + clip, filepath.Join(allowed, "link-in"), allowed + "/sub/../clip.mp4"} {
		f, err := p.Open(name)
		if err != nil {
			t.Errorf("Open(%q) = %v", name, err)
			continue
		}
		data, _ := io.ReadAll(f)
		f.Close()
		if f.ContentType != "video/mp4" || f.Size != int64(len(data)) || f.Path != clip {
			t.Errorf("Open(%q) = %+v", name, f)
		}
	}
}

func TestNoFolderAllowedSaysHow(t *testing.T) {
	p, _ := localfile.NewPolicy(nil, 0)
	_, err := p.Open("/tmp/x.mp4")
	if err == nil || !strings.Contains(err.Error(), "--allow-dir") || !strings.Contains(err.Error(), "FAL_VIDEO_MCP_ALLOW_DIRS") {
		t.Errorf("Open = %v", err)
	}
}

func TestContentTypes(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ name, data, want string }{
		{"a.bin", "\x00\x00\x00\x18ftypisom", "video/mp4"},
		{"a.bin", "\x00\x00\x00\x14ftypqt  ", "video/quicktime"},
		{"a.bin", "\x00\x00\x00\x18ftypM4A ", "audio/mp4"},
		{"a.bin", "\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01webm", "video/webm"},
		{"a.bin", "\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01matroska", "video/x-matroska"},
		{"a.bin", "GIF89a...", "image/gif"},
		{"a.bin", "\x89PNG\r\n\x1a\n....", "image/png"},
		{"a.bin", "\xff\xd8\xff\xe0..JFIF", "image/jpeg"},
		{"a.bin", "RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"},
		{"a.bin", "RIFF\x10\x00\x00\x00WAVEfmt ", "audio/wav"},
		{"a.bin", "ID3\x04\x00....", "audio/mpeg"},
		{"a.bin", "\xff\xfb\x90\x64....", "audio/mpeg"},
		{"a.bin", "\xff\xf1\x50\x80....", "audio/aac"},
		{"a.bin", "OggS\x00\x02....", "audio/ogg"},
		{"a.bin", "fLaC\x00\x00\x00\x22", "audio/flac"},
		{"clip.mov", "unrecognised bytes", "video/quicktime"},
		{"song.m4a", "unrecognised bytes", "audio/mp4"},
		{"x.mkv", "unrecognised bytes", "video/x-matroska"},
		{"x.unknownext", "unrecognised bytes", "application/octet-stream"},
	}
	for _, tt := range tests {
		path := write(t, filepath.Join(dir, tt.name), tt.data)
		f, _ := os.Open(path)
		got, err := localfile.DetectContentType(f, path)
		if pos, _ := f.Seek(0, io.SeekCurrent); err != nil || got != tt.want || pos != 0 {
			t.Errorf("%q %q: %q (at %d), %v; want %q", tt.name, tt.data, got, pos, err, tt.want)
		}
		f.Close()
	}
}

func TestOutputDirSavesSafely(t *testing.T) {
	dir := t.TempDir()
	o, err := localfile.NewOutputDir(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ base, ext, want string }{
		{"upscale_video-0199", "mp4", "upscale_video-0199.mp4"},
		{"upscale_video-0199", "mp4", "upscale_video-0199-2.mp4"}, // a clash gets a new name
		{"../../x", "mp4", "x.mp4"},
		{"/etc/passwd", "", "etc_passwd"},
		{"", "", "output"},
		{"..", "../sh", "output.sh"},
		{".hidden", "mp4", "hidden.mp4"},
	}
	for i, tt := range tests {
		path, err := o.Save(tt.base, tt.ext, strings.NewReader("data"+string(rune('0'+i))))
		if err != nil {
			t.Fatalf("Save(%q, %q): %v", tt.base, tt.ext, err)
		}
		if filepath.Dir(path) != o.Dir() || filepath.Base(path) != tt.want {
			t.Errorf("Save(%q, %q) = %q, want %s/%s", tt.base, tt.ext, path, o.Dir(), tt.want)
		}
		if got, _ := os.ReadFile(path); string(got) != "data"+string(rune('0'+i)) {
			t.Errorf("%s holds %q", path, got)
		}
	}
	entries, _ := os.ReadDir(o.Dir())
	if len(entries) != len(tests) {
		t.Errorf("%d files in the folder (temporary files left?), want %d", len(entries), len(tests))
	}
}

// failingReader fails half-way, like a dropped download.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n > 0 {
		f.n--
		return copy(p, "partial"), nil
	}
	return 0, errors.New("connection reset")
}

func TestOutputDirLeavesNothingOnFailure(t *testing.T) {
	o, _ := localfile.NewOutputDir(t.TempDir())
	if _, err := o.Save("x", "mp4", &failingReader{n: 3}); err == nil {
		t.Fatal("Save succeeded on a failing reader")
	}
	if entries, _ := os.ReadDir(o.Dir()); len(entries) != 0 {
		t.Errorf("a failed save left %d files", len(entries))
	}
}

func TestMediaExtension(t *testing.T) {
	tests := []struct {
		declared []string
		head     string
		want     string
	}{
		{[]string{"video/mp4"}, "\x00\x00\x00\x18ftypisom", "mp4"},
		{[]string{"Video/MP4; codecs=avc1"}, "\x00\x00\x00\x18ftypisom", "mp4"},
		{[]string{"text/html"}, "\x00\x00\x00\x18ftypisom", "mp4"}, // not on the list: the bytes tell
		{[]string{"", "image/png"}, "\x89PNG\r\n\x1a\n", "png"},    // the first declared type on the list
		{[]string{"application/x-msdownload"}, "MZ\x90\x00", "bin"},
		{[]string{"text/html"}, "<!DOCTYPE html><html>", "bin"},
		{[]string{"application/x-sh"}, "#!/bin/sh\nrm -rf ~\n", "bin"},
		{nil, "\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01webm", "webm"},
		{nil, "GIF89a", "gif"},
		{nil, "PK\x03\x04frames", "zip"},
		{[]string{"application/octet-stream"}, "plain text", "bin"},
		{nil, "", "bin"},
		// The bytes decide, not the declared type.
		{[]string{"video/mp4"}, "", "bin"},
		{[]string{"video/mp4"}, "<!DOCTYPE html><html>", "bin"},
		{[]string{"video/mp4"}, "plain text", "bin"},
		{[]string{"video/mp4"}, "#!/bin/sh\n", "bin"},
		{[]string{"video/mp4"}, "\x89PNG\r\n\x1a\n", "png"},
		{[]string{"image/png"}, "\x00\x00\x00\x18ftypisom", "mp4"},
		{[]string{"audio/mp4"}, "\x00\x00\x00\x18ftypisom", "m4a"}, // same container: the declared name
		{[]string{"video/mp4"}, "\x00\x00\x00\x18ftypavif", "avif"},
		{[]string{"video/ogg"}, "OggS\x00\x02", "ogv"},
		{[]string{"video/webm"}, "\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01matroska", "webm"},
		{[]string{"not a media type;;"}, "\xff\xd8\xff\xe0", "jpg"},
	}
	for _, tt := range tests {
		if got := localfile.MediaExtension([]byte(tt.head), tt.declared...); got != tt.want {
			t.Errorf("MediaExtension(%q, %q) = %q, want %q", tt.head, tt.declared, got, tt.want)
		}
	}
}

func TestSavedFilesAreNotExecutable(t *testing.T) {
	o, _ := localfile.NewOutputDir(t.TempDir())
	for _, ext := range []string{"sh", "exe", "mp4"} {
		path, err := o.Save("x", ext, strings.NewReader("#!/bin/sh\n"))
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm()&0o111 != 0 || fi.Mode().Perm()&0o022 != 0 {
			t.Errorf("%s has mode %v (%v)", path, fi.Mode(), err)
		}
	}
}

// TestCleanPartials: partial files a killed download left behind are
// removed when the output folder is opened; a save under way in another
// process (holding its lock) and other files are left alone.
func TestCleanPartials(t *testing.T) {
	dir := t.TempDir()
	left := []string{
		write(t, filepath.Join(dir, ".fal-video-mcp-123.part"), "half a video"),
		write(t, filepath.Join(dir, ".fal-video-mcp-abc.part"), ""),
	}
	kept := []string{
		write(t, filepath.Join(dir, "clip.mp4"), "a finished video"),
		write(t, filepath.Join(dir, "notes.part"), "not ours"),
		write(t, filepath.Join(dir, ".fal-video-mcp-.part"), "not a name Save makes"),
	}
	if err := os.Symlink(kept[0], filepath.Join(dir, ".fal-video-mcp-link.part")); err != nil {
		t.Fatal(err)
	}
	kept = append(kept, filepath.Join(dir, ".fal-video-mcp-link.part"))
	if err := os.Mkdir(filepath.Join(dir, ".fal-video-mcp-dir.part"), 0o755); err != nil {
		t.Fatal(err)
	}
	kept = append(kept, filepath.Join(dir, ".fal-video-mcp-dir.part"))

	o, err := localfile.NewOutputDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range left {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survived NewOutputDir (%v)", p, err)
		}
	}
	for _, p := range kept {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}

	// A save under way: its reader blocks until the cleaner has run.
	pr, pw := io.Pipe()
	saved := make(chan error, 1)
	go func() {
		_, err := o.Save("live", "mp4", pr)
		saved <- err
	}()
	if _, err := pw.Write([]byte("first half")); err != nil { // the partial file exists once this returns
		t.Fatal(err)
	}
	n, err := localfile.NewOutputDir(dir) // a second process starting
	if err != nil {
		t.Fatal(err)
	}
	if removed, err := n.CleanPartials(); removed != 0 || err != nil {
		t.Errorf("CleanPartials during a live save removed %d (%v)", removed, err)
	}
	pw.Write([]byte(", second half"))
	pw.Close()
	if err := <-saved; err != nil {
		t.Fatalf("the live save failed: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "live.mp4")); string(got) != "first half, second half" {
		t.Errorf("live.mp4 = %q", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(kept)+1 {
		t.Errorf("%d entries, want %d", len(entries), len(kept)+1)
	}
}
