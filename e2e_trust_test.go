package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// TestEchoedSecretsNeverShown: with canary values in FAL_KEY and
// FAL_VIDEO_MCP_AUTH_TOKEN and an emulated fal whose apps echo the key
// into log lines, error bodies and results, in every form the emulator
// knows (as sent, JSON \u escapes on the wire, percent-encoding, base64,
// \u escapes inside the text), the canaries appear nowhere, in any of
// those forms: not in --help, not on stderr at debug level, not in any
// tool result (every byte of stdout), not in the ledger's files, not in
// doctor --online. Both protocol eras.
func TestEchoedSecretsNeverShown(t *testing.T) {
	const keyID, keySecret = "canary-keyid-5f0c2a", "canary-keysecret-9d81e4b7"
	const falKey = keyID + ":" + keySecret
	const token = "canary-auth-token-77aa31"
	canaries := []string{falKey, keyID, keySecret, token}

	for i, form := range faltest.EchoForms {
		version := []string{mcp.ProtocolVersion20251125, mcp.LATEST_PROTOCOL_VERSION}[i%2]
		t.Run(form.String(), func(t *testing.T) {
			emu := faltest.NewServer(faltest.Options{Key: falKey, LogWindow: 10})
			defer emu.Close()
			ok, fail := schemas.Catalog[0], schemas.Catalog[1]
			emu.SetScript(ok.ID, faltest.Script{EchoKey: true, EchoForm: form, Logs: []string{"loading", "encoding"},
				Output: emu.ServeOutputFiles(schemas.ExampleOutput(ok.Tool))})
			emu.SetScript(fail.ID, faltest.Script{EchoKey: true, EchoForm: form, Logs: []string{"loading"},
				Failure: &faltest.Failure{Status: 500, Error: "the model crashed"}})

			stateDir := t.TempDir()
			vars := map[string]string{"FAL_KEY": falKey, "FAL_VIDEO_MCP_AUTH_TOKEN": token, "FAL_QUEUE_URL": emu.QueueURL,
				"FAL_REST_URL": emu.RestURL, "FAL_VIDEO_MCP_STATE_DIR": stateDir, "FAL_VIDEO_MCP_LOG_LEVEL": "debug"}

			var help, helpOut lockedBuffer
			if code := run(context.Background(), []string{"--help"}, env(vars), strings.NewReader(""), &helpOut, &help); code != 0 {
				t.Fatalf("--help exit %d", code)
			}
			if !strings.Contains(help.String(), "(env FAL_VIDEO_MCP_AUTH_TOKEN)") {
				t.Errorf("--help does not name the token's variable:\n%s", help.String())
			}

			p := runPiped(t, version, nil, vars)
			ctx := ctxE2E(t)
			for _, row := range []schemas.Endpoint{ok, fail} {
				var args map[string]any
				if err := json.Unmarshal(schemas.ExampleInput(row.Tool), &args); err != nil {
					t.Fatal(err)
				}
				args["wait_seconds"] = 30
				_, job, err := callTool(ctx, p.client, row.Tool, args, nil)
				if err != nil || !finishedStatus(job.Status) {
					t.Fatalf("%s = %+v, %v", row.Tool, job, err)
				}
				for _, name := range []string{"job_status", "job_result"} {
					if _, _, err := callTool(ctx, p.client, name, map[string]any{"request_id": job.RequestID, "endpoint_id": row.ID}, nil); err != nil {
						t.Fatal(err)
					}
				}
			}
			if _, _, err := callTool(ctx, p.client, "job_list", map[string]any{}, nil); err != nil {
				t.Fatal(err)
			}
			if code := p.stop(); code != 0 {
				t.Errorf("exit %d", code)
			}
			stdout, stderr := p.stdout.String(), p.stderr.String() // run has returned: all is written
			var ledger strings.Builder
			_ = filepath.WalkDir(stateDir, func(path string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					b, _ := os.ReadFile(path)
					ledger.Write(b)
				}
				return nil
			})

			// doctor --online, when fal's refusal echoes the key.
			emu.Inject(faltest.Fault{Op: faltest.OpStatus, Status: 401, EchoKey: true, EchoForm: form})
			var doctorOut, doctorErr lockedBuffer
			if code := run(context.Background(), []string{"doctor", "--online"}, env(vars), strings.NewReader(""), &doctorOut, &doctorErr); code != 1 {
				t.Errorf("doctor --online with a refused key: exit %d\n%s", code, doctorOut.String())
			}
			doctor := doctorOut.String() + doctorErr.String()

			// The apps did echo, and the echo reached every place checked below.
			for place, text := range map[string]string{"tool results": stdout, "ledger": ledger.String(), "doctor": doctor} {
				if !strings.Contains(jsonUnescaped(text), "Authorization: Key [REDACTED]") {
					t.Errorf("no redacted echo in the %s: the test did not exercise the echo", place)
				}
			}
			for place, text := range map[string]string{"--help": help.String() + helpOut.String(), "stderr": stderr,
				"tool results": stdout, "ledger": ledger.String(), "doctor": doctor} {
				for _, c := range canaries {
					if form, ok := revealed(text, c); ok {
						t.Errorf("%q leaked into the %s (%s)", c, place, form)
					}
				}
			}
			if !strings.Contains(stderr, "level=DBG") && !strings.Contains(stderr, "DBG") {
				t.Errorf("stderr has no debug lines:\n%s", stderr)
			}
		})
	}
}

