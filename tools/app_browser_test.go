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
	"strconv"
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

// The MCP Apps host bridge the browser tests host the view with: the
// extension's own AppBridge, from npm at pinned versions (its peers
// pinned too), bundled for the browser by esbuild into .tools/ (git-
// ignored), once per checkout.
const extAppsVersion = "2.0.4"

var extAppsPackages = []string{
	"@modelcontextprotocol/ext-apps@" + extAppsVersion,
	"@modelcontextprotocol/client@2.4.0",
	"@modelcontextprotocol/core@2.4.0",
	"zod@4.6.7",
	"esbuild@0.28.2",
}

var bridgeOnce struct {
	sync.Once
	path, skip string
	err        error
}

// hostBridge returns the path of the bundled AppBridge (an IIFE that
// defines window.ExtApps), installing it first if need be; it skips the
// test when npm is not installed or cannot reach its registry.
func hostBridge(t *testing.T) string {
	t.Helper()
	bridgeOnce.Do(func() {
		root, err := filepath.Abs("..")
		if err != nil {
			bridgeOnce.err = err
			return
		}
		dir := filepath.Join(root, ".tools", "ext-apps-"+extAppsVersion)
		bundle := filepath.Join(dir, "host-bridge.js")
		if _, err := os.Stat(bundle); err == nil {
			bridgeOnce.path = bundle
			return
		}
		npm, err := exec.LookPath("npm")
		if err != nil {
			bridgeOnce.skip = "no npm on PATH: the browser tests host the view with @modelcontextprotocol/ext-apps's AppBridge, installed from npm"
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		tmp := fmt.Sprintf("%s.tmp-%d", dir, os.Getpid())
		defer os.RemoveAll(tmp)
		argv := append([]string{"install", "--prefix", tmp, "--no-save", "--no-audit", "--no-fund", "--loglevel=error"}, extAppsPackages...)
		if out, err := exec.CommandContext(ctx, npm, argv...).CombinedOutput(); err != nil {
			bridgeOnce.skip = fmt.Sprintf("npm install %s failed (no registry?): %v\n%s", strings.Join(extAppsPackages, " "), err, out)
			return
		}
		entry := filepath.Join(tmp, "entry.mjs")
		if err := os.WriteFile(entry, []byte(`export { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";`+"\n"), 0o644); err != nil {
			bridgeOnce.err = err
			return
		}
		esbuild := filepath.Join(tmp, "node_modules", ".bin", "esbuild")
		if out, err := exec.CommandContext(ctx, esbuild, entry, "--bundle", "--format=iife", "--global-name=ExtApps",
			"--platform=browser", "--log-level=warning", "--outfile="+filepath.Join(tmp, "host-bridge.js")).CombinedOutput(); err != nil {
			bridgeOnce.err = fmt.Errorf("esbuild: %v\n%s", err, out)
			return
		}
		if err := os.Rename(tmp, dir); err != nil {
			if _, statErr := os.Stat(bundle); statErr != nil { // else another process won the race
				bridgeOnce.err = fmt.Errorf("%v (remove %s and run again)", err, dir)
				return
			}
		}
		bridgeOnce.path = bundle
	})
	if bridgeOnce.skip != "" {
		t.Skip(bridgeOnce.skip)
	}
	if bridgeOnce.err != nil {
		t.Fatal(bridgeOnce.err)
	}
	return bridgeOnce.path
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

// hostPage is an MCP Apps host built on the extension's AppBridge: it
// iframes the view in a spec-style sandbox (scripts, no popups), gives it
// the host context (theme, style variables, the tool), sends the tool
// input and result once the view is initialized, proxies its tools/call to
// the server, records its ui/open-link requests and sizes, and copies the
// view's DOM and text into its own page (#view-dom, #texts) for
// --dump-dom. Scripted steps: click an element of the view once it shows
// one; send a second result once the view is taller than 200 px.
const hostPage = `<!doctype html><html><head><meta charset="utf-8"><title>test host</title>
<style>body{margin:0;font:14px system-ui;background:#e9e9ee}.chat{max-width:920px;margin:16px auto;padding:0 16px}
.bubble{background:#fff;border-radius:12px;padding:10px 14px;margin:8px 0;box-shadow:0 1px 2px #0002}
iframe{display:block;width:100%%;border:1px solid #d4d4d8;border-radius:10px;height:120px;background:#fff}pre{display:none}</style>
<script src="/host-bridge.js"></script></head>
<body><div class="chat"><div class="bubble">%s</div>
<div class="bubble">Calling <b>%s</b> on fal-video-mcp (dry run)…</div><div id="slot"></div></div>
<pre id="view-dom"></pre><pre id="texts"></pre><pre id="log"></pre>
<script>
const cfg = %s;
const log = [];
function note(kind, v) { log.push(kind + " " + JSON.stringify(v)); document.getElementById("log").textContent = log.join("\n"); }
const frame = document.createElement("iframe");
frame.setAttribute("sandbox", "allow-scripts allow-same-origin"); // same origin only so that the test can read the view's DOM
document.getElementById("slot").appendChild(frame);
const caps = {serverTools: {}};
if (cfg.openLinks) caps.openLinks = {};
if (cfg.sandboxCSP) caps.sandbox = {csp: cfg.csp};
const bridge = new ExtApps.AppBridge(null, {name: "test-host", version: "1"}, caps, {hostContext: {
  theme: cfg.theme, displayMode: "inline", toolInfo: {id: 1, tool: cfg.tool},
  styles: {variables: cfg.variables}}});
let sentSecond = false;
bridge.oninitialized = () => {
  note("initialized", true);
  bridge.sendToolInput({arguments: cfg.input});
  bridge.sendToolResult(cfg.result);
};
bridge.onsizechange = ({width, height}) => {
  note("size", height);
  if (height != null) frame.style.height = height + "px";
  if (cfg.second && !sentSecond && height > 200) { sentSecond = true; note("second", true); bridge.sendToolResult(cfg.second); }
};
bridge.oncalltool = async (params) => {
  note("call", params);
  const r = await fetch("/call", {method: "POST", body: JSON.stringify(params)});
  if (!r.ok) throw new Error(await r.text());
  return await r.json();
};
bridge.onopenlink = async ({url}) => { note("open-link", url); return {}; };
bridge.connect(new ExtApps.PostMessageTransport(frame.contentWindow, frame.contentWindow)).then(
  () => { frame.src = "/view.html"; }, err => note("connect-error", String(err)));
const texts = [];
let clicked = false;
function snap() {
  const d = frame.contentDocument;
  if (!d || !d.body) return;
  document.getElementById("view-dom").textContent = d.body.innerHTML;
  const t = d.body.innerText.replace(/\s+/g, " ").trim();
  if (t && texts[texts.length - 1] !== t) { texts.push(t); document.getElementById("texts").textContent = texts.join("\n"); }
  if (cfg.click && !clicked) {
    const e = d.querySelector(cfg.click);
    if (e) { clicked = true; note("clicked", cfg.click); e.click(); }
  }
}
setInterval(snap, 20);
</script></body></html>`

// hostCase is one page load of the host.
type hostCase struct {
	tool       string         // the tool whose result the view shows (its listing is the host context's toolInfo)
	input      map[string]any // its arguments
	result     *mcp.CallToolResult
	second     *mcp.CallToolResult // sent once the view is taller than 200 px
	click      string              // a CSS selector: the host clicks it once the view shows it
	openLinks  bool                // the host offers ui/open-link
	sandboxCSP bool                // the host tells the view the CSP it applied
	theme      string              // light (default) or dark
	blocked    string              // the one URL the CSP is expected to block, if any
	onCall     func(mcp.CallToolParams)
	shot       string // save a screenshot there
	prompt     string // the user's message in the host's chat
}

// hostRun is what one page load of the host showed and logged.
type hostRun struct {
	viewDOM    string                // the view's body, at the end
	texts      []string              // the view's text, each time it changed
	heights    []int                 // the heights the view reported
	opened     []string              // the URLs of its ui/open-link requests
	calls      []mcp.CallToolParams  // its tools/call requests, as the server got them
	results    []*mcp.CallToolResult // their results
	log        string                // the host's log
	violations []string              // CSP reports
}

// runHost serves the host page and the view (with the CSP a host builds
// from the view's declared domains: SEP-1865's restrictive defaults plus
// them, reporting every violation), proxies the view's tools/call to c,
// and loads the host in headless Chromium with --dump-dom (and once more
// with --screenshot when hc.shot is set).
func runHost(t *testing.T, c *client.Client, hc hostCase) hostRun {
	t.Helper()
	browser := chromium(t)
	bridge := hostBridge(t)
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
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var toolDef any
	for _, tool := range list.Tools {
		if tool.Name == hc.tool {
			toolDef = tool
		}
	}
	if toolDef == nil {
		t.Fatalf("no tool %s", hc.tool)
	}
	if hc.theme == "" {
		hc.theme = "light"
	}
	variables := map[string]string{"--color-background-primary": "#ffffff", "--color-text-primary": "#1f1f23", "--font-sans": "system-ui, sans-serif"}
	if hc.theme == "dark" {
		variables = map[string]string{"--color-background-primary": "#1e1e22", "--color-text-primary": "#ececf1", "--font-sans": "system-ui, sans-serif"}
	}
	cfg, err := json.Marshal(map[string]any{"input": hc.input, "result": hc.result, "second": hc.second, "tool": toolDef,
		"click": hc.click, "openLinks": hc.openLinks, "sandboxCSP": hc.sandboxCSP, "csp": csp, "theme": hc.theme, "variables": variables})
	if err != nil {
		t.Fatal(err)
	}
	if hc.prompt == "" {
		hc.prompt = "Show me the job, please."
	}
	page := fmt.Sprintf(hostPage, html.EscapeString(hc.prompt), html.EscapeString(hc.tool), cfg)

	var mu sync.Mutex
	var run hostRun
	var unexpected []string
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/host.html":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, page)
		case "/host-bridge.js":
			w.Header().Set("Content-Type", "text/javascript")
			http.ServeFile(w, r, bridge)
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
			if hc.onCall != nil {
				mu.Lock() // the browser's calls come on different connections
				hc.onCall(p)
				mu.Unlock()
			}
			req := mcp.CallToolRequest{}
			req.Params = p
			out, err := c.CallTool(r.Context(), req)
			mu.Lock()
			run.calls, run.results = append(run.calls, p), append(run.results, out)
			mu.Unlock()
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			json.NewEncoder(w).Encode(out)
		case "/favicon.ico":
			http.NotFound(w, r)
		default:
			mu.Lock()
			unexpected = append(unexpected, r.Method+" "+r.URL.String())
			mu.Unlock()
			http.NotFound(w, r)
		}
	}))
	defer host.Close()

	load := func(extra ...string) []byte {
		t.Helper()
		rctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		argv := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
			"--user-data-dir=" + t.TempDir(), "--autoplay-policy=no-user-gesture-required", "--hide-scrollbars",
			"--window-size=960,560", "--virtual-time-budget=10000"}, extra...)
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
	run.viewDOM, run.texts, run.log = pre("view-dom"), strings.Split(pre("texts"), "\n"), pre("log")
	for _, line := range strings.Split(run.log, "\n") {
		kind, v, _ := strings.Cut(line, " ")
		switch kind {
		case "size":
			if h, err := strconv.Atoi(v); err == nil {
				run.heights = append(run.heights, h)
			}
		case "open-link":
			var u string
			_ = json.Unmarshal([]byte(v), &u)
			run.opened = append(run.opened, u)
		case "connect-error":
			t.Fatalf("the host bridge did not connect: %s", v)
		}
	}
	if !strings.Contains(run.log, "initialized true") {
		t.Fatalf("the view never completed ui/initialize with the host bridge; host log:\n%s", run.log)
	}
	if len(run.heights) == 0 {
		t.Errorf("the view never sent ui/notifications/size-changed; host log:\n%s", run.log)
	}
	if hc.shot != "" {
		mu.Lock()
		run.calls, run.results, run.violations = nil, nil, nil // the second load repeats them
		mu.Unlock()
		abs, _ := filepath.Abs(hc.shot)
		load("--screenshot=" + abs)
		if b, err := os.ReadFile(abs); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("no screenshot at %s: %v", abs, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, v := range run.violations {
		if hc.blocked == "" || !strings.Contains(v, hc.blocked) {
			t.Errorf("the view asked for something outside its CSP: %s", v)
		}
	}
	if len(unexpected) > 0 {
		t.Errorf("unexpected requests to the host: %v", unexpected)
	}
	return run
}

// videoJob scripts the upscaler to output a real mp4 on the emulator's CDN
// and returns the input's URL and the output's.
func videoJob(t *testing.T, emu *faltest.Server, sc faltest.Script) (in, out string) {
	t.Helper()
	in = emu.AddFile("input.mp4", "video/mp4", demoVideo(t, "input.mp4", "testsrc"))
	out = emu.AddFile("upscaled.mp4", "video/mp4", demoVideo(t, "upscaled.mp4", "testsrc2"))
	sc.Output = map[string]any{"video": map[string]any{"url": out, "content_type": "video/mp4", "file_name": "upscaled.mp4"}}
	emu.SetScript("fal-ai/video-upscaler", sc)
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

// shot is where a test saves its screenshot: FAL_VIDEO_MCP_SCREENSHOTS=dir
// (examples/ holds the committed ones), else nowhere.
func shot(name string) string {
	dir := os.Getenv("FAL_VIDEO_MCP_SCREENSHOTS")
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, name)
}

// TestPlayerInChromium: a completed dry-run job, rendered by the view
// inside the ext-apps host bridge, plays the output in a <video> with the
// input beside it, in the host's light and dark themes; a click on the
// output's link reaches the host as ui/open-link (the sandbox has no
// allow-popups); and the view asks for nothing outside its CSP.
// FAL_VIDEO_MCP_SCREENSHOTS=dir saves screenshots there (examples/ holds
// them).
func TestPlayerInChromium(t *testing.T) {
	chromium(t)
	emu := faltest.NewServer(faltest.Options{Key: testKey})
	t.Cleanup(emu.Close)
	inURL, outURL := videoJob(t, emu, faltest.Script{})
	c, _ := appClient(t, emu, mcp.ProtocolVersion20260728, uiCaps())
	args := map[string]any{"video_url": inURL, "scale": 2, "wait_seconds": 20}
	res := callTool(t, c, "upscale_video", args)
	if res.IsError || jobOf(t, res).Status != tools.StatusCompleted {
		t.Fatalf("upscale_video = %s", text(res))
	}
	for _, tc := range []struct {
		theme, shot string
		openLinks   bool
	}{
		{"light", "player.png", true},
		{"dark", "player-dark.png", true},
		{"light", "", false}, // a host without ui/open-link: a plain link
	} {
		t.Run(fmt.Sprintf("%s, open-link %v", tc.theme, tc.openLinks), func(t *testing.T) {
			emu.ResetRequests()
			run := runHost(t, c, hostCase{tool: "upscale_video", input: args, result: res, theme: tc.theme, openLinks: tc.openLinks,
				click: `a[href="` + outURL + `"]`, prompt: "Upscale my clip 2×, please.", shot: shot(tc.shot)})
			if !strings.Contains(run.viewDOM, `<a href="`+outURL+`" target="_blank" rel="noopener noreferrer">`) {
				t.Errorf("the output has no plain link to open it:\n%s", run.viewDOM)
			}
			if !tc.openLinks {
				if len(run.opened) != 0 {
					t.Errorf("the view asked a host without ui/open-link to open %q", run.opened)
				}
				return
			}
			for _, want := range []string{`<video src="` + outURL + `"`, `<video src="` + inURL + `"`, `data-status="completed"`, "upscaled.mp4"} {
				if !strings.Contains(run.viewDOM, want) {
					t.Errorf("the view shows no %s:\n%s", want, run.viewDOM)
				}
			}
			if !slices.Equal(run.opened, []string{outURL}) {
				t.Errorf("ui/open-link requests reaching the host: %q, want the output's URL; host log:\n%s", run.opened, run.log)
			}
			for _, r := range emu.Requests() {
				if r.Op != faltest.OpFile || r.Method != http.MethodGet {
					t.Errorf("the view made a %s %s request to the emulator", r.Method, r.Path)
				}
			}
		})
	}
}

// TestPlayerFollowsARunningJob: given a job queued behind two others, the
// view shows its queue position, then the job running with its log line,
// then the output, each job_status call stepping the job once. Each call
// waits at most a second (so a change shows within about a second) and
// never more than the server's --max-wait, however low, and passes the
// job's endpoint_id.
func TestPlayerFollowsARunningJob(t *testing.T) {
	chromium(t)
	for _, tc := range []struct {
		name     string
		maxWait  time.Duration
		wantWait int // the most wait_seconds the view may ask for
	}{
		{"default max-wait", 0, 1},
		{"max-wait 3s", 3 * time.Second, 1},
		{"max-wait under a second", 500 * time.Millisecond, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emu := faltest.NewServer(faltest.Options{Key: testKey})
			t.Cleanup(emu.Close)
			_, outURL := videoJob(t, emu, faltest.Script{Ahead: 2, Manual: true, Logs: []string{"denoising 12/30"}})
			c, _ := appClient(t, emu, mcp.ProtocolVersion20260728, uiCaps(), func(o *tools.Options) { o.MaxWait = tc.maxWait })
			args := map[string]any{"video_url": "https://v3.fal.media/files/in.mp4", "wait_seconds": 0}
			res := callTool(t, c, "upscale_video", args)
			job := jobOf(t, res)
			if job.Status != tools.StatusQueued {
				t.Fatalf("upscale_video = %s", text(res))
			}
			calls := 0
			run := runHost(t, c, hostCase{tool: "upscale_video", input: args, result: res, onCall: func(p mcp.CallToolParams) {
				if calls++; p.Name == "job_status" && calls > 1 { // the first call sees the job 2 ahead
					emu.Step(job.RequestID)
				}
			}})
			var statusCalls int
			for _, p := range run.calls {
				if p.Name != "job_status" {
					continue
				}
				statusCalls++
				args, _ := p.Arguments.(map[string]any)
				if w, _ := args["wait_seconds"].(float64); w > float64(tc.wantWait) {
					t.Errorf("the view waits %v s per job_status call; want at most %d s", args["wait_seconds"], tc.wantWait)
				}
				if args["endpoint_id"] != "fal-ai/video-upscaler" {
					t.Errorf("the view's job_status call %v has no endpoint_id", args)
				}
			}
			if statusCalls == 0 {
				t.Fatalf("the view never called job_status; it shows %q", run.texts)
			}
			for i, r := range run.results {
				if r != nil && r.IsError && r.StructuredContent == nil {
					t.Errorf("the view's call %v was refused: %s", run.calls[i].Arguments, text(r))
				}
			}
			order := []string{"2 ahead", "1 ahead", "next in line", "Running", "denoising 12/30", "completed"}
			at := 0
			for _, s := range run.texts {
				for at < len(order) && strings.Contains(s, order[at]) {
					at++
				}
			}
			if at < len(order) {
				t.Errorf("the view never showed %q after %q: it showed\n%s", order[at], order[:at], strings.Join(run.texts, "\n"))
			}
			if !strings.Contains(run.viewDOM, `<video src="`+outURL+`"`) || strings.Contains(run.viewDOM, `class="spinner"`) {
				t.Errorf("the view did not end on the output:\n%s", run.viewDOM)
			}
		})
	}
}

