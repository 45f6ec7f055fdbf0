package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// streamServer serves tools backed by emu over the HTTP transport args
// choose, in process, and returns its base URL.
func streamServer(t *testing.T, emu *faltest.Server, args ...string) (string, *http.Client) {
	t.Helper()
	cfg, err := parseFlags(args, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	fal, _ := falqueue.New(falqueue.Config{QueueURL: emu.QueueURL, RestURL: emu.RestURL})
	ctx, cancel := context.WithCancel(context.Background())
	var bg sync.WaitGroup
	srv, err := tools.NewServer(tools.Options{Fal: fal, Context: ctx, Background: &bg})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	handler, _, shutdown := httpHandler(srv, cfg, ts.Listener.Addr().String(), slog.New(slog.DiscardHandler))
	ts.Config.Handler = handler
	ts.Start()
	t.Cleanup(func() {
		cancel()
		_ = shutdown(context.Background())
		ts.CloseClientConnections()
		ts.Close()
		bg.Wait()
	})
	return ts.URL, &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 200, MaxConnsPerHost: 0}}
}

// rawSession is a streamable HTTP client of the 2025-11-25 era written
// with net/http, so the test sees which stream each message arrives on
// (mcp-go's client merges them).
type rawSession struct {
	base, id string
	hc       *http.Client
}

func (s *rawSession) post(ctx context.Context, body any) (*http.Response, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx, "POST", s.base+"/mcp", strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", mcp.ProtocolVersion20251125)
	if s.id != "" {
		req.Header.Set("Mcp-Session-Id", s.id)
	}
	return s.hc.Do(req)
}

// call posts a request and reads its answer stream whole: the messages
// before the response, and the response.
func (s *rawSession) call(ctx context.Context, body any, onMessage func(map[string]any)) (map[string]any, error) {
	resp, err := s.post(ctx, body)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
	}
	if id := resp.Header.Get("Mcp-Session-Id"); id != "" {
		s.id = id
	}
	if resp.StatusCode == http.StatusAccepted {
		return nil, nil
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		var msg map[string]any
		err := json.NewDecoder(resp.Body).Decode(&msg)
		return msg, err
	}
	var final map[string]any
	err = readSSE(resp.Body, func(msg map[string]any) bool {
		if _, isResponse := msg["id"]; isResponse && msg["method"] == nil {
			final = msg
			return false
		}
		onMessage(msg)
		return true
	})
	if final == nil && err == nil {
		err = fmt.Errorf("the stream ended without a response")
	}
	return final, err
}

// readSSE calls each with every JSON message of an SSE stream until it
// returns false or the stream ends.
func readSSE(r io.Reader, each func(map[string]any) bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	var data strings.Builder
	for sc.Scan() {
		line := sc.Text()
		if d, ok := strings.CutPrefix(line, "data:"); ok {
			data.WriteString(strings.TrimPrefix(d, " "))
			continue
		}
		if line != "" || data.Len() == 0 {
			continue
		}
		var msg map[string]any
		if err := json.Unmarshal([]byte(data.String()), &msg); err != nil {
			return fmt.Errorf("bad SSE data %q: %v", data.String(), err)
		}
		data.Reset()
		if !each(msg) {
			return nil
		}
	}
	return sc.Err()
}

// listen opens a standing GET stream and calls each with what arrives on
// it until ctx ends.
func (s *rawSession) listen(ctx context.Context, each func(map[string]any)) (*http.Response, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/mcp", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", mcp.ProtocolVersion20251125)
	if s.id != "" {
		req.Header.Set("Mcp-Session-Id", s.id)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return resp, nil
	}
	go func() {
		defer resp.Body.Close()
		_ = readSSE(resp.Body, func(m map[string]any) bool { each(m); return true })
	}()
	return resp, nil
}

