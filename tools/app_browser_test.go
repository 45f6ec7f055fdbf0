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
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/mark3labs/mcp-go/client"
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
<pre id="view-dom"></pre><pre id="seen"></pre><pre id="texts"></pre>
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
  } else if (m.method === "tools/call") { // proxied to the server, as a host does
    snap(); // what the view shows as it asks
    fetch("/call", {method: "POST", body: JSON.stringify(m.params)}).then(r => r.json())
      .then(res => post({id: m.id, result: res}), err => post({id: m.id, error: {code: -32603, message: String(err)}}));
  } else if (m.id !== undefined) {
    post({id: m.id, error: {code: -32601, message: "not in this test host"}});
  }
});
const texts = [];
function snap() {
  const d = frame.contentDocument;
  document.getElementById("view-dom").textContent = d && d.body ? d.body.innerHTML : "";
  document.getElementById("seen").textContent = seen.join(" ");
  const t = d && d.body ? d.body.innerText.replace(/\s+/g, " ") : "";
  if (t && texts[texts.length - 1] !== t) { texts.push(t); document.getElementById("texts").textContent = texts.join("\n"); }
}
setInterval(snap, 50);
</script></body></html>`

// hostRun is what one page load of the host showed and logged.
type hostRun struct {
	viewDOM    string   // the view's body, at the end
	seen       string   // the methods the view sent the host
	texts      []string // the view's text, each time it changed
	violations []string // CSP reports
	unexpected []string // requests to the host server other than the pages
}

// runHost serves the host page and the view (with the CSP a host builds
// from the view's declared domains: SEP-1865's restrictive defaults plus
// them, reporting every violation), proxies the view's tools/call to c
// (onCall runs first), and loads the host in headless Chromium: with
// --dump-dom, and once more with --screenshot=shot if shot is set.
func runHost(t *testing.T, c *client.Client, input, result any, onCall func(mcp.CallToolParams), shot string) hostRun {
	t.Helper()
	browser := chromium(t)
	ctx := ctxT(t)
	rr, err := c.ReadResource(ctx, mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: tools.PlayerURI}})
	if err != nil {
		t.Fatal(err)
	}
	view := rr.Contents[0].(mcp.TextResourceContents)
	csp := cspOf(t, view.Meta)
	policy := fmt.Sprintf("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: %[1]s; media-src %[1]s; font-src %[1]s; "+
		"connect-src %[2]s; frame-src 'none'; base-uri 'self'; object-src 'none'; report-uri /csp-report",
		strings.Join(csp["resourceDomains"], " "), strings.Join(csp["connectDomains"], " "))
	in, _ := json.Marshal(input)
	res, _ := json.Marshal(result)

	var mu sync.Mutex
	var run hostRun
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/host.html":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, hostPage, in, res)
		case "/view.html":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Security-Policy", policy)
			io.WriteString(w, view.Text)
		case "/csp-report":
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			run.violations = append(run.violations, string(b))
			mu.Unlock()
		case "/call":
			var p mcp.CallToolParams
			if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			if onCall != nil {
				onCall(p)
			}
			req := mcp.CallToolRequest{}
			req.Params = p
			out, err := c.CallTool(r.Context(), req)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			json.NewEncoder(w).Encode(out)
		case "/favicon.ico": // the browser's own, for the host page
			http.NotFound(w, r)
		default:
			mu.Lock()
			run.unexpected = append(run.unexpected, r.Method+" "+r.URL.String())
			mu.Unlock()
			http.NotFound(w, r)
		}
	}))
	defer host.Close()

	load := func(extra ...string) []byte {
		t.Helper()
		rctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		argv := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
			"--user-data-dir=" + t.TempDir(), "--autoplay-policy=no-user-gesture-required", "--hide-scrollbars",
			"--window-size=960,500", "--virtual-time-budget=8000"}, extra...)
		argv = append(argv, host.URL+"/host.html")
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(rctx, browser, argv...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("chromium %v: %v\n%s", extra, err, stderr.String())
		}
		return stdout.Bytes()
	}
	dom := load("--dump-dom")
	pre := func(id string) string {
		m := regexp.MustCompile(`(?s)<pre id="` + id + `">(.*?)</pre>`).FindSubmatch(dom)
		if m == nil {
			t.Fatalf("no #%s in the host page:\n%s", id, dom)
		}
		return html.UnescapeString(string(m[1]))
	}
	run.viewDOM, run.seen, run.texts = pre("view-dom"), pre("seen"), strings.Split(pre("texts"), "\n")
	if shot != "" {
		abs, _ := filepath.Abs(shot)
		load("--screenshot=" + abs)
		if b, err := os.ReadFile(abs); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("no screenshot at %s: %v", abs, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(run.violations) > 0 {
		t.Errorf("the view asked for something outside its CSP: %s", run.violations)
	}
	if len(run.unexpected) > 0 {
		t.Errorf("unexpected requests to the host: %v", run.unexpected)
	}
	for _, m := range []string{"ui/initialize", "ui/notifications/initialized", "ui/notifications/size-changed"} {
		if !strings.Contains(run.seen, m) {
			t.Errorf("the view never sent %s: %q", m, run.seen)
		}
	}
	return run
}

// videoJob scripts the upscaler to output a real mp4 on the emulator's CDN
// and returns the input's URL and the output's.
func videoJob(t *testing.T, emu *faltest.Server, manual bool, logs ...string) (in, out string) {
	t.Helper()
	in = emu.AddFile("input.mp4", "video/mp4", demoVideo(t, "input.mp4", "testsrc"))
	out = emu.AddFile("upscaled.mp4", "video/mp4", demoVideo(t, "upscaled.mp4", "testsrc2"))
	emu.SetScript("fal-ai/video-upscaler", faltest.Script{Manual: manual, Logs: logs, Output: map[string]any{
		"video": map[string]any{"url": out, "content_type": "video/mp4", "file_name": "upscaled.mp4"}}})
	return in, out
}

func callTool(t *testing.T, c *client.Client, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	res, err := c.CallTool(ctxT(t), req)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

// TestPlayerInChromium: a completed dry-run job's result, rendered by the
// view in headless Chromium inside a minimal host, shows the output in a
// <video>, the input beside it, and the view asks for nothing outside the
// CSP it declares. FAL_VIDEO_MCP_SCREENSHOT=path also saves a screenshot
// there (examples/player.png is one).
func TestPlayerInChromium(t *testing.T) {
	chromium(t)
	emu := faltest.NewServer(faltest.Options{Key: testKey})
	t.Cleanup(emu.Close)
	inURL, outURL := videoJob(t, emu, false)
	c, _ := appClient(t, emu, mcp.ProtocolVersion20260728, uiCaps())
	args := map[string]any{"video_url": inURL, "scale": 2, "wait_seconds": 20}
	res := callTool(t, c, "upscale_video", args)
	if res.IsError || jobOf(t, res).Status != tools.StatusCompleted {
		t.Fatalf("upscale_video = %s", text(res))
	}
	emu.ResetRequests()
	run := runHost(t, c, args, res, nil, os.Getenv("FAL_VIDEO_MCP_SCREENSHOT"))
	for _, want := range []string{`<video src="` + outURL + `"`, `<video src="` + inURL + `"`, `data-status="completed"`, "upscaled.mp4"} {
		if !strings.Contains(run.viewDOM, want) {
			t.Errorf("the view shows no %s:\n%s", want, run.viewDOM)
		}
	}
	for _, r := range emu.Requests() {
		if r.Op != faltest.OpFile || r.Method != http.MethodGet {
			t.Errorf("the view made a %s %s request to the emulator", r.Method, r.Path)
		}
	}
}

// TestPlayerFollowsARunningJob: given a running job, the view shows its
// status and last log line, then follows it through the host's tools/call
// of job_status until it completes and plays the output; given a failed
// job, it shows fal's error.
func TestPlayerFollowsARunningJob(t *testing.T) {
	chromium(t)
	emu := faltest.NewServer(faltest.Options{Key: testKey})
	t.Cleanup(emu.Close)
	_, outURL := videoJob(t, emu, true, "denoising 12/30")
	c, _ := appClient(t, emu, mcp.ProtocolVersion20260728, uiCaps())
	job := jobOf(t, callTool(t, c, "upscale_video", map[string]any{"video_url": "https://v3.fal.media/files/in.mp4", "wait_seconds": 0}))
	var status *mcp.CallToolResult
	var j tools.Job
	for range 5 { // to IN_PROGRESS with its log line
		emu.Step(job.RequestID)
		status = callTool(t, c, "job_status", map[string]any{"request_id": job.RequestID, "wait_seconds": 0})
		if j = jobOf(t, status); j.Status == tools.StatusRunning && len(j.Logs) > 0 {
			break
		}
	}
	if j.Status != tools.StatusRunning || len(j.Logs) == 0 {
		t.Fatalf("job_status = %+v", j)
	}
	var calls []string
	run := runHost(t, c, map[string]any{"request_id": job.RequestID}, status, func(p mcp.CallToolParams) {
		calls = append(calls, p.Name)
		emu.Finish(job.RequestID) // the job ends while the view follows it
	}, "")
	if len(calls) == 0 || calls[0] != "job_status" {
		t.Errorf("the view called %v, want job_status", calls)
	}
	running := slices.IndexFunc(run.texts, func(s string) bool {
		return strings.Contains(s, "Running on fal") && strings.Contains(s, "denoising 12/30")
	})
	completed := slices.IndexFunc(run.texts, func(s string) bool { return strings.Contains(s, "completed") })
	if running < 0 || completed < running {
		t.Errorf("the view did not show the running job, then the completed one: %q", run.texts)
	}
	if !strings.Contains(run.viewDOM, `<video src="`+outURL+`"`) || !strings.Contains(run.viewDOM, `data-status="completed"`) {
		t.Errorf("the view did not end on the output:\n%s", run.viewDOM)
	}

	emu.SetScript("fal-ai/video-upscaler", faltest.Script{Failure: &faltest.Failure{Status: 422, Error: "video too long: 901 frames, at most 900"}})
	failed := callTool(t, c, "upscale_video", map[string]any{"video_url": "https://v3.fal.media/files/in.mp4", "wait_seconds": 20})
	if !failed.IsError {
		t.Fatalf("a failed job is not an error: %s", text(failed))
	}
	run = runHost(t, c, map[string]any{}, failed, nil, "")
	if !strings.Contains(run.viewDOM, `data-status="failed"`) || !strings.Contains(run.viewDOM, "video too long: 901 frames") {
		t.Errorf("the view does not show the failure:\n%s", run.viewDOM)
	}
}
