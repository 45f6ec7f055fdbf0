package httpguard

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
)

// streamCounts counts the long-lived streams Wrap bounds: those of no
// session (legacy SSE, subscriptions/listen) against max, and each
// session's standing GET streams against perSession.
type streamCounts struct {
	max, perSession int

	mu         sync.Mutex
	free       int            // streams of no session live
	perSessLiv map[string]int // session id → standing GET streams live
}

func newStreamCounts(max, perSession int) *streamCounts {
	return &streamCounts{max: max, perSession: perSession, perSessLiv: map[string]int{}}
}

// take counts r if it opens a bounded stream, answering it itself (and
// reporting false) when there is no room; release ends the count when the
// stream ends.
func (c *streamCounts) take(w http.ResponseWriter, r *http.Request, body []byte, opts Options) (release func(), ok bool) {
	nothing := func() {}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == opts.SessionPath && r.Header.Get("Mcp-Session-Id") != "":
		id := r.Header.Get("Mcp-Session-Id")
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.perSessLiv[id] >= c.perSession {
			refuse(w, http.StatusConflict, "this session already has "+strconv.Itoa(c.perSession)+" open GET streams: close one first")
			return nil, false
		}
		c.perSessLiv[id]++
		return func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.perSessLiv[id]--; c.perSessLiv[id] <= 0 {
				delete(c.perSessLiv, id)
			}
		}, true
	case c.max > 0 && (r.Method == http.MethodGet && r.URL.Path == opts.SSEPath ||
		r.Method == http.MethodPost && r.URL.Path == opts.SessionPath && isListen(body)):
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.free >= c.max {
			w.Header().Set("Retry-After", strconv.Itoa(int(retryStream.Seconds())))
			refuse(w, http.StatusServiceUnavailable, "too many open streams: try again later, or raise --max-sessions")
			return nil, false
		}
		c.free++
		return func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.free--
		}, true
	}
	return nothing, true
}

// isListen reports whether body is a 2026-07-28 subscriptions/listen
// request, whose answer is a stream that stays open.
func isListen(body []byte) bool {
	var msg struct {
		Method string `json:"method"`
	}
	return json.Unmarshal(body, &msg) == nil && msg.Method == string(mcp.MethodSubscriptionsListen)
}