// revealed reports whether text shows secret in any form: as it is, once
// JSON \u escapes are decoded (however deeply nested), percent-decoded,
// or in base64 (standard or URL alphabet, at any alignment).
func revealed(text, secret string) (string, bool) {
	if strings.Contains(text, secret) {
		return "as it is", true
	}
	if strings.Contains(jsonUnescaped(text), secret) {
		return "JSON-escaped", true
	}
	if strings.Contains(percentDecoded(jsonUnescaped(text)), secret) {
		return "percent-encoded", true
	}
	for k := 0; k < 3; k++ {
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, k), secret...))
		core := enc[(8*k+5)/6 : (8*(k+len(secret)))/6]
		for _, c := range []string{core, strings.NewReplacer("+", "-", "/", "_").Replace(core)} {
			if strings.Contains(text, c) {
				return "base64", true
			}
		}
	}
	return "", false
}

// jsonUnescaped decodes every \uXXXX escape (with any number of
// backslashes before the u) until none is left.
func jsonUnescaped(s string) string {
	for {
		out := unicodeEscape.ReplaceAllStringFunc(s, func(m string) string {
			n, _ := strconv.ParseUint(m[len(m)-4:], 16, 16)
			return string(rune(n))
		})
		if out == s {
			return s
		}
		s = out
	}
}

var unicodeEscape = regexp.MustCompile(`\\+u[0-9a-fA-F]{4}`)

// percentDecoded decodes every %XX, leaving other text as it is.
func percentDecoded(s string) string {
	return percentEscape.ReplaceAllStringFunc(s, func(m string) string {
		n, _ := strconv.ParseUint(m[1:], 16, 8)
		return string([]byte{byte(n)})
	})
}

var percentEscape = regexp.MustCompile(`%[0-9a-fA-F]{2}`)

func finishedStatus(s string) bool { return s == "completed" || s == "failed" }

// countingRoots answers roots/list with the filesystem root, file:///,
// and counts how often it was asked.
type countingRoots struct{ asked atomic.Int32 }

func (r *countingRoots) ListRoots(context.Context, mcp.ListRootsRequest) (*mcp.ListRootsResult, error) {
	r.asked.Add(1)
	return &mcp.ListRootsResult{Roots: []mcp.Root{{URI: "file:///", Name: "everything"}}}, nil
}