func (s *rawSession) initialize(ctx context.Context, logLevel string) error {
	init := map[string]any{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": map[string]any{
		"protocolVersion": mcp.ProtocolVersion20251125, "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "streams", "version": "1"}}}
	if _, err := s.call(ctx, init, func(map[string]any) {}); err != nil {
		return err
	}
	if _, err := s.call(ctx, map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"}, nil); err != nil {
		return err
	}
	if logLevel != "" {
		_, err := s.call(ctx, map[string]any{"jsonrpc": "2.0", "id": 2, "method": "logging/setLevel", "params": map[string]any{"level": logLevel}}, func(map[string]any) {})
		return err
	}
	return nil
}

// manualJobs scripts every endpoint of the catalog as a manual job: it
// waits in the queue until the test steps it.
func manualJobs(emu *faltest.Server) {
	for _, row := range schemas.Catalog {
		emu.SetScript(row.ID, faltest.Script{Ahead: 2, Manual: true, Logs: []string{"loading", "frame 1", "frame 2", "encoding"}})
	}
}

// TestProgressOnItsOwnStream: 50 streamable HTTP clients at once, each
// calling a long job with its own progress token, each also holding a
// standing GET stream (stateful) or beside a stranger listening on a GET
// stream (stateless). Every progress and log notification of a call
// arrives on that call's POST stream, carries that call's token (or its
// job's request id), in increasing order, and nothing of it reaches a GET
// stream or another client.
func TestProgressOnItsOwnStream(t *testing.T) {
	const clients = 50
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"stateful", []string{"--transport", "http", "--max-sessions", "200"}},
		{"stateless", []string{"--transport", "http", "--stateless"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			emu := faltest.NewServer(faltest.Options{})
			defer emu.Close()
			manualJobs(emu)
			base, hc := streamServer(t, emu, tt.args...)
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			stateless := strings.Contains(strings.Join(tt.args, " "), "--stateless")

			var mu sync.Mutex
			var onGET []string // what a GET stream received
			listenCtx, stopListening := context.WithCancel(ctx)
			defer stopListening()
			if stateless { // a stranger listening, as a second user might
				stranger := &rawSession{base: base, hc: hc}
				if resp, err := stranger.listen(listenCtx, func(m map[string]any) {
					mu.Lock()
					defer mu.Unlock()
					b, _ := json.Marshal(m)
					onGET = append(onGET, "stranger: "+string(b))
				}); err != nil {
					t.Fatal(err)
				} else if resp.StatusCode != http.StatusOK {
					t.Logf("stateless GET answered %d", resp.StatusCode)
				}
			}

			started := make(chan struct{}, clients) // one per client at its first progress
			type outcome struct {
				token     string
				progress  []float64
				strangers []string // notifications of another call
				requestID string
				logIDs    []string
				err       error
			}
			results := make([]outcome, clients)
			var wg sync.WaitGroup
			for i := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					out := &results[i]
					out.token = fmt.Sprintf("tok-%d", i)
					s := &rawSession{base: base, hc: hc}
					level := "debug"
					if stateless {
						level = ""
					}
					if out.err = s.initialize(ctx, level); out.err != nil {
						started <- struct{}{}
						return
					}
					var once sync.Once
					first := func() { once.Do(func() { started <- struct{}{} }) }
					defer first()
					if !stateless {
						resp, err := s.listen(listenCtx, func(m map[string]any) {
							mu.Lock()
							defer mu.Unlock()
							b, _ := json.Marshal(m)
							onGET = append(onGET, out.token+"'s GET: "+string(b))
							if m["method"] == "notifications/progress" {
								first()
							}
						})
						if err != nil || resp.StatusCode != http.StatusOK {
							out.err = fmt.Errorf("GET stream: %v %v", resp, err)
							return
						}
					}
					call := map[string]any{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": map[string]any{
						"name":      "upscale_video",
						"arguments": map[string]any{"video_url": fmt.Sprintf("https://example.com/in-%d.mp4", i), "wait_seconds": 50},
						"_meta":     map[string]any{"progressToken": out.token},
					}}
					final, err := s.call(ctx, call, func(m map[string]any) {
						params, _ := m["params"].(map[string]any)
						switch m["method"] {
						case "notifications/progress":
							if params["progressToken"] != out.token {
								out.strangers = append(out.strangers, fmt.Sprint(params))
								return
							}
							p, _ := params["progress"].(float64)
							out.progress = append(out.progress, p)
							first()
						case "notifications/message":
							data, _ := params["data"].(map[string]any)
							out.logIDs = append(out.logIDs, fmt.Sprint(data["request_id"]))
						}
					})
					if err != nil {
						out.err = err
						return
					}
					result, _ := final["result"].(map[string]any)
					sc, _ := result["structuredContent"].(map[string]any)
					out.requestID, _ = sc["request_id"].(string)
					if sc["status"] != tools.StatusCompleted {
						out.err = fmt.Errorf("call ended with %v", final)
					}
				}()
			}
			for range clients {
				select {
				case <-started:
				case <-ctx.Done():
					t.Fatal("not every client saw its first progress")
				}
			}
			// Every job is queued and every client has heard so: run them.
			for _, j := range emu.Jobs() {
				for {
					if _, ok := emu.Step(j.RequestID); !ok {
						break
					}
				}
			}
			wg.Wait()
			stopListening()

			for _, out := range results {
				if out.err != nil {
					t.Errorf("%s: %v", out.token, out.err)
					continue
				}
				if len(out.progress) == 0 {
					t.Errorf("%s: no progress on the call's own stream", out.token)
				}
				for k := 1; k < len(out.progress); k++ {
					if out.progress[k] <= out.progress[k-1] {
						t.Errorf("%s: progress out of order: %v", out.token, out.progress)
						break
					}
				}
				if len(out.strangers) > 0 {
					t.Errorf("%s: got %d notifications of other calls, e.g. %s", out.token, len(out.strangers), out.strangers[0])
				}
				for _, id := range out.logIDs {
					if id != out.requestID {
						t.Errorf("%s: a log line of job %s on the stream of job %s", out.token, id, out.requestID)
						break
					}
				}
				if !stateless && len(out.logIDs) == 0 {
					t.Errorf("%s: no log notification on the call's own stream", out.token)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for _, m := range onGET {
				if strings.Contains(m, "notifications/progress") || strings.Contains(m, "notifications/message") {
					t.Errorf("%d messages of calls arrived on GET streams, e.g. %s", len(onGET), onGET[0])
					break
				}
			}
		})
	}
}

