package httpguard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Attach puts a request's own sender into the context its handler runs
// with (tools.WithCallSender).
type Attach func(ctx context.Context, send func(method string, params map[string]any) bool) context.Context

// OwnStreams serves streamable HTTP (next is mcp-go's transport) so that
// a request's notifications go on that request's own POST stream, in the
// order they are sent, and nowhere else.
//
// mcp-go (server/streamable_http.go, v1.2.1) puts every notification of a
// session into one channel that the session's standing GET stream and
// every POST stream of the session drain at once: a call's progress
// arrives split between streams and out of order, and without sessions
// (--stateless) all requests share one such channel, so one client's
// notifications reach another. OwnStreams gives each POST a sender that
// writes SSE events to that POST's response itself, under a lock it
// shares with mcp-go's own writes there (mcp-go's JSON answer is turned
// into the stream's last event once the stream has begun).
//
// It also keeps the MCP rule for cancellation: a request the client
// cancelled (notifications/cancelled with its id, in the same session)
// gets no response; its stream ends without one. A notifications/cancelled
// without a session (--stateless, or the 2026-07-28 era) cannot be told
// apart from another client's, since mcp-go keys them by session id and
// request id only: it is accepted and ignored (closing the request's
// connection still stops the call).
func OwnStreams(next http.Handler, attach Attach) http.Handler {
	o := &ownStreams{next: next, attach: attach, inflight: map[callKey]*callStream{}}
	return o
}

type callKey struct{ session, id string }

type ownStreams struct {
	next   http.Handler
	attach Attach

	mu       sync.Mutex
	inflight map[callKey]*callStream // requests of sessions under way, for cancellation
}

func (o *ownStreams) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		o.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		refuse(w, http.StatusBadRequest, "cannot read the request body")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var msg struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params struct {
			RequestID json.RawMessage `json:"requestId"`
		} `json:"params"`
	}
	_ = json.Unmarshal(body, &msg)
	session := r.Header.Get("Mcp-Session-Id")

	if msg.Method == "notifications/cancelled" {
		if session == "" {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		o.mu.Lock()
		if cs := o.inflight[callKey{session, canonicalID(msg.Params.RequestID)}]; cs != nil {
			cs.cancel()
		}
		o.mu.Unlock()
		o.next.ServeHTTP(w, r)
		return
	}

	cs := newCallStream(w, acceptsSSE(r))
	if session != "" && len(msg.ID) > 0 {
		key := callKey{session, canonicalID(msg.ID)}
		o.mu.Lock()
		o.inflight[key] = cs
		o.mu.Unlock()
		defer func() {
			o.mu.Lock()
			if o.inflight[key] == cs {
				delete(o.inflight, key)
			}
			o.mu.Unlock()
		}()
	}
	ctx := o.attach(r.Context(), cs.send)
	o.next.ServeHTTP(cs, r.WithContext(ctx))
	cs.finish()
}

// canonicalID is a JSON-RPC id as compact JSON: 7 and "7" differ.
func canonicalID(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

func acceptsSSE(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(v, "text/event-stream") || strings.Contains(v, "*/*") {
			return true
		}
	}
	return false
}

// callStream is the response of one POST, shared by mcp-go (through the
// http.ResponseWriter methods) and the request's sender. mcp-go's headers
// go to a map of their own until it writes them, so a sender that begins
// the stream first is not undone by them.
type callStream struct {
	w       http.ResponseWriter
	flusher http.Flusher
	sse     bool // the client accepts an SSE answer

	mu        sync.Mutex
	header    http.Header   // mcp-go's
	streaming bool          // an SSE answer has begun on w
	libHeader bool          // mcp-go has written its header
	direct    bool          // mcp-go's answer goes to w as it is (a JSON answer: nothing can be added)
	held      *bytes.Buffer // mcp-go's JSON answer, sent as the stream's last event
	discard   bool          // mcp-go's answer is dropped (the request was cancelled, or 202 after our events)
	cancelled bool
	done      bool
}

func newCallStream(w http.ResponseWriter, sse bool) *callStream {
	f, _ := w.(http.Flusher)
	return &callStream{w: w, flusher: f, sse: sse && f != nil, header: http.Header{}}
}

func (c *callStream) Header() http.Header { return c.header }

func (c *callStream) WriteHeader(code int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writeHeader(code)
}

// writeHeader is mcp-go's WriteHeader. Called with c.mu held.
func (c *callStream) writeHeader(code int) {
	if c.libHeader {
		return
	}
	c.libHeader = true
	event := strings.HasPrefix(c.header.Get("Content-Type"), "text/event-stream")
	switch {
	case c.cancelled:
		c.discard = true
	case !c.streaming:
		for k, v := range c.header {
			c.w.Header()[k] = v
		}
		c.w.WriteHeader(code)
		if event {
			c.streaming = true // mcp-go's own events; ours may go between them
		} else {
			c.direct = true
		}
	case event:
		// mcp-go begins an SSE answer after ours: its events follow.
	case code == http.StatusAccepted || code == http.StatusNoContent:
		c.discard = true
	default:
		c.held = &bytes.Buffer{}
	}
}

func (c *callStream) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.libHeader {
		c.writeHeader(http.StatusOK)
	}
	switch {
	case c.discard || c.cancelled:
		return len(p), nil
	case c.held != nil:
		return c.held.Write(p)
	}
	return c.w.Write(p)
}

func (c *callStream) Flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.flusher != nil && c.held == nil && !c.discard && !c.cancelled {
		c.flusher.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection (deadlines).
func (c *callStream) Unwrap() http.ResponseWriter { return c.w }

// send writes a notification as an SSE event of this request's stream,
// beginning the stream if need be. It reports false when it cannot: the
// client takes JSON only, mcp-go already answered in JSON, or the request
// is over or cancelled.
func (c *callStream) send(method string, params map[string]any) bool {
	data, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": method, "params": params})
	if err != nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.sse || c.done || c.direct || c.cancelled || c.held != nil || c.discard {
		return false
	}
	c.begin()
	if _, err := fmt.Fprintf(c.w, "event: message\ndata: %s\n\n", data); err != nil {
		return false
	}
	c.flusher.Flush()
	return true
}

// begin starts the SSE answer on w. Called with c.mu held.
func (c *callStream) begin() {
	if c.streaming {
		return
	}
	c.streaming = true
	h := c.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	c.w.WriteHeader(http.StatusOK)
}

// cancel marks the request cancelled by the client: nothing more of it
// is sent, its response included.
func (c *callStream) cancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cancelled = true
}

// finish ends the answer once mcp-go is done with it: a held JSON answer
// becomes the stream's last event; a cancelled request's stream ends
// without a response.
func (c *callStream) finish() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done = true
	switch {
	case c.cancelled && !c.streaming && !c.direct:
		c.begin()
	case c.held != nil && !c.cancelled:
		fmt.Fprintf(c.w, "event: message\ndata: %s\n\n", bytes.TrimSpace(c.held.Bytes()))
	default:
		return
	}
	if c.flusher != nil {
		c.flusher.Flush()
	}
}
