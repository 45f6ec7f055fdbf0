package tools_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/fal-video-mcp/fal-video-mcp/tools/localfile"
	"github.com/mark3labs/mcp-go/mcp"
)

// tableResolver resolves names from a table: no real DNS in tests.
type tableResolver map[string]string

func (r tableResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	if ip, ok := r[host]; ok {
		return []net.IPAddr{{IP: net.ParseIP(ip)}}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// downloading points the server's fal client at emu with cdn as fal's
// CDN (loopback addresses there are trusted, as in dry-run), names
// resolved by resolver, and saves outputs into a fresh output folder.
func downloading(t *testing.T, emu *faltest.Server, cdn string, resolver falqueue.Resolver, max int64) (func(*tools.Options), *localfile.OutputDir) {
	t.Helper()
	fal, err := falqueue.New(falqueue.Config{Key: testKey, QueueURL: emu.QueueURL, RestURL: emu.RestURL, CDNURL: cdn,
		Resolver: resolver, PollInterval: 5 * time.Millisecond, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := localfile.NewOutputDir(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	return func(o *tools.Options) { o.Fal, o.Output, o.MaxDownloadSize = fal, dir, max }, dir
}

// outputFile makes the upscaler's next job complete with one output file.
func outputFile(emu *faltest.Server, url, contentType, fileName string) {
	emu.SetScript("fal-ai/video-upscaler", faltest.Script{Output: map[string]any{
		"video": map[string]any{"url": url, "content_type": contentType, "file_name": fileName}}})
}

func folderNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// TestDownloads: job_result with download saves every output file, whole,
// inside the output folder under a safe unique name — whatever file name
// the service sent — and links it.
func TestDownloads(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{Key: testKey})
	t.Cleanup(emu.Close)
	withFal, dir := downloading(t, emu, emu.CDNURL, nil, 0)
	h := newHarnessOn(t, emu, mcp.ProtocolVersion20260728, withFal)
	const videoBytes = "\x00\x00\x00\x18ftypisom the video bytes" // an mp4 by its first bytes: the saved name follows them
	video := emu.AddFile("clip.mp4", "video/mp4", []byte(videoBytes))
	tests := []struct{ fileName, want string }{
		{"../../x.mp4", ".mp4"},
		{"/etc/passwd", ".mp4"},
		{"", ".mp4"},
	}
	ctx := ctxT(t)
	for _, tt := range tests {
		outputFile(emu, video, "video/mp4", tt.fileName)
		job := jobOf(t, h.call(t, ctx, "upscale_video", map[string]any{"video_url": "https://x/i.mp4", "wait_seconds": 5}))
		first := ""
		for range 2 { // a second download of the same job returns the file saved first
			res := h.call(t, ctx, "job_result", map[string]any{"request_id": job.RequestID, "download": true})
			got := jobOf(t, res)
			if res.IsError || len(got.Files) != 1 {
				t.Fatalf("job_result = %s", text(res))
			}
			p := got.Files[0].LocalPath
			if first == "" {
				first = p
			} else if p != first {
				t.Errorf("second download saved %q, want the first file %q again", p, first)
			}
			if filepath.Dir(p) != dir.Dir() || !strings.HasPrefix(filepath.Base(p), "upscale_video-"+job.RequestID) || filepath.Ext(p) != tt.want {
				t.Errorf("saved to %q, want %s/upscale_video-%s…%s", p, dir.Dir(), job.RequestID, tt.want)
			}
			if b, err := os.ReadFile(p); err != nil || string(b) != videoBytes {
				t.Errorf("%s holds %q (%v)", p, b, err)
			}
			links := 0
			for _, c := range res.Content {
				if l, ok := c.(mcp.ResourceLink); ok && strings.HasPrefix(l.URI, "file://") {
					links++
				}
			}
			if links != 1 {
				t.Errorf("want a file:// link: %+v", res.Content)
			}
		}
	}
	if names := folderNames(t, dir.Dir()); len(names) != len(tests) {
		t.Errorf("output folder holds %v, want %d files (one per job)", names, len(tests))
	}
	for _, r := range emu.Requests() {
		if r.Op == faltest.OpFile && r.Header.Get("Authorization") != "" {
			t.Error("the key went with a file download")
		}
	}
}

// TestDownloadExtensions: a saved file's extension comes from the media
// type fal declares or from its bytes, never from fal's file_name; what
// is not media is saved as .bin, and nothing saved is executable.
func TestDownloadExtensions(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{Key: testKey})
	t.Cleanup(emu.Close)
	withFal, dir := downloading(t, emu, emu.CDNURL, nil, 0)
	h := newHarnessOn(t, emu, mcp.ProtocolVersion20251125, withFal)
	mp4 := "\x00\x00\x00\x18ftypisom the video"
	tests := []struct{ fileName, contentType, data, want string }{
		{"x.exe", "application/x-msdownload", "MZ\x90\x00 a program", ".bin"},
		{"x.exe", "video/mp4", mp4, ".mp4"},
		{"x.sh", "application/x-sh", "#!/bin/sh\nrm -rf ~\n", ".bin"},
		{"x.sh", "application/octet-stream", mp4, ".mp4"}, // the bytes tell
		{"x.html", "text/html", "<!DOCTYPE html><script>alert(1)</script>", ".bin"},
		{"x.html", "text/html", "\x89PNG\r\n\x1a\n a picture", ".png"},
		{"x.html", "", "GIF89a a gif", ".gif"},
	}
	ctx := ctxT(t)
	for _, tt := range tests {
		outputFile(emu, emu.AddFile(tt.fileName, tt.contentType, []byte(tt.data)), tt.contentType, tt.fileName)
		job := jobOf(t, h.call(t, ctx, "upscale_video", map[string]any{"video_url": "https://x/i.mp4", "wait_seconds": 5}))
		res := h.call(t, ctx, "job_result", map[string]any{"request_id": job.RequestID, "download": true})
		got := jobOf(t, res)
		if res.IsError || len(got.Files) != 1 {
			t.Fatalf("job_result = %s", text(res))
		}
		p := got.Files[0].LocalPath
		if filepath.Ext(p) != tt.want || filepath.Dir(p) != dir.Dir() {
			t.Errorf("file_name %q, %q, %.10q saved as %s, want …%s", tt.fileName, tt.contentType, tt.data, p, tt.want)
		}
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm()&0o111 != 0 {
			t.Errorf("%s: mode %v (%v), want no execute bits", p, fi.Mode(), err)
		}
		if b, _ := os.ReadFile(p); string(b) != tt.data {
			t.Errorf("%s holds %q", p, b)
		}
	}
}

// TestDownloadRefusals: output URLs that lead to loopback, link-local or
// private addresses — by address, by a public-looking name that resolves
// to 127.0.0.1, or by a redirect from fal's host — are refused in plain
// words; nothing reaches them and nothing is saved.
func TestDownloadRefusals(t *testing.T) {
	var hits atomic.Int32
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "video/mp4")
		_, _ = w.Write([]byte("\x00\x00\x00\x18ftypisom internal data"))
	}))
	t.Cleanup(internal.Close)
	port := internal.URL[strings.LastIndex(internal.URL, ":")+1:]
	// fal's CDN here redirects every file to where ?to= says.
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	}))
	t.Cleanup(cdn.Close)
	emu := faltest.NewServer(faltest.Options{Key: testKey})
	t.Cleanup(emu.Close)
	resolver := tableResolver{"video.example.com": "127.0.0.1", "files.example.net": "192.168.1.20"}
	withFal, dir := downloading(t, emu, cdn.URL, resolver, 0)
	h := newHarnessOn(t, emu, mcp.ProtocolVersion20260728, withFal)
	tests := []struct{ url, want string }{
		{internal.URL + "/out.mp4", "127.0.0.1 is a loopback address"},
		{"http://video.example.com:" + port + "/out.mp4", "video.example.com resolves to 127.0.0.1, a loopback address"},
		{"http://[::1]:" + port + "/out.mp4", "loopback"},
		{"http://169.254.169.254/latest/meta-data/iam", "link-local"},
		{"http://10.0.0.7/out.mp4", "private"},
		{"https://files.example.net/out.mp4", "192.168.1.20, a private-network address"},
		{cdn.URL + "/files/out.mp4?to=" + internal.URL + "/out.mp4", "redirects to " + internal.URL + "/out.mp4, and 127.0.0.1 is a loopback address"},
		{cdn.URL + "/files/out.mp4?to=http://video.example.com:" + port + "/out.mp4", "resolves to 127.0.0.1"},
	}
	ctx := ctxT(t)
	for _, tt := range tests {
		outputFile(emu, tt.url, "video/mp4", "out.mp4")
		job := jobOf(t, h.call(t, ctx, "upscale_video", map[string]any{"video_url": "https://x/i.mp4", "wait_seconds": 5}))
		res := h.call(t, ctx, "job_result", map[string]any{"request_id": job.RequestID, "download": true})
		msg := text(res)
		if !res.IsError || !strings.Contains(msg, "refused") || !strings.Contains(msg, tt.want) || !strings.Contains(msg, "not a public one") {
			t.Errorf("download of %s = %v: %s\nwant a refusal saying %q", tt.url, res.IsError, msg, tt.want)
		}
		if j := jobOf(t, res); j.Status != tools.StatusCompleted || len(j.Files) != 1 || j.Files[0].LocalPath != "" {
			t.Errorf("job after a refused download = %+v", j)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the internal server received %d requests", n)
	}
	if names := folderNames(t, dir.Dir()); len(names) != 0 {
		t.Errorf("the output folder holds %v", names)
	}
}