// TestStreamsBounded: long-lived streams are bounded. Legacy SSE
// connections count against --max-sessions (one more gets 503 with
// Retry-After); one streamable HTTP session holds at most 4 standing GET
// streams (one more gets 409); a stateless server has no GET stream
// (405). The streams held open and the server's goroutines stay within
// the caps however many are asked for.
func TestStreamsBounded(t *testing.T) {
	const attempts = 300
	emu := faltest.NewServer(faltest.Options{})
	defer emu.Close()

	// hold opens GET streams on path until attempts are made and returns
	// how many were accepted and the statuses of the others.
	hold := func(t *testing.T, ctx context.Context, hc *http.Client, url, listen string, header map[string]string) (accepted int, refused map[int]int, retryAfter bool) {
		refused = map[int]int{}
		retryAfter = true
		for range attempts {
			req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
			req.Header.Set("Accept", "text/event-stream")
			if listen != "" {
				req, _ = http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(listen))
				req.Header.Set("Accept", "application/json, text/event-stream")
				req.Header.Set("Content-Type", "application/json")
			}
			for k, v := range header {
				req.Header.Set(k, v)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode == http.StatusOK {
				accepted++ // held open until ctx ends
				continue
			}
			refused[resp.StatusCode]++
			if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
				retryAfter = false
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return accepted, refused, retryAfter
	}
	measure := func() (goroutines int, heap uint64) {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return runtime.NumGoroutine(), m.HeapAlloc
	}

	for _, tt := range []struct {
		name         string
		args         []string
		path         string
		session      bool // open the streams on one initialized session
		wantAccepted int
		wantRefused  int // status of the others
	}{
		{"legacy SSE", []string{"--transport", "sse", "--max-sessions", "20"}, "/sse", false, 20, http.StatusServiceUnavailable},
		{"GET streams of one session", []string{"--transport", "http"}, "/mcp", true, 4, http.StatusConflict},
		{"stateless GET", []string{"--transport", "http", "--stateless"}, "/mcp", false, 0, http.StatusMethodNotAllowed},
		{"2026 listen streams", []string{"--transport", "http", "--max-sessions", "20"}, "/mcp", false, 20, http.StatusServiceUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			base, hc := streamServer(t, emu, tt.args...)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			header := map[string]string{"Mcp-Protocol-Version": mcp.ProtocolVersion20251125}
			listen := ""
			if strings.HasPrefix(tt.name, "2026") {
				header["Mcp-Protocol-Version"] = mcp.ProtocolVersion20260728
				header["Mcp-Method"] = "subscriptions/listen"
				listen = `{"jsonrpc":"2.0","id":1,"method":"subscriptions/listen","params":{"notifications":{"toolsListChanged":true},` +
					`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"x","version":"1"},` +
					`"io.modelcontextprotocol/clientCapabilities":{}}}}`
			}
			if tt.session {
				s := &rawSession{base: base, hc: hc}
				if err := s.initialize(ctx, ""); err != nil {
					t.Fatal(err)
				}
				header["Mcp-Session-Id"] = s.id
			}
			g0, h0 := measure()
			accepted, refused, retryAfter := hold(t, ctx, hc, base+tt.path, listen, header)
			g1, h1 := measure()
			t.Logf("%d streams asked for: %d held open, refused %v; goroutines %d → %d, heap %d KiB → %d KiB",
				attempts, accepted, refused, g0, g1, h0>>10, h1>>10)
			if accepted != tt.wantAccepted || refused[tt.wantRefused] != attempts-tt.wantAccepted {
				t.Errorf("%d streams held open, refused %v; want %d open and %d refused with %d",
					accepted, refused, tt.wantAccepted, attempts-tt.wantAccepted, tt.wantRefused)
			}
			if !retryAfter {
				t.Error("a 503 without Retry-After")
			}
			// Each stream held costs a few goroutines (client and server);
			// refused ones cost none once answered.
			if grown := g1 - g0; grown > 10*tt.wantAccepted+50 {
				t.Errorf("goroutines grew by %d for %d streams held open", grown, accepted)
			}
		})
	}
}

