package faltest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
)

// These tests speak plain HTTP to the emulator, checking it against the
// protocol notes (falqueue/PROTOCOL.md) without the falqueue client in
// between.

const key = "id:secret"

// client calls the emulator with the key, as fal's clients do.
type client struct {
	t   *testing.T
	srv *faltest.Server
}

// answer is a whole HTTP answer, read and closed.
type answer struct {
	code   int
	header http.Header
	raw    []byte
	body   map[string]any // the JSON object, if the body is one
}

func start(t *testing.T, opts faltest.Options) (client, *faltest.Server) {
	t.Helper()
	opts.Key = key
	srv := faltest.NewServer(opts)
	t.Cleanup(srv.Close)
	return client{t, srv}, srv
}

// do sends a request with "Authorization: Key <key>" unless header sets
// Authorization itself; header is name, value pairs.
func (c client) do(method, url, body string, header ...string) answer {
	c.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Key "+key)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	a := answer{code: resp.StatusCode, header: resp.Header}
	a.raw, err = io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading the answer: %v", method, url, err)
	}
	_ = json.Unmarshal(a.raw, &a.body)
	return a
}

// submit enqueues a job and returns its id and the submit answer.
func (c client) submit(endpoint, body string, header ...string) (string, answer) {
	c.t.Helper()
	a := c.do("POST", c.srv.QueueURL+"/"+endpoint, body, header...)
	id, _ := a.body["request_id"].(string)
	if a.code != 200 || id == "" {
		c.t.Fatalf("submit %s = %d %s", endpoint, a.code, a.raw)
	}
	return id, a
}

// requestURL is the owner/alias URL of a request (§1.2).
func (c client) requestURL(app, id string) string {
	return c.srv.QueueURL + "/" + app + "/requests/" + id
}

// openStream opens a status stream; the caller reads and closes the body.
func (c client) openStream(ctx context.Context, url string) *http.Response {
	c.t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Key "+key)
	req.Header.Set("Accept", "application/json, text/event-stream") // as Node sends it (§3)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp
}

// sseEvent is one line of interest in an SSE stream: a data event or a
// comment.
type sseEvent struct {
	comment bool
	data    map[string]any
}

// readSSE reads a stream to its end, calling each for every event and
// comment; it reports the read error that ended it (nil at a clean EOF).
// Only data lines, comments and blank lines may appear (§9.6).
func readSSE(t *testing.T, body io.Reader, each func(sseEvent)) error {
	t.Helper()
	lines := bufio.NewScanner(body)
	for lines.Scan() {
		line := lines.Text()
		switch {
		case strings.HasPrefix(line, ":"):
			each(sseEvent{comment: true})
		case strings.HasPrefix(line, "data: "):
			var st map[string]any
			if err := json.Unmarshal([]byte(line[len("data: "):]), &st); err != nil {
				t.Fatalf("event %q is not JSON: %v", line, err) // JS treats that as fatal (§4.3)
			}
			each(sseEvent{data: st})
		case line != "":
			t.Errorf("unexpected SSE line %q", line)
		}
	}
	return lines.Err()
}

// fakeClock is an Options.Now that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// messages are the log messages of a status body (nil if logs is null).
func messages(t *testing.T, st map[string]any) []string {
	t.Helper()
	logs, present := st["logs"]
	if !present {
		t.Fatalf("status without a logs key: %v", st) // PY indexes it directly (§4.2)
	}
	if logs == nil {
		return nil
	}
	out := []string{}
	for _, l := range logs.([]any) {
		out = append(out, l.(map[string]any)["message"].(string))
	}
	return out
}
