package httpguard

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// clock is a settable time for Sessions.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }
func header(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

const (
	initLegacy = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	listTools  = `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`
	ping       = `{"jsonrpc":"2.0","id":3,"method":"ping"}`
)

// TestSessions drives mcp-go's streamable HTTP transport behind Wrap with
// a Sessions of two places and a clock the test moves: a third session
// gets 503 with Retry-After; unknown, forged and expired ids get 404 on
// POST, GET and DELETE; expiry and DELETE free places; requests of the
// sessionless 2026-07-28 era are never refused for want of a place.
func TestSessions(t *testing.T) {
	clk := newClock()
	sessions := NewSessions(2, time.Minute)
	sessions.now = clk.now
	mcpSrv := server.NewMCPServer("t", "1", server.WithToolCapabilities(true))
	h := server.NewStreamableHTTPServer(mcpSrv, server.WithEndpointPath("/mcp"), server.WithSessionIdManager(sessions))
	defer h.Shutdown(t.Context())
	guarded := Wrap(h, Options{Sessions: sessions})

	do := func(method, body string, hdr map[string]string) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequest(method, "/mcp", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Accept", "application/json, text/event-stream")
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		guarded.ServeHTTP(w, r)
		return w
	}
	open := func() string {
		t.Helper()
		w := do("POST", initLegacy, nil)
		id := w.Header().Get("Mcp-Session-Id")
		if w.Code != 200 || id == "" {
			t.Fatalf("initialize = %d %q: %s", w.Code, id, w.Body)
		}
		return id
	}
	use := func(id string) int {
		return do("POST", listTools, header("Mcp-Session-Id", id, "Mcp-Protocol-Version", mcp.ProtocolVersion20251125)).Code
	}

	a := open()
	clk.add(30 * time.Second)
	b := open()
	if n := sessions.Live(); n != 2 {
		t.Errorf("%d live sessions, want 2", n)
	}
	w := do("POST", initLegacy, nil)
	retry, _ := strconv.Atoi(w.Header().Get("Retry-After"))
	if w.Code != http.StatusServiceUnavailable || retry < 1 || retry > 60 {
		t.Errorf("a third session = %d, Retry-After %q; want 503 with a delay of at most the idle time", w.Code, w.Header().Get("Retry-After"))
	}
	modern := `{"jsonrpc":"2.0","id":4,"method":"initialize","params":{"protocolVersion":"2026-07-28","capabilities":{},"clientInfo":{"name":"t","version":"1"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`
	if w := do("POST", modern, header("Mcp-Protocol-Version", mcp.ProtocolVersion20260728)); w.Code == http.StatusServiceUnavailable {
		t.Errorf("a 2026-07-28 request, which opens no session, was refused at the cap: %s", w.Body)
	}
	if code := use(a); code != 200 {
		t.Errorf("a live session = %d", code)
	}

	for _, forged := range []string{"mcp-session-" + strings.Repeat("0", 32), "mcp-session-6f1c9a40-7d1e-4f7e-9a3a-2b8c1d0e5f6a", "nonsense"} {
		if code := use(forged); code != http.StatusNotFound {
			t.Errorf("POST with forged id %q = %d, want 404", forged, code)
		}
		for _, method := range []string{"GET", "DELETE"} {
			if w := do(method, "", header("Mcp-Session-Id", forged)); w.Code != http.StatusNotFound {
				t.Errorf("%s with forged id %q = %d, want 404", method, forged, w.Code)
			}
		}
	}

	// a was last used, and b opened, at 30 s: 91 s on, both have been
	// idle for over a minute.
	clk.add(91 * time.Second)
	if code := use(a); code != http.StatusNotFound {
		t.Errorf("an expired session = %d, want 404", code)
	}
	if code := use(a); code != http.StatusNotFound {
		t.Errorf("an expired session, again = %d, want 404", code)
	}
	c := open() // b's place is free as well, by expiry
	d := open()
	if w := do("POST", initLegacy, nil); w.Code != http.StatusServiceUnavailable {
		t.Errorf("over the cap again = %d, want 503", w.Code)
	}
	if w := do("DELETE", "", header("Mcp-Session-Id", c, "Mcp-Protocol-Version", mcp.ProtocolVersion20251125)); w.Code != http.StatusOK {
		t.Errorf("DELETE = %d: %s", w.Code, w.Body)
	}
	if code := use(c); code != http.StatusNotFound {
		t.Errorf("a deleted session = %d, want 404", code)
	}
	open() // c's place
	if code := use(d); code != 200 || use(b) != http.StatusNotFound {
		t.Errorf("sessions d (live) and b (expired) = %d, %d", use(d), use(b))
	}
	if n := sessions.Live(); n > 2 {
		t.Errorf("%d live sessions, over the cap of 2", n)
	}
}

// TestOwnOrigins: on loopback with no AllowedOrigins the listener's own
// origins are allowed (the DNS-rebinding case of the MCP conformance
// suite: Host and Origin localhost:PORT); every other origin is refused,
// and beyond loopback, or with AllowedOrigins, no origin is implied.
func TestOwnOrigins(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	tests := []struct {
		listener string
		allowed  []string
		origin   string
		want     int
	}{
		{"127.0.0.1:5555", nil, "http://127.0.0.1:5555", 200},
		{"127.0.0.1:5555", nil, "http://localhost:5555", 200},
		{"127.0.0.1:5555", nil, "http://LOCALHOST:5555", 200},
		{"127.0.0.1:5555", nil, "http://[::1]:5555", 200},
		{"[::1]:5555", nil, "http://localhost:5555", 200},
		{"localhost:5555", nil, "http://127.0.0.1:5555", 200},
		{"127.0.0.1:5555", nil, "http://localhost:5556", 403},
		{"127.0.0.1:5555", nil, "https://localhost:5555", 403},
		{"127.0.0.1:5555", nil, "http://localhost", 403},
		{"127.0.0.1:5555", nil, "http://evil.example:5555", 403},
		{"127.0.0.1:5555", nil, "http://127.0.0.1.evil.example:5555", 403},
		{"127.0.0.1:5555", nil, "null", 403},
		{"0.0.0.0:5555", nil, "http://localhost:5555", 403},
		{"192.168.1.5:5555", nil, "http://192.168.1.5:5555", 403},
		{"127.0.0.1:5555", []string{"https://app.example"}, "http://localhost:5555", 403},
		{"127.0.0.1:5555", []string{"https://app.example"}, "https://app.example", 200},
	}
	for _, tt := range tests {
		h := Wrap(ok, Options{Listener: tt.listener, AllowedOrigins: tt.allowed})
		r := httptest.NewRequest("POST", "/mcp", strings.NewReader("{}"))
		r.Header.Set("Origin", tt.origin)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("listening on %s (allowed %v), Origin %s = %d, want %d", tt.listener, tt.allowed, tt.origin, w.Code, tt.want)
		}
	}
}

// TestSlowBodyCutOff: a client that sends its headers and then trickles
// (here: stops sending) its body is answered 408 once BodyTimeout has
// passed, and the connection is closed.
func TestSlowBodyCutOff(t *testing.T) {
	reached := make(chan struct{}, 1)
	ts := httptest.NewServer(Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached <- struct{}{} }),
		Options{BodyTimeout: 200 * time.Millisecond}))
	defer ts.Close()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = conn.Write([]byte("POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"jsonrpc\":"))
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second)) // a hang fails the test instead of blocking it
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("stalled body = %d, want 408", resp.StatusCode)
	}
	select {
	case <-reached:
		t.Error("the handler ran on a partial body")
	default:
	}
}
