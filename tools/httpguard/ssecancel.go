package httpguard

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// SSECancels keeps, for the legacy SSE transport (mcp-go's SSEServer),
// the MCP rule that a request the client cancelled gets no response:
// mcp-go cancels the handler on notifications/cancelled but still queues
// its answer on the session's stream. Messages wraps the /message
// handler and notes each session's requests and their cancellations;
// Stream wraps the /sse handler and drops a cancelled request's response
// from the session's stream.
type SSECancels struct {
	mu       sync.Mutex
	sessions map[string]map[string]bool // session id → request id → cancelled
}

// NewSSECancels returns an empty SSECancels.
func NewSSECancels() *SSECancels {
	return &SSECancels{sessions: map[string]map[string]bool{}}
}

// Messages wraps mcp-go's message handler (POST /message?sessionId=…).
func (c *SSECancels) Messages(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session := r.URL.Query().Get("sessionId")
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
		if session != "" && json.Unmarshal(body, &msg) == nil {
			c.mu.Lock()
			reqs := c.sessions[session]
			switch {
			case reqs == nil: // not a stream this server has open
			case msg.Method == "notifications/cancelled" && len(msg.Params.RequestID) > 0:
				if _, ok := reqs[canonicalID(msg.Params.RequestID)]; ok {
					reqs[canonicalID(msg.Params.RequestID)] = true
				}
			case msg.Method != "" && len(msg.ID) > 0 && string(msg.ID) != "null":
				reqs[canonicalID(msg.ID)] = false
			}
			c.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

// Stream wraps mcp-go's SSE handler (GET /sse): the session's events go
// through a writer that learns the session id from the endpoint event
// and drops the response of a cancelled request.
func (c *SSECancels) Stream(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &sseFilter{ResponseWriter: w, c: c}
		defer sw.close()
		next.ServeHTTP(sw, r)
	})
}

type sseFilter struct {
	http.ResponseWriter
	c       *SSECancels
	session string
}

func (f *sseFilter) Flush() {
	if fl, ok := f.ResponseWriter.(http.Flusher); ok {
		fl.Flush()
	}
}

func (f *sseFilter) Unwrap() http.ResponseWriter { return f.ResponseWriter }

// Write passes an event on unless it answers a cancelled request. mcp-go
// writes one whole event per Write.
func (f *sseFilter) Write(p []byte) (int, error) {
	event, data := parseEvent(p)
	switch {
	case f.session == "" && event == "endpoint":
		if u, err := url.Parse(strings.TrimSpace(data)); err == nil {
			if id := u.Query().Get("sessionId"); id != "" {
				f.session = id
				f.c.mu.Lock()
				f.c.sessions[id] = map[string]bool{}
				f.c.mu.Unlock()
			}
		}
	case f.session != "" && event == "message":
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if json.Unmarshal([]byte(data), &msg) == nil && msg.Method == "" && len(msg.ID) > 0 {
			id := canonicalID(msg.ID)
			f.c.mu.Lock()
			cancelled := f.c.sessions[f.session][id]
			delete(f.c.sessions[f.session], id)
			f.c.mu.Unlock()
			if cancelled {
				return len(p), nil
			}
		}
	}
	return f.ResponseWriter.Write(p)
}

func (f *sseFilter) close() {
	if f.session == "" {
		return
	}
	f.c.mu.Lock()
	delete(f.c.sessions, f.session)
	f.c.mu.Unlock()
}

// parseEvent reads the event type and data of one SSE event.
func parseEvent(p []byte) (event, data string) {
	event = "message"
	for line := range strings.Lines(string(p)) {
		line = strings.TrimRight(line, "\r\n")
		if v, ok := strings.CutPrefix(line, "event:"); ok {
			event = strings.TrimSpace(v)
		} else if v, ok := strings.CutPrefix(line, "data:"); ok {
			data += strings.TrimPrefix(v, " ")
		}
	}
	return event, data
}