// TestProgressInOrderEveryTransport: through mcp-go's client, concurrent
// clients each see only their own call's progress, in increasing order,
// over legacy SSE, streamable HTTP with a standing GET stream open
// (2025-11-25) and streamable HTTP of the 2026-07-28 era.
func TestProgressInOrderEveryTransport(t *testing.T) {
	const clients = 20
	for _, tt := range []struct {
		name    string
		args    []string
		version string
	}{
		{"legacy SSE", []string{"--transport", "sse"}, mcp.ProtocolVersion20251125},
		{"streamable HTTP with a GET stream", []string{"--transport", "http"}, mcp.ProtocolVersion20251125},
		{"streamable HTTP 2026", []string{"--transport", "http"}, mcp.ProtocolVersion20260728},
	} {
		t.Run(tt.name, func(t *testing.T) {
			emu := faltest.NewServer(faltest.Options{})
			defer emu.Close()
			manualJobs(emu)
			base, _ := streamServer(t, emu, tt.args...)
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			type outcome struct {
				mu        sync.Mutex
				progress  []float64
				strangers []string
				err       error
			}
			results := make([]outcome, clients)
			started := make(chan struct{}, clients)
			var wg sync.WaitGroup
			for i := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					out := &results[i]
					token := fmt.Sprintf("tok-%d", i)
					var once sync.Once
					first := func() { once.Do(func() { started <- struct{}{} }) }
					defer first()
					var c *client.Client
					var err error
					if tt.args[1] == "sse" {
						c, err = client.NewSSEMCPClient(base + "/sse")
					} else {
						c, err = client.NewStreamableHttpClient(base+"/mcp", transport.WithContinuousListening())
					}
					if err != nil {
						out.err = err
						return
					}
					defer c.Close()
					c.OnNotification(func(n mcp.JSONRPCNotification) {
						if n.Method != "notifications/progress" {
							return
						}
						out.mu.Lock()
						defer out.mu.Unlock()
						if got := n.Params.AdditionalFields["progressToken"]; got != token {
							out.strangers = append(out.strangers, fmt.Sprint(got))
							return
						}
						p, _ := n.Params.AdditionalFields["progress"].(float64)
						out.progress = append(out.progress, p)
						first()
					})
					if out.err = c.Start(ctx); out.err != nil {
						return
					}
					init := mcp.InitializeRequest{}
					init.Params.ProtocolVersion = tt.version
					if _, out.err = c.Initialize(ctx, init); out.err != nil {
						return
					}
					args := map[string]any{"video_url": fmt.Sprintf("https://example.com/in-%d.mp4", i), "wait_seconds": 50}
					_, job, err := callTool(ctx, c, "upscale_video", args, &mcp.Meta{ProgressToken: token})
					if err == nil && job.Status != tools.StatusCompleted {
						err = fmt.Errorf("the call ended with the job %s", job.Status)
					}
					out.mu.Lock()
					out.err = err
					out.mu.Unlock()
				}()
			}
			for range clients {
				select {
				case <-started:
				case <-ctx.Done():
					t.Fatal("not every client saw its first progress")
				}
			}
			for _, j := range emu.Jobs() {
				for {
					if _, ok := emu.Step(j.RequestID); !ok {
						break
					}
				}
			}
			wg.Wait()
			for i := range results {
				out := &results[i]
				out.mu.Lock()
				if out.err != nil {
					t.Errorf("client %d: %v", i, out.err)
				}
				if len(out.progress) == 0 {
					t.Errorf("client %d: no progress", i)
				}
				for k := 1; k < len(out.progress); k++ {
					if out.progress[k] <= out.progress[k-1] {
						t.Errorf("client %d: progress out of order: %v", i, out.progress)
						break
					}
				}
				if len(out.strangers) > 0 {
					t.Errorf("client %d: progress of other calls: %v", i, out.strangers)
				}
				out.mu.Unlock()
			}
		})
	}
}