// TestPlayerFailedJob: a failed job shows fal's error as text.
func TestPlayerFailedJob(t *testing.T) {
	chromium(t)
	emu := faltest.NewServer(faltest.Options{Key: testKey})
	t.Cleanup(emu.Close)
	c, _ := appClient(t, emu, mcp.ProtocolVersion20251125, uiCaps())
	emu.SetScript("fal-ai/video-upscaler", faltest.Script{Failure: &faltest.Failure{Status: 422, Error: "video too long: 901 frames, at most 900"}})
	args := map[string]any{"video_url": "https://v3.fal.media/files/in.mp4", "wait_seconds": 20}
	failed := callTool(t, c, "upscale_video", args)
	if !failed.IsError {
		t.Fatalf("a failed job is not an error: %s", text(failed))
	}
	run := runHost(t, c, hostCase{tool: "upscale_video", input: args, result: failed, shot: shot("player-failed.png")})
	if !strings.Contains(run.viewDOM, `data-status="failed"`) || !strings.Contains(run.viewDOM, "video too long: 901 frames") {
		t.Errorf("the view does not show the failure:\n%s", run.viewDOM)
	}
}

// TestPlayerJobFromElsewhere: the view shows a job this server has no
// record of (submitted by another server on the same fal account). It
// passes the job's endpoint_id, so job_status finds it on fal and the view
// follows it to its end; and when fal does not know the job either,
// job_status answers an error without structured content, which the view
// shows, with what to do, instead of spinning.
func TestPlayerJobFromElsewhere(t *testing.T) {
	chromium(t)
	emu := faltest.NewServer(faltest.Options{Key: testKey})
	t.Cleanup(emu.Close)
	_, outURL := videoJob(t, emu, faltest.Script{Manual: true})
	elsewhere, _ := appClient(t, emu, mcp.ProtocolVersion20260728, uiCaps())
	args := map[string]any{"video_url": "https://v3.fal.media/files/in.mp4", "wait_seconds": 0}
	res := callTool(t, elsewhere, "upscale_video", args)
	job := jobOf(t, res)
	c, _ := appClient(t, emu, mcp.ProtocolVersion20260728, uiCaps())

	t.Run("known to fal", func(t *testing.T) {
		run := runHost(t, c, hostCase{tool: "upscale_video", input: args, result: res, onCall: func(mcp.CallToolParams) {
			emu.Finish(job.RequestID)
		}})
		if !strings.Contains(run.viewDOM, `<video src="`+outURL+`"`) {
			t.Errorf("the view did not follow the job to its output: it showed\n%s", strings.Join(run.texts, "\n"))
		}
	})
	t.Run("unknown to fal", func(t *testing.T) {
		gone := job
		gone.RequestID = "0b1c2d3e-gone-4f5a-8b9c-0d1e2f3a4b5c"
		b, _ := json.Marshal(gone)
		var sc map[string]any
		_ = json.Unmarshal(b, &sc)
		result := &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent("upscale_video: queued")}, StructuredContent: sc}
		run := runHost(t, c, hostCase{tool: "upscale_video", input: args, result: result, shot: shot("player-error.png")})
		if len(run.results) == 0 || !run.results[0].IsError || run.results[0].StructuredContent != nil {
			t.Fatalf("job_status did not answer an error without structured content: %+v", run.results)
		}
		last := run.texts[len(run.texts)-1]
		for _, want := range []string{"fal does not know request " + gone.RequestID, "Try again"} {
			if !strings.Contains(last, want) {
				t.Errorf("the view does not show %q; it shows %q", want, last)
			}
		}
		if strings.Contains(run.viewDOM, `class="spinner"`) {
			t.Errorf("the view still spins:\n%s", run.viewDOM)
		}
	})
}