// TestDownloadSizeCap: a file over --max-download-size stops at the cap —
// declared or not — and leaves nothing behind, no partial file either.
func TestDownloadSizeCap(t *testing.T) {
	data := append([]byte("\x00\x00\x00\x18ftypisom"), bytes.Repeat([]byte("v"), 20000)...)
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp4")
		if r.URL.Path == "/declared.mp4" {
			http.ServeContent(w, r, "declared.mp4", time.Time{}, bytes.NewReader(data))
			return
		}
		for i := 0; i < len(data); i += 1000 { // no length declared
			if _, err := w.Write(data[i:min(i+1000, len(data))]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(cdn.Close)
	emu := faltest.NewServer(faltest.Options{Key: testKey})
	t.Cleanup(emu.Close)
	const max = 5000
	withFal, dir := downloading(t, emu, cdn.URL, nil, max)
	h := newHarnessOn(t, emu, mcp.ProtocolVersion20260728, withFal)
	ctx := ctxT(t)
	for _, tt := range []struct{ path, want string }{
		{"/declared.mp4", "has 20012 bytes, over the limit of 5000"},
		{"/streamed.mp4", "larger than the limit of 5000 bytes"},
	} {
		outputFile(emu, cdn.URL+tt.path, "video/mp4", "out.mp4")
		job := jobOf(t, h.call(t, ctx, "upscale_video", map[string]any{"video_url": "https://x/i.mp4", "wait_seconds": 5}))
		res := h.call(t, ctx, "job_result", map[string]any{"request_id": job.RequestID, "download": true})
		msg := text(res)
		if !res.IsError || !strings.Contains(msg, tt.want) || !strings.Contains(msg, "--max-download-size") || !strings.Contains(msg, "nothing was saved") {
			t.Errorf("download of %s = %v: %s", tt.path, res.IsError, msg)
		}
		if names := folderNames(t, dir.Dir()); len(names) != 0 {
			t.Errorf("after %s the output folder holds %v", tt.path, names)
		}
	}

	// Under the cap, the same file is saved whole.
	small := data[:max]
	outputFile(emu, emu.AddFile("ok.mp4", "video/mp4", small), "video/mp4", "ok.mp4")
	withEmu, dir2 := downloading(t, emu, emu.CDNURL, nil, max)
	h2 := newHarnessOn(t, emu, mcp.ProtocolVersion20260728, withEmu)
	job := jobOf(t, h2.call(t, ctx, "upscale_video", map[string]any{"video_url": "https://x/i.mp4", "wait_seconds": 5}))
	res := h2.call(t, ctx, "job_result", map[string]any{"request_id": job.RequestID, "download": true})
	if j := jobOf(t, res); res.IsError || len(j.Files) != 1 {
		t.Fatalf("download at the cap = %s", text(res))
	} else if b, _ := os.ReadFile(j.Files[0].LocalPath); !bytes.Equal(b, small) || filepath.Dir(j.Files[0].LocalPath) != dir2.Dir() {
		t.Errorf("saved %d bytes at %s", len(b), j.Files[0].LocalPath)
	}
}