// TestCancelledGetsNoResponse: a request the client cancelled
// (notifications/cancelled with its id) gets no response, as the MCP
// specification asks; the server goes on answering others. Over stdio
// (the built binary, both protocol eras) and streamable HTTP (a session's
// call stream ends without a response).
func TestCancelledGetsNoResponse(t *testing.T) {
	meta := func(version string, extra map[string]any) map[string]any {
		m := map[string]any{}
		if version == mcp.ProtocolVersion20260728 {
			m[mcp.MetaKeyProtocolVersion] = version
			m[mcp.MetaKeyClientInfo] = map[string]any{"name": "x", "version": "1"}
			m[mcp.MetaKeyClientCapabilities] = map[string]any{}
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, version := range []string{mcp.ProtocolVersion20251125, mcp.ProtocolVersion20260728} {
		t.Run("stdio "+version, func(t *testing.T) {
			emu := faltest.NewServer(faltest.Options{Key: e2eKey})
			defer emu.Close()
			manualJobs(emu)
			cmd := exec.Command(binary(t))
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "FAL_KEY=" + e2eKey,
				"FAL_QUEUE_URL=" + emu.QueueURL, "FAL_REST_URL=" + emu.RestURL, "FAL_VIDEO_MCP_STATE_DIR=" + t.TempDir()}
			stdin, _ := cmd.StdinPipe()
			stdout, _ := cmd.StdoutPipe()
			cmd.Stderr = &lockedBuffer{}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			send := func(msg map[string]any) {
				b, _ := json.Marshal(msg)
				if _, err := stdin.Write(append(b, '\n')); err != nil {
					t.Fatal(err)
				}
			}
			lines := bufio.NewScanner(stdout)
			lines.Buffer(make([]byte, 1<<20), 4<<20)
			next := func() map[string]any {
				if !lines.Scan() {
					t.Fatalf("stdout ended: %v", lines.Err())
				}
				var m map[string]any
				if err := json.Unmarshal(lines.Bytes(), &m); err != nil {
					t.Fatalf("stdout line %q: %v", lines.Text(), err)
				}
				return m
			}
			if version != mcp.ProtocolVersion20260728 {
				send(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": map[string]any{
					"protocolVersion": version, "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "x", "version": "1"}}})
				if m := next(); m["id"] != float64(1) || m["result"] == nil {
					t.Fatalf("initialize: %v", m)
				}
				send(map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"})
			}
			send(map[string]any{"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": map[string]any{
				"name": "upscale_video", "arguments": map[string]any{"video_url": "https://example.com/in.mp4", "wait_seconds": 50},
				"_meta": meta(version, map[string]any{"progressToken": "p"})}})
			for { // the call waits on its job once its progress flows
				m := next()
				if m["id"] != nil {
					t.Fatalf("the call answered before waiting: %v", m)
				}
				if m["method"] == "notifications/progress" {
					break
				}
			}
			send(map[string]any{"jsonrpc": "2.0", "method": "notifications/cancelled", "params": map[string]any{"requestId": 5, "reason": "the user stopped it"}})
			send(map[string]any{"jsonrpc": "2.0", "id": 6, "method": "ping", "params": map[string]any{"_meta": meta(version, nil)}})
			_ = stdin.Close() // the server answers what it has, then stops
			var ids []any
			for lines.Scan() {
				var m map[string]any
				_ = json.Unmarshal(lines.Bytes(), &m)
				if id, ok := m["id"]; ok {
					ids = append(ids, id)
				}
			}
			if fmt.Sprint(ids) != "[6]" {
				t.Errorf("responses after the cancel: ids %v, want only the ping's [6]", ids)
			}
		})
	}

	t.Run("streamable HTTP", func(t *testing.T) {
		emu := faltest.NewServer(faltest.Options{})
		defer emu.Close()
		manualJobs(emu)
		base, hc := streamServer(t, emu, "--transport", "http")
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		s := &rawSession{base: base, hc: hc}
		if err := s.initialize(ctx, ""); err != nil {
			t.Fatal(err)
		}
		waiting := make(chan struct{})
		var once sync.Once
		type answer struct {
			final map[string]any
			err   error
		}
		done := make(chan answer, 1)
		go func() {
			final, err := s.call(ctx, map[string]any{"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": map[string]any{
				"name": "upscale_video", "arguments": map[string]any{"video_url": "https://example.com/in.mp4", "wait_seconds": 50},
				"_meta": map[string]any{"progressToken": "p"}}}, func(m map[string]any) {
				if m["method"] == "notifications/progress" {
					once.Do(func() { close(waiting) })
				}
			})
			done <- answer{final, err}
		}()
		select {
		case <-waiting:
		case a := <-done:
			t.Fatalf("the call ended before waiting: %v %v", a.final, a.err)
		}
		if _, err := s.call(ctx, map[string]any{"jsonrpc": "2.0", "method": "notifications/cancelled", "params": map[string]any{"requestId": 5}}, nil); err != nil {
			t.Fatal(err)
		}
		a := <-done
		if a.final != nil {
			t.Errorf("the cancelled call was answered: %v", a.final)
		}
		if pong, err := s.call(ctx, map[string]any{"jsonrpc": "2.0", "id": 6, "method": "ping"}, func(map[string]any) {}); err != nil || pong["id"] != float64(6) {
			t.Errorf("ping after the cancel: %v %v", pong, err)
		}
	})

	t.Run("legacy SSE", func(t *testing.T) {
		emu := faltest.NewServer(faltest.Options{})
		defer emu.Close()
		manualJobs(emu)
		base, hc := streamServer(t, emu, "--transport", "sse")
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/sse", nil)
		req.Header.Set("Accept", "text/event-stream")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		// The stream: the endpoint event, then every message as JSON.
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		var endpoint string
		for endpoint == "" && sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				endpoint = d
			}
		}
		next := func() map[string]any {
			for sc.Scan() {
				if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
					var m map[string]any
					if err := json.Unmarshal([]byte(d), &m); err != nil {
						t.Fatalf("stream data %q: %v", d, err)
					}
					return m
				}
			}
			t.Fatalf("the stream ended: %v", sc.Err())
			return nil
		}
		post := func(msg map[string]any) {
			b, _ := json.Marshal(msg)
			resp, err := hc.Post(base+endpoint, "application/json", strings.NewReader(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("POST %s: %d", endpoint, resp.StatusCode)
			}
		}
		post(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": map[string]any{
			"protocolVersion": mcp.ProtocolVersion20251125, "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "x", "version": "1"}}})
		if m := next(); m["id"] != float64(1) {
			t.Fatalf("initialize: %v", m)
		}
		post(map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"})
		post(map[string]any{"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": map[string]any{
			"name": "upscale_video", "arguments": map[string]any{"video_url": "https://example.com/in.mp4", "wait_seconds": 50},
			"_meta": map[string]any{"progressToken": "p"}}})
		for {
			m := next()
			if m["id"] != nil {
				t.Fatalf("the call answered before waiting: %v", m)
			}
			if m["method"] == "notifications/progress" {
				break
			}
		}
		post(map[string]any{"jsonrpc": "2.0", "method": "notifications/cancelled", "params": map[string]any{"requestId": 5}})
		// The cancelled call stops at once and its answer would be queued
		// then; the ping is read up to its answer. (mcp-go handles each
		// message in a goroutine of its own, so an answer to 5 queued
		// after the ping's would go unseen here: this check can miss, but
		// never report, a wrong answer. The stdio and streamable HTTP
		// cases above are exact.)
		post(map[string]any{"jsonrpc": "2.0", "id": 6, "method": "ping"})
		for {
			m := next()
			if m["id"] == float64(5) {
				t.Errorf("the cancelled call was answered: %v", m)
			}
			if m["id"] == float64(6) {
				break
			}
		}
	})
}

// TestCancelOfAnotherClient: without sessions (--stateless, or the
// 2026-07-28 era) a notifications/cancelled names a request id only, and
// mcp-go would cancel any client's request of that id. Such a cancellation
// is ignored: client A's call runs to its end whatever client B cancels.
func TestCancelOfAnotherClient(t *testing.T) {
	for _, tt := range []struct {
		name    string
		args    []string
		version string
	}{
		{"stateless", []string{"--transport", "http", "--stateless"}, mcp.ProtocolVersion20251125},
		{"2026 era", []string{"--transport", "http"}, mcp.ProtocolVersion20260728},
	} {
		t.Run(tt.name, func(t *testing.T) {
			emu := faltest.NewServer(faltest.Options{})
			defer emu.Close()
			manualJobs(emu)
			base, _ := streamServer(t, emu, tt.args...)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			a, err := client.NewStreamableHttpClient(base + "/mcp")
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			waiting := make(chan struct{})
			var once sync.Once
			a.OnNotification(func(n mcp.JSONRPCNotification) {
				if n.Method == "notifications/progress" {
					once.Do(func() { close(waiting) })
				}
			})
			if err := a.Start(ctx); err != nil {
				t.Fatal(err)
			}
			init := mcp.InitializeRequest{}
			init.Params.ProtocolVersion = tt.version
			if _, err := a.Initialize(ctx, init); err != nil {
				t.Fatal(err)
			}
			type answer struct {
				job tools.Job
				err error
			}
			done := make(chan answer, 1)
			go func() {
				_, job, err := callTool(ctx, a, "upscale_video", map[string]any{"video_url": "https://example.com/a.mp4", "wait_seconds": 50}, &mcp.Meta{ProgressToken: "a"})
				done <- answer{job, err}
			}()
			select {
			case <-waiting:
			case got := <-done:
				t.Fatalf("A's call ended before waiting: %+v", got)
			}
			// B cancels every id A's client may have used.
			header := map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream", "Mcp-Protocol-Version": tt.version}
			if tt.version == mcp.ProtocolVersion20260728 {
				header["Mcp-Method"] = "notifications/cancelled"
			}
			for id := range 10 {
				params := map[string]any{"requestId": id}
				if tt.version == mcp.ProtocolVersion20260728 {
					params["_meta"] = map[string]any{mcp.MetaKeyProtocolVersion: tt.version,
						mcp.MetaKeyClientInfo: map[string]any{"name": "b", "version": "1"}, mcp.MetaKeyClientCapabilities: map[string]any{}}
				}
				b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": "notifications/cancelled", "params": params})
				req, _ := http.NewRequestWithContext(ctx, "POST", base+"/mcp", strings.NewReader(string(b)))
				for k, v := range header {
					req.Header.Set(k, v)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			for _, j := range emu.Jobs() {
				for {
					if _, ok := emu.Step(j.RequestID); !ok {
						break
					}
				}
			}
			got := <-done
			if got.err != nil || got.job.Status != tools.StatusCompleted {
				t.Errorf("A's call after B's cancellations: %+v %v; want it completed", got.job.Status, got.err)
			}
		})
	}
}

// TestGETStreamsEndWithTheirSession: a standing GET stream lasts no
// longer than its session. When the session is dropped for idleness its
// streams end, so the 4 streams a session may hold cannot pile up over
// time by letting sessions expire; and a GET without a session id is
// refused (400, as the MCP specification says of a server that requires
// sessions) rather than opening a session of its own.
func TestGETStreamsEndWithTheirSession(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{})
	defer emu.Close()
	base, hc := streamServer(t, emu, "--transport", "http", "--session-idle-timeout", "1s")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/mcp", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", mcp.ProtocolVersion20251125)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET without a session id: %d, want 400", resp.StatusCode)
	}

	for round := range 3 {
		s := &rawSession{base: base, hc: hc}
		if err := s.initialize(ctx, ""); err != nil {
			t.Fatal(err)
		}
		ended := make(chan struct{}, 4)
		for range 4 {
			req, _ := http.NewRequestWithContext(ctx, "GET", base+"/mcp", nil)
			req.Header.Set("Accept", "text/event-stream")
			req.Header.Set("Mcp-Protocol-Version", mcp.ProtocolVersion20251125)
			req.Header.Set("Mcp-Session-Id", s.id)
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("round %d: GET stream: %d", round, resp.StatusCode)
			}
			go func() {
				defer resp.Body.Close()
				_, _ = io.Copy(io.Discard, resp.Body)
				ended <- struct{}{}
			}()
		}
		// Nobody uses the session: it expires, and its streams with it.
		for range 4 {
			select {
			case <-ended:
			case <-ctx.Done():
				t.Fatalf("round %d: a GET stream still open after its session expired", round)
			}
		}
	}
}
