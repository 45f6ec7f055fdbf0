// Package httpguard protects the server's HTTP transports: a bearer token
// compared in constant time, the Origin check the MCP specification asks
// of servers (against DNS rebinding from web pages), request body limits
// of size and time, bounded sessions and streams, and the rule that a
// server without a token listens on loopback only. OwnStreams keeps each
// request's notifications on that request's own stream, and SSECancels
// and OwnStreams leave a request the client cancelled unanswered.
package httpguard

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// Options configure Wrap.
type Options struct {
	// Token, if set, is required as "Authorization: Bearer <Token>".
	Token string
	// AllowedOrigins are the browser origins (scheme://host[:port]) that
	// may call the server. A request without an Origin header (any
	// non-browser client) is not affected.
	AllowedOrigins []string
	// MaxBodyBytes caps a request body (default 4 MiB).
	MaxBodyBytes int64
	// Open lists paths served without a token (e.g. "/healthz").
	Open []string
	// Listener is the address the server listens on (host:port, the port
	// as bound). On loopback with no AllowedOrigins, the server's own
	// origins — http://127.0.0.1:PORT, http://localhost:PORT and
	// http://[::1]:PORT — are allowed: a page the server itself serves,
	// or a client that sends its own origin, is no DNS rebinding attack.
	Listener string
	// BodyTimeout cuts off a request whose body is still arriving after
	// it (default 30 s): slow bodies cannot hold connections open.
	BodyTimeout time.Duration
	// Sessions, if set, bounds the streamable HTTP sessions: a request
	// that would open one beyond the limit gets 503 with Retry-After, and
	// a GET or DELETE naming an unknown or expired session gets 404.
	Sessions *Sessions
	// SessionPath is where the streamable HTTP transport is served, the
	// one path Sessions bounds (default "/mcp").
	SessionPath string
	// MaxStreams, if above 0, caps the long-lived streams that belong to
	// no session of Sessions: legacy SSE connections (GET at SSEPath, one
	// per legacy session) and the 2026-07-28 era's subscriptions/listen
	// streams. Beyond it a new one gets 503 with Retry-After.
	MaxStreams int
	// SSEPath is where the legacy SSE transport opens its streams
	// (default "/sse").
	SSEPath string
	// StreamsPerSession caps the standing GET streams one streamable HTTP
	// session may hold at once (default 4); one more gets 409 Conflict.
	StreamsPerSession int
	// Stateless answers a GET at SessionPath with 405, as the MCP
	// specification lets a server without a standing stream do: without
	// sessions there is nothing such a stream is for.
	Stateless bool
}

// retryStream is the Retry-After of a stream refused for the cap: when a
// stream ends cannot be known, so a short, fixed wait.
const retryStream = 10 * time.Second

// ownOrigins are the origins of a loopback listener.
func ownOrigins(listener string) []string {
	host, port, err := net.SplitHostPort(listener)
	if err != nil || !isLoopback(host) {
		return nil
	}
	return []string{"http://127.0.0.1:" + port, "http://localhost:" + port, "http://[::1]:" + port}
}