// TestPlayerMediaItCannotLoad: an input on a host outside the view's CSP
// (whether the host says which CSP it applied or not), and an output that
// is not found, each say so with a link to open them, never a silent
// black box.
func TestPlayerMediaItCannotLoad(t *testing.T) {
	chromium(t)
	emu := faltest.NewServer(faltest.Options{Key: testKey})
	t.Cleanup(emu.Close)
	mp4 := demoVideo(t, "other.mp4", "testsrc")
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp4")
		w.Write(mp4)
	}))
	t.Cleanup(other.Close)
	otherURL := other.URL + "/clips/other.mp4"
	_, outURL := videoJob(t, emu, faltest.Script{})
	c, _ := appClient(t, emu, mcp.ProtocolVersion20260728, uiCaps())
	args := map[string]any{"video_url": otherURL, "wait_seconds": 20}
	res := callTool(t, c, "upscale_video", args)
	if jobOf(t, res).Status != tools.StatusCompleted {
		t.Fatalf("upscale_video = %s", text(res))
	}
	missing := emu.CDNURL + "/files/missing/clip.mp4"
	otherHost := strings.TrimPrefix(other.URL, "http://")
	for _, tc := range []struct {
		name       string
		input      map[string]any
		sandboxCSP bool
		blocked    string
		want       []string
		shot       string
	}{
		{"other host, CSP told", args, true, "", []string{"not among the hosts", otherHost}, "player-other-host.png"},
		{"other host, CSP not told", args, false, otherURL, []string{"not among the hosts", otherHost}, ""},
		{"not found", map[string]any{"video_url": missing}, false, "", []string{"could not be loaded"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := runHost(t, c, hostCase{tool: "upscale_video", input: tc.input, result: res, sandboxCSP: tc.sandboxCSP,
				blocked: tc.blocked, shot: shot(tc.shot), prompt: "Upscale this clip: " + fmt.Sprint(tc.input["video_url"])})
			last := run.texts[len(run.texts)-1]
			for _, want := range tc.want {
				if !strings.Contains(last, want) {
					t.Errorf("the view does not say %q; it shows %q", want, last)
				}
			}
			link := fmt.Sprint(tc.input["video_url"])
			if !strings.Contains(run.viewDOM, `href="`+link+`"`) {
				t.Errorf("the view gives no link to %s:\n%s", link, run.viewDOM)
			}
			if !strings.Contains(run.viewDOM, `<video src="`+outURL+`"`) {
				t.Errorf("the output no longer plays:\n%s", run.viewDOM)
			}
		})
	}
}

