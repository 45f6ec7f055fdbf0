package tools_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/fal-video-mcp/fal-video-mcp/tools/localfile"
	"github.com/mark3labs/mcp-go/mcp"
)

func allowing(t *testing.T, dirs ...string) func(*tools.Options) {
	p, err := localfile.NewPolicy(dirs, 2<<30)
	if err != nil {
		t.Fatal(err)
	}
	return func(o *tools.Options) { o.Files = p }
}

func writeFile(t *testing.T, path, data string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// submitted returns the body fal received for the only submit.
func submitted(t *testing.T, emu *faltest.Server) map[string]any {
	t.Helper()
	var body map[string]any
	for _, r := range emu.Requests() {
		if r.Op == faltest.OpSubmit {
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatal(err)
			}
		}
	}
	return body
}

// TestLocalFilesAreUploaded: local paths in media fields — plain, in a
// list, inside list items — reach fal as CDN URLs of the same bytes, and a
// file used again is not uploaded again.
func TestLocalFilesAreUploaded(t *testing.T) {
	dir := t.TempDir()
	video := "\x00\x00\x00\x18ftypisom" + strings.Repeat("video", 1000)
	image := "\x89PNG\r\n\x1a\n" + strings.Repeat("png", 100)
	clip := writeFile(t, filepath.Join(dir, "clip.mp4"), video)
	ref := writeFile(t, filepath.Join(dir, "refs", "ref.png"), image)
	h := newHarness(t, mcp.ProtocolVersion20260728, allowing(t, dir))
	ctx := ctxT(t)

	check := func(url, want, wantType string) {
		t.Helper()
		fi, ok := h.emu.File(url)
		if !ok || fi.SHA256 != sha(want) || fi.ContentType != wantType {
			t.Errorf("fal has %+v (%v) at %s", fi, ok, url)
		}
	}
	res := h.call(t, ctx, "upscale_video", map[string]any{"video_url": clip, "wait_seconds": 0})
	if res.IsError {
		t.Fatal(text(res))
	}
	check(submitted(t, h.emu)["video_url"].(string), video, "video/mp4")

	h.emu.ResetRequests()
	res = h.call(t, ctx, "wan_vace_video", map[string]any{"prompt": "x", "video_url": "file://" + clip,
		"ref_image_urls": []any{ref, "https://example.com/a.png"}, "wait_seconds": 0})
	if res.IsError {
		t.Fatal(text(res))
	}
	body := submitted(t, h.emu)
	check(body["video_url"].(string), video, "video/mp4")
	refs := body["ref_image_urls"].([]any)
	check(refs[0].(string), image, "image/png")
	if refs[1] != "https://example.com/a.png" {
		t.Errorf("an https URL was changed: %v", refs[1])
	}
	uploads := 0
	for _, r := range h.emu.Requests() {
		if r.Op == faltest.OpInitiate {
			uploads++
		}
	}
	if uploads != 1 { // clip.mp4 was uploaded before: only ref.png goes up
		t.Errorf("%d uploads, want 1 (the video is reused)", uploads)
	}

	h.emu.ResetRequests()
	res = h.call(t, ctx, "ltx_multiconditioning_video", map[string]any{"prompt": "x",
		"images": []any{map[string]any{"image_url": ref, "start_frame_num": 0}},
		"videos": []any{map[string]any{"video_url": clip, "start_frame_num": 8}}, "wait_seconds": 0})
	if res.IsError {
		t.Fatal(text(res))
	}
	body = submitted(t, h.emu)
	check(body["images"].([]any)[0].(map[string]any)["image_url"].(string), image, "image/png")
	check(body["videos"].([]any)[0].(map[string]any)["video_url"].(string), video, "video/mp4")
	for _, r := range h.emu.Requests() {
		if r.Op == faltest.OpInitiate || r.Op == faltest.OpUpload {
			t.Errorf("a file already uploaded went up again: %s %s", r.Method, r.Path)
		}
	}

	res = h.call(t, ctx, "upload_file", map[string]any{"path": clip})
	var up struct {
		URL         string `json:"url"`
		ContentType string `json:"content_type"`
		Size        int64  `json:"size"`
	}
	b, _ := json.Marshal(res.StructuredContent)
	_ = json.Unmarshal(b, &up)
	if res.IsError || up.Size != int64(len(video)) || up.ContentType != "video/mp4" {
		t.Errorf("upload_file = %s", b)
	}
	check(up.URL, video, "video/mp4")
}