// Wrap guards next. The checks run in this order: Origin (403), token
// (401), body size (413) and time (408), then the session bounds (404,
// 503).
func Wrap(next http.Handler, opts Options) http.Handler {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 4 << 20
	}
	if opts.SessionPath == "" {
		opts.SessionPath = "/mcp"
	}
	if opts.BodyTimeout <= 0 {
		opts.BodyTimeout = 30 * time.Second
	}
	if opts.SSEPath == "" {
		opts.SSEPath = "/sse"
	}
	if opts.StreamsPerSession <= 0 {
		opts.StreamsPerSession = 4
	}
	streams := newStreamCounts(opts.MaxStreams, opts.StreamsPerSession)
	allowed := opts.AllowedOrigins
	if len(allowed) == 0 {
		allowed = ownOrigins(opts.Listener)
	}
	origins := map[string]bool{}
	for _, o := range allowed {
		origins[normalizeOrigin(o)] = true
	}
	open := map[string]bool{}
	for _, p := range opts.Open {
		open[p] = true
	}
	var want [32]byte
	if opts.Token != "" {
		want = sha256.Sum256([]byte(opts.Token))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" && !origins[normalizeOrigin(o)] {
			refuse(w, http.StatusForbidden, "origin not allowed: start the server with --allowed-origins "+strconvQuote(o)+" to allow it")
			return
		}
		if opts.Token != "" && !open[r.URL.Path] {
			got, ok := bearer(r)
			// Comparing hashes keeps the time independent of where the
			// first differing byte is and of the token's length.
			h := sha256.Sum256([]byte(got))
			if !ok || subtle.ConstantTimeCompare(h[:], want[:]) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="fal-video-mcp"`)
				refuse(w, http.StatusUnauthorized, "missing or wrong bearer token (Authorization: Bearer <--auth-token>)")
				return
			}
		}
		if r.ContentLength > opts.MaxBodyBytes {
			refuse(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", opts.MaxBodyBytes))
			return
		}
		body, ok := readBody(w, r, opts.MaxBodyBytes, opts.BodyTimeout)
		if !ok {
			return
		}
		if r.Method == http.MethodGet && r.URL.Path == opts.SessionPath && opts.Stateless {
			w.Header().Set("Allow", "POST")
			refuse(w, http.StatusMethodNotAllowed, "this server is stateless: it has no standing GET stream (a call's notifications come on the call's own stream)")
			return
		}
		release, ok := streams.take(w, r, body, opts)
		if !ok {
			return
		}
		defer release()
		if s := opts.Sessions; s != nil && r.URL.Path == opts.SessionPath {
			id := r.Header.Get("Mcp-Session-Id")
			switch {
			case id == "" && (r.Method == http.MethodGet || r.Method == http.MethodDelete):
				// mcp-go would open a session for a GET of its own; the
				// MCP specification has a server that requires sessions
				// answer 400 to a request without one but initialize.
				refuse(w, http.StatusBadRequest, "Mcp-Session-Id required: initialize first, then send the session id it returned")
				return
			case r.Method == http.MethodGet || r.Method == http.MethodDelete:
				// mcp-go checks the id of a POST only.
				if _, err := s.Validate(id); err != nil {
					refuse(w, http.StatusNotFound, "unknown or expired session: start a new one with initialize")
					return
				}
				if r.Method == http.MethodGet {
					// The stream ends when its session goes.
					ctx, end := context.WithCancel(r.Context())
					defer end()
					done, ok := s.stream(id, end)
					if !ok {
						refuse(w, http.StatusNotFound, "unknown or expired session: start a new one with initialize")
						return
					}
					defer done()
					r = r.WithContext(ctx)
				}
			case id == "" && opensSession(r, body):
				ok, retry := s.reserve()
				if !ok {
					w.Header().Set("Retry-After", strconv.Itoa(int(retry.Round(time.Second)/time.Second)))
					refuse(w, http.StatusServiceUnavailable, "too many sessions: try again later, or raise --max-sessions")
					return
				}
				defer s.release()
			}
		}
		next.ServeHTTP(w, r)
	})
}

// readBody reads a request's body whole, within the size cap and the time
// limit, and puts it back for next. It answers 413 or 408 itself and then
// reports false.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, timeout time.Duration) ([]byte, bool) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, true
	}
	rc := http.NewResponseController(w)
	deadlineSet := rc.SetReadDeadline(time.Now().Add(timeout)) == nil
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if deadlineSet {
		_ = rc.SetReadDeadline(time.Time{}) // a stream may now run as long as it likes
	}
	var tooLarge *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &tooLarge):
		refuse(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", limit))
		return nil, false
	case errors.As(err, &netErr) && netErr.Timeout():
		w.Header().Set("Connection", "close")
		refuse(w, http.StatusRequestTimeout, fmt.Sprintf("request body not received within %v", timeout))
		return nil, false
	case err != nil:
		refuse(w, http.StatusBadRequest, "cannot read the request body")
		return nil, false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, true
}

// opensSession reports whether mcp-go's streamable HTTP server opens a
// session for a request without Mcp-Session-Id: a GET (a listening
// stream), or an initialize of the protocol eras that have sessions
// (before 2026-07-28, which has none).
func opensSession(r *http.Request, body []byte) bool {
	switch r.Method {
	case http.MethodGet:
		return true
	case http.MethodPost:
		var msg struct {
			Method string `json:"method"`
			Params struct {
				Meta *mcp.Meta `json:"_meta"`
			} `json:"params"`
		}
		if json.Unmarshal(body, &msg) != nil || msg.Method != string(mcp.MethodInitialize) {
			return false
		}
		return !mcp.IsModernProtocol(r.Header.Get(mcp.HeaderProtocolVersion)) && !mcp.IsModernProtocol(msg.Params.Meta.ProtocolVersion())
	}
	return false
}

func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}

func refuse(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// normalizeOrigin lower-cases scheme and host and drops a default port.
func normalizeOrigin(o string) string {
	u, err := url.Parse(strings.TrimSpace(o))
	if err != nil || u.Host == "" {
		return strings.ToLower(strings.TrimSpace(o))
	}
	host := strings.ToLower(u.Host)
	scheme := strings.ToLower(u.Scheme)
	if h, port, err := net.SplitHostPort(host); err == nil && (scheme == "http" && port == "80" || scheme == "https" && port == "443") {
		host = h
	}
	return scheme + "://" + host
}

// CheckListen refuses a listen address that is not loopback unless a token
// protects it: without one, anyone who can reach the port could spend the
// user's fal credits.
func CheckListen(addr string, haveToken bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %v (want host:port, e.g. 127.0.0.1:8080)", addr, err)
	}
	if haveToken || isLoopback(host) {
		return nil
	}
	return fmt.Errorf("refusing to listen on %s without --auth-token: anyone who can reach it could run paid fal jobs; "+
		"set --auth-token (env FAL_VIDEO_MCP_AUTH_TOKEN) or listen on 127.0.0.1", addr)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
