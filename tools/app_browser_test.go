package tools_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/mark3labs/mcp-go/mcp"
)

// chromium finds a headless-capable Chromium, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium on PATH (Debian: apt-get install chromium); .ci/run installs it")
	return ""
}

// demoVideo is an mp4 to play: made with ffmpeg when installed (a test
// pattern, for a screenshot worth looking at), else the committed sample.
func demoVideo(t *testing.T, name, src string) []byte {
	t.Helper()
	if ffmpeg, err := exec.LookPath("ffmpeg"); err == nil {
		out := filepath.Join(t.TempDir(), name)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", src+"=size=480x270:rate=24:duration=2",
			"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart", out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v\n%s", err, b)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return sampleMP4(t)
}

// hostPage is a minimal MCP Apps host: it iframes the view, answers
// ui/initialize, sends the tool input and result once the view says it is
// initialized, follows its size, and copies the view's DOM into its own
// (#view-dom) so that --dump-dom shows it.
const hostPage = `<!doctype html><html><head><meta charset="utf-8"><title>test host</title>
<style>body{margin:0;font:14px system-ui;background:#e9e9ee}.chat{max-width:920px;margin:16px auto;padding:0 16px}
.bubble{background:#fff;border-radius:12px;padding:10px 14px;margin:8px 0;box-shadow:0 1px 2px #0002}
iframe{width:100%%;border:1px solid #d4d4d8;border-radius:10px;height:200px;background:#fff}pre{display:none}</style></head>
<body><div class="chat"><div class="bubble">Upscale my clip, please.</div>
<div class="bubble">Calling <b>upscale_video</b> on fal-video-mcp (dry run)…</div>
<iframe id="view" sandbox="allow-scripts allow-same-origin" src="/view.html"></iframe></div>
<pre id="view-dom"></pre><pre id="seen"></pre>
<script>
const toolInput = %s;
const toolResult = %s;
const frame = document.getElementById("view");
const seen = [];
function post(m) { frame.contentWindow.postMessage(Object.assign({jsonrpc: "2.0"}, m), "*"); }
window.addEventListener("message", ev => {
  if (ev.source !== frame.contentWindow) return;
  const m = ev.data;
  seen.push(m.method || "response");
  if (m.method === "ui/initialize") {
    post({id: m.id, result: {protocolVersion: "2026-01-26", hostInfo: {name: "test-host", version: "1"},
      hostCapabilities: {serverTools: {}}, hostContext: {theme: "light", displayMode: "inline", toolInfo: {tool: {name: "upscale_video"}}}}});
  } else if (m.method === "ui/notifications/initialized") {
    post({method: "ui/notifications/tool-input", params: {arguments: toolInput}});
    post({method: "ui/notifications/tool-result", params: toolResult});
  } else if (m.method === "ui/notifications/size-changed") {
    frame.style.height = m.params.height + "px";
  } else if (m.id !== undefined) {
    post({id: m.id, error: {code: -32601, message: "not in this test host"}});
  }
});
setInterval(() => {
  const d = frame.contentDocument;
  document.getElementById("view-dom").textContent = d && d.body ? d.body.innerHTML : "";
  document.getElementById("seen").textContent = seen.join(" ");
}, 50);
</script></body></html>`

// TestPlayerInChromium: a completed dry-run job's result, rendered by the
// view in headless Chromium inside a minimal host, shows the output in a
// <video> (and the input beside it), and the view asks for nothing
// outside the CSP it declares. FAL_VIDEO_MCP_SCREENSHOT=path also saves a
// screenshot there (examples/player.png is one).
func TestPlayerInChromium(t *testing.T) {
	browser := chromium(t)
	emu := faltest.NewServer(faltest.Options{Key: testKey})
	t.Cleanup(emu.Close)
	inURL := emu.AddFile("input.mp4", "video/mp4", demoVideo(t, "input.mp4", "testsrc"))
	outURL := emu.AddFile("upscaled.mp4", "video/mp4", demoVideo(t, "upscaled.mp4", "testsrc2"))
	emu.SetScript("fal-ai/video-upscaler", faltest.Script{Output: map[string]any{
		"video": map[string]any{"url": outURL, "content_type": "video/mp4", "file_name": "upscaled.mp4"}}})
	c, _ := appClient(t, emu, mcp.ProtocolVersion20260728, uiCaps())
	ctx := ctxT(t)
	args := map[string]any{"video_url": inURL, "scale": 2, "wait_seconds": 20}
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = "upscale_video", args
	res, err := c.CallTool(ctx, req)
	if err != nil || res.IsError || jobOf(t, res).Status != tools.StatusCompleted {
		t.Fatalf("upscale_video = %+v, %v", res, err)
	}
	result, _ := json.Marshal(res)
	input, _ := json.Marshal(args)
	rr, err := c.ReadResource(ctx, mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: tools.PlayerURI}})
	if err != nil {
		t.Fatal(err)
	}
	view := rr.Contents[0].(mcp.TextResourceContents)
	csp := cspOf(t, view.Meta)
	// The CSP a host builds from the declared domains (SEP-1865's
	// restrictive defaults plus them), reporting every violation.
	policy := fmt.Sprintf("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: %[1]s; media-src %[1]s; font-src %[1]s; "+
		"connect-src %[2]s; frame-src 'none'; base-uri 'self'; object-src 'none'; report-uri /csp-report",
		strings.Join(csp["resourceDomains"], " "), strings.Join(csp["connectDomains"], " "))

	var mu sync.Mutex
	var violations, unexpected []string
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/host.html":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, hostPage, input, result)
		case "/view.html":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Security-Policy", policy)
			io.WriteString(w, view.Text)
		case "/csp-report":
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			violations = append(violations, string(b))
			mu.Unlock()
		case "/favicon.ico": // the browser's own, for the host page
			http.NotFound(w, r)
		default:
			mu.Lock()
			unexpected = append(unexpected, r.Method+" "+r.URL.String())
			mu.Unlock()
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(host.Close)
	emu.ResetRequests()

	run := func(extra ...string) []byte {
		t.Helper()
		rctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		argv := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
			"--user-data-dir=" + t.TempDir(), "--autoplay-policy=no-user-gesture-required", "--hide-scrollbars",
			"--window-size=960,620", "--virtual-time-budget=8000"}, extra...)
		argv = append(argv, host.URL+"/host.html")
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(rctx, browser, argv...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("chromium %v: %v\n%s", extra, err, stderr.String())
		}
		return stdout.Bytes()
	}
	dom := run("--dump-dom")
	m := regexp.MustCompile(`(?s)<pre id="view-dom">(.*?)</pre>`).FindSubmatch(dom)
	if m == nil {
		t.Fatalf("no view DOM in the host page:\n%s", dom)
	}
	viewDOM := html.UnescapeString(string(m[1]))
	for _, want := range []string{`<video src="` + outURL + `"`, `<video src="` + inURL + `"`, `data-status="completed"`, "upscaled.mp4"} {
		if !strings.Contains(viewDOM, want) {
			t.Errorf("the view shows no %s:\n%s", want, viewDOM)
		}
	}
	seen := regexp.MustCompile(`(?s)<pre id="seen">(.*?)</pre>`).FindSubmatch(dom)
	if seen == nil || !strings.Contains(string(seen[1]), "ui/initialize") || !strings.Contains(string(seen[1]), "ui/notifications/initialized") ||
		!strings.Contains(string(seen[1]), "ui/notifications/size-changed") {
		t.Errorf("the view's messages to the host: %q", seen)
	}
	if shot := os.Getenv("FAL_VIDEO_MCP_SCREENSHOT"); shot != "" {
		abs, _ := filepath.Abs(shot)
		run("--screenshot=" + abs)
		if b, err := os.ReadFile(abs); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("no screenshot at %s: %v", abs, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(violations) > 0 {
		t.Errorf("the view asked for something outside its CSP: %s", violations)
	}
	if len(unexpected) > 0 {
		t.Errorf("unexpected requests to the host: %v", unexpected)
	}
	for _, r := range emu.Requests() {
		if r.Op != faltest.OpFile || r.Method != http.MethodGet {
			t.Errorf("the view made a %s %s request to the emulator", r.Method, r.Path)
		}
	}
}