// TestLocalFileRefusals: reads outside the allowed folder, through links,
// of special files or over the limit are refused; fal receives nothing.
func TestLocalFileRefusals(t *testing.T) {
	root := t.TempDir()
	allowed := filepath.Join(root, "allowed")
	outside := filepath.Join(root, "outside")
	writeFile(t, filepath.Join(allowed, "ok.mp4"), "\x00\x00\x00\x18ftypisom")
	secret := writeFile(t, filepath.Join(outside, "secret.mp4"), "secret")
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink(secret, filepath.Join(allowed, "link.mp4")))
	must(os.Symlink(outside, filepath.Join(allowed, "linkdir")))
	must(syscall.Mkfifo(filepath.Join(allowed, "fifo.mp4"), 0o600))
	must(os.Mkdir(filepath.Join(allowed, "sub.mp4"), 0o755))
	big, err := os.Create(filepath.Join(allowed, "big.mp4"))
	must(err)
	must(big.Truncate(3 << 30))
	big.Close()
	if ln, err := net.Listen("unix", filepath.Join(allowed, "sock.mp4")); err == nil {
		defer ln.Close()
	}
	home, _ := os.UserHomeDir()
	refused := []string{
		allowed + "/../outside/secret.mp4", secret, filepath.Join(outside, "missing.mp4"),
		filepath.Join(allowed, "link.mp4"), filepath.Join(allowed, "linkdir", "secret.mp4"),
		"/etc/passwd", filepath.Join(home, ".ssh", "id_rsa"), "/dev/zero", "/proc/self/environ",
		filepath.Join(allowed, "fifo.mp4"), filepath.Join(allowed, "sub.mp4"), filepath.Join(allowed, "sock.mp4"),
		filepath.Join(allowed, "big.mp4"), filepath.Join(allowed, "missing.mp4"),
		"file://evil.example" + secret, "file://" + allowed + "/%2e%2e/outside/secret.mp4",
		"file://" + allowed + "/..%2Foutside%2Fsecret.mp4", "file:" + secret,
		"/" + allowed[1:] + "/./../outside/secret.mp4", allowed,
	}
	h := newHarness(t, mcp.ProtocolVersion20251125, allowing(t, allowed))
	ctx := ctxT(t)
	for _, p := range refused {
		for _, call := range []struct {
			tool string
			args map[string]any
		}{
			{"upscale_video", map[string]any{"video_url": p, "wait_seconds": 0}},
			{"wan_vace_video", map[string]any{"prompt": "x", "video_url": "https://x/v.mp4", "ref_image_urls": []any{p}, "wait_seconds": 0}},
			{"upload_file", map[string]any{"path": p}},
		} {
			res := h.call(t, ctx, call.tool, call.args)
			if !res.IsError || strings.Contains(text(res), "secret") && !strings.Contains(p, "secret") {
				t.Errorf("%s(%q) = %v: %s", call.tool, p, res.IsError, text(res))
			}
		}
	}
	if n := len(h.emu.Requests()); n != 0 {
		t.Errorf("fal received %d requests: %+v", n, h.emu.Requests())
	}
	if len(refused) < 20 {
		t.Errorf("only %d refusals", len(refused))
	}

	none := newHarness(t, mcp.ProtocolVersion20251125)
	res := none.call(t, ctx, "upscale_video", map[string]any{"video_url": filepath.Join(allowed, "ok.mp4")})
	if !res.IsError || !strings.Contains(text(res), "--allow-dir") {
		t.Errorf("with no folder allowed: %s", text(res))
	}
}