// TestPlayerShrinks: the view reports a smaller height when its content
// shrinks (a tall completed job replaced by a short failed one).
func TestPlayerShrinks(t *testing.T) {
	chromium(t)
	emu := faltest.NewServer(faltest.Options{Key: testKey})
	t.Cleanup(emu.Close)
	inURL, _ := videoJob(t, emu, faltest.Script{})
	c, _ := appClient(t, emu, mcp.ProtocolVersion20260728, uiCaps())
	args := map[string]any{"video_url": inURL, "wait_seconds": 20}
	done := callTool(t, c, "upscale_video", args)
	emu.SetScript("fal-ai/video-upscaler", faltest.Script{Failure: &faltest.Failure{Status: 422, Error: "video too long"}})
	failed := callTool(t, c, "upscale_video", map[string]any{"video_url": "https://v3.fal.media/files/in.mp4", "wait_seconds": 20})
	run := runHost(t, c, hostCase{tool: "upscale_video", input: args, result: done, second: failed})
	if !strings.Contains(run.log, "second true") {
		t.Fatalf("the view never grew past 200 px: heights %v", run.heights)
	}
	tallest := slices.Max(run.heights)
	last := run.heights[len(run.heights)-1]
	if last >= tallest || last > 150 {
		t.Errorf("the view did not shrink: heights %v", run.heights)
	}
}