// TestRootsNeverWidenTheSandbox: a client that shares file:/// as its MCP
// root reads nothing outside --allow-dir: over stdio the root is ignored
// with a warning; over HTTP, and with --no-roots, roots are not even
// asked for. No byte of the
// outside file reaches fal; a file inside --allow-dir still uploads.
func TestRootsNeverWidenTheSandbox(t *testing.T) {
	allowed, outside := t.TempDir(), t.TempDir()
	inside := filepath.Join(allowed, "clip.mp4")
	secret := filepath.Join(outside, "secret.mp4")
	for _, f := range []string{inside, secret} {
		if err := os.WriteFile(f, []byte("\x00\x00\x00\x18ftypisom "+f), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		name, transport string
		args            []string
	}{
		{"stdio", "stdio", nil},
		{"stdio --no-roots", "stdio", []string{"--no-roots"}},
		{"http", "http", nil},
	} {
		transportName := tt.transport
		t.Run(tt.name, func(t *testing.T) {
			emu := faltest.NewServer(faltest.Options{Key: e2eKey})
			defer emu.Close()
			env := []string{"FAL_KEY=" + e2eKey, "FAL_QUEUE_URL=" + emu.QueueURL, "FAL_REST_URL=" + emu.RestURL,
				"FAL_VIDEO_MCP_STATE_DIR=" + t.TempDir()}
			rootsHandler := &countingRoots{}
			var c *client.Client
			var stderr *lockedBuffer
			if transportName == "stdio" {
				cmd := exec.Command(binary(t), append([]string{"--allow-dir", allowed}, tt.args...)...)
				cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
				stdin, _ := cmd.StdinPipe()
				stdout, _ := cmd.StdoutPipe()
				stderr = &lockedBuffer{}
				cmd.Stderr = stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
				c = client.NewClient(transport.NewIO(stdout, stdin, io.NopCloser(strings.NewReader(""))), client.WithRootsHandler(rootsHandler))
			} else {
				var base string
				base, stderr, _ = startHTTPWith(t, append(env, "FAL_VIDEO_MCP_AUTH_TOKEN="+httpToken), "--transport", "http", "--allow-dir", allowed)
				tr, err := transport.NewStreamableHTTP(base+"/mcp", transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + httpToken}))
				if err != nil {
					t.Fatal(err)
				}
				c = client.NewClient(tr, client.WithRootsHandler(rootsHandler))
			}
			defer c.Close()
			ctx := ctxE2E(t)
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
			init := mcp.InitializeRequest{}
			init.Params.ProtocolVersion = mcp.ProtocolVersion20251125
			if _, err := c.Initialize(ctx, init); err != nil {
				t.Fatal(err)
			}
			for _, path := range []string{secret, "file://" + secret, "/etc/passwd"} {
				res, _, err := callTool(ctx, c, "upload_file", map[string]any{"path": path}, nil)
				if err != nil || !res.IsError {
					t.Errorf("upload_file %s was not refused: %v %v", path, res, err)
				}
			}
			var sent int64
			for _, r := range emu.Requests() {
				sent += r.BodySize
			}
			if sent != 0 {
				t.Errorf("%d bytes reached fal from refused files", sent)
			}
			if res, _, err := callTool(ctx, c, "upload_file", map[string]any{"path": inside}, nil); err != nil || res.IsError {
				t.Errorf("upload_file inside --allow-dir = %v, %v", res, err)
			}
			rootsOn := transportName == "stdio" && len(tt.args) == 0
			switch asked := rootsHandler.asked.Load(); {
			case !rootsOn && asked != 0:
				t.Errorf("with roots off (%s) the server asked the client for its roots %d times", tt.name, asked)
			case rootsOn && asked == 0:
				t.Error("over stdio the server never asked for roots: the test did not exercise them")
			case rootsOn && !strings.Contains(stderr.String(), "filesystem root"):
				t.Errorf("no warning about the filesystem root on stderr:\n%s", stderr.String())
			}
		})
	}
}