// TestRefusalsRevealNothing: every path that is missing or leads outside
// the allowed folder — directly, by "..", through a symlinked folder or a
// symlinked file, to a file that exists or not — gets the same words after
// the path, through upload_file and through a media field; fal receives
// nothing.
func TestRefusalsRevealNothing(t *testing.T) {
	root := t.TempDir()
	allowed := filepath.Join(root, "allowed")
	outside := filepath.Join(root, "outside")
	writeFile(t, filepath.Join(allowed, "ok.mp4"), "\x00\x00\x00\x18ftypisom")
	secret := writeFile(t, filepath.Join(outside, "secret.mp4"), "\x00\x00\x00\x18ftypisom secret")
	writeFile(t, filepath.Join(outside, "sub", "deep.mp4"), "\x00\x00\x00\x18ftypisom deep")
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink(outside, filepath.Join(allowed, "ldir")))
	must(os.Symlink(filepath.Join(allowed, "ldir"), filepath.Join(allowed, "ldir2"))) // a link to a link
	must(os.Symlink(secret, filepath.Join(allowed, "lfile.mp4")))
	must(os.Symlink(filepath.Join(outside, "missing.mp4"), filepath.Join(allowed, "dangling.mp4")))
	must(os.Symlink(filepath.Join(outside, "nodir"), filepath.Join(allowed, "danglingdir")))
	home, _ := os.UserHomeDir()
	paths := []string{
		secret,                                        // outside, exists
		filepath.Join(outside, "missing.mp4"),         // outside, missing
		allowed + "/../outside/secret.mp4",            // dotdot, exists
		allowed + "/../outside/missing.mp4",           // dotdot, missing
		filepath.Join(allowed, "ldir", "secret.mp4"),  // symlinked folder, exists
		filepath.Join(allowed, "ldir", "missing.mp4"), // symlinked folder, missing
		filepath.Join(allowed, "ldir", "sub", "deep.mp4"),
		filepath.Join(allowed, "ldir", "nosub", "deep.mp4"),
		filepath.Join(allowed, "ldir", "sub"), // a folder outside
		filepath.Join(allowed, "ldir"),
		filepath.Join(allowed, "ldir2", "secret.mp4"), // link to a link, exists
		filepath.Join(allowed, "ldir2", "missing.mp4"),
		filepath.Join(allowed, "lfile.mp4"),    // symlinked file, exists
		filepath.Join(allowed, "dangling.mp4"), // symlinked file, missing
		filepath.Join(allowed, "danglingdir", "x.mp4"),
		"file://" + filepath.Join(allowed, "ldir", "secret.mp4"),
		"file://" + filepath.Join(allowed, "ldir", "missing.mp4"),
		"/etc/passwd",
		"/etc/no-such-file-here",
		filepath.Join(home, ".ssh", "id_rsa"),
		"/proc/self/environ",
		"/",
		outside,
	}
	h := newHarness(t, mcp.ProtocolVersion20260728, allowing(t, allowed))
	ctx := ctxT(t)
	for _, call := range []struct {
		tool string
		args func(p string) map[string]any
	}{
		{"upload_file", func(p string) map[string]any { return map[string]any{"path": p} }},
		{"upscale_video", func(p string) map[string]any { return map[string]any{"video_url": p, "wait_seconds": 0} }},
		{"wan_vace_video", func(p string) map[string]any {
			return map[string]any{"prompt": "x", "video_url": "https://x/v.mp4", "ref_image_urls": []any{p}, "wait_seconds": 0}
		}},
	} {
		t.Run(call.tool, func(t *testing.T) {
			var first, firstPath string
			for _, p := range paths {
				res := h.call(t, ctx, call.tool, call.args(p))
				msg := text(res)
				_, after, ok := strings.Cut(msg, strconv.Quote(p))
				if !res.IsError || !ok {
					t.Errorf("%s(%q) = %v: %s", call.tool, p, res.IsError, msg)
					continue
				}
				if first == "" {
					first, firstPath = after, p
					if !strings.Contains(after, "refused") || !strings.Contains(after, allowed) {
						t.Errorf("refusal does not say why: %s", msg)
					}
					continue
				}
				if after != first {
					t.Errorf("refusals differ after the path:\n%q: …%s\n%q: …%s", firstPath, first, p, after)
				}
			}
		})
	}
	if len(paths) < 20 {
		t.Errorf("only %d paths", len(paths))
	}
	if n := len(h.emu.Requests()); n != 0 {
		t.Errorf("fal received %d requests: %+v", n, h.emu.Requests())
	}
}