// TestHTTPSessionsBounded opens 20,000 streamable HTTP sessions and
// abandons them. The server answers every request (a session or 503 with
// Retry-After), never holds more live sessions than --max-sessions, drops
// idle ones (the run outlasts the idle timeout, so places free up), and
// its heap stays bounded; a forged session id gets 404.
func TestHTTPSessionsBounded(t *testing.T) {
	const total, maxSessions, workers = 20000, 500, 4
	cfg, err := parseFlags([]string{"--transport", "http", "--max-sessions", "500", "--session-idle-timeout", "1s"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	emu := faltest.NewServer(faltest.Options{})
	defer emu.Close()
	fal, _ := falqueue.New(falqueue.Config{QueueURL: emu.QueueURL, RestURL: emu.RestURL})
	srv, err := tools.NewServer(tools.Options{Fal: fal})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	handler, sessions, shutdown := httpHandler(srv, cfg, ts.Listener.Addr().String(), slog.New(slog.DiscardHandler))
	ts.Config.Handler = handler
	ts.Start()
	defer ts.Close()
	defer shutdown(context.Background())
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}

	post := func(body, session string) (*http.Response, error) {
		req, _ := http.NewRequest("POST", ts.URL+"/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
			req.Header.Set("Mcp-Protocol-Version", mcp.ProtocolVersion20251125)
		}
		resp, err := hc.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return resp, err
	}
	const initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"abandoner","version":"1"}}}`

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var opened, refused, maxLive atomic.Int64
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= total {
				resp, err := post(initialize, "")
				if err != nil {
					t.Errorf("request failed: %v", err)
					return
				}
				switch {
				case resp.StatusCode == http.StatusOK && resp.Header.Get("Mcp-Session-Id") != "":
					opened.Add(1)
				case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
					refused.Add(1)
				default:
					t.Errorf("initialize answered %d (Retry-After %q)", resp.StatusCode, resp.Header.Get("Retry-After"))
					return
				}
				live := int64(sessions.Live())
				for m := maxLive.Load(); live > m && !maxLive.CompareAndSwap(m, live); m = maxLive.Load() {
				}
			}
		}()
	}
	wg.Wait()
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d sessions opened, %d refused with 503, at most %d live; heap %d MiB → %d MiB",
		opened.Load(), refused.Load(), maxLive.Load(), before.HeapAlloc>>20, after.HeapAlloc>>20)
	if maxLive.Load() > maxSessions {
		t.Errorf("%d live sessions, over --max-sessions %d", maxLive.Load(), maxSessions)
	}
	if opened.Load() < maxSessions {
		t.Errorf("only %d sessions opened", opened.Load())
	}
	if growth > 64<<20 {
		t.Errorf("the heap grew by %d MiB over %d abandoned sessions", growth>>20, total)
	}
	// The server still answers, and a forged session id gets 404.
	const list = `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`
	for _, forged := range []string{"mcp-session-00000000000000000000000000000000", "mcp-session-" + strings.Repeat("z", 36), "x"} {
		resp, err := post(list, forged)
		if err != nil || resp.StatusCode != http.StatusNotFound {
			t.Errorf("forged session %q: %v %v, want 404", forged, resp, err)
		}
	}
	resp, err := http.Get(ts.URL + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("healthz after the flood: %v %v", resp, err)
	}
}

// TestOwnOriginAccepted: the DNS-rebinding scenario of the MCP
// conformance suite. Listening on 127.0.0.1 with no flags, a request with
// Host and Origin localhost:PORT is served; a foreign Origin is still 403.
func TestOwnOriginAccepted(t *testing.T) {
	base, _, _ := startHTTPWith(t, []string{"FAL_VIDEO_MCP_DRY_RUN=1"}, "--transport", "http")
	port := base[strings.LastIndex(base, ":")+1:]
	const initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`
	for _, tt := range []struct {
		host, origin string
		want         int
	}{
		{"localhost:" + port, "http://localhost:" + port, 200},
		{"127.0.0.1:" + port, "http://127.0.0.1:" + port, 200},
		{"localhost:" + port, "http://[::1]:" + port, 200},
		{"localhost:" + port, "http://evil.example", 403},
		{"localhost:" + port, "http://localhost:1", 403},
		{"evil.example:" + port, "http://evil.example:" + port, 403},
	} {
		req, _ := http.NewRequest("POST", base+"/mcp", strings.NewReader(initialize))
		req.Host = tt.host
		req.Header.Set("Origin", tt.origin)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("Host %s, Origin %s = %d, want %d", tt.host, tt.origin, resp.StatusCode, tt.want)
		}
	}
}
