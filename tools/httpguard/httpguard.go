// Package httpguard protects the server's HTTP transports: a bearer token
// compared in constant time, the Origin check the MCP specification asks
// of servers (against DNS rebinding from web pages), a request body limit,
// and the rule that a server without a token listens on loopback only.
package httpguard

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
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
}

// Wrap guards next. The checks run in this order: Origin (403), token
// (401), body size (413).
func Wrap(next http.Handler, opts Options) http.Handler {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 4 << 20
	}
	origins := map[string]bool{}
	for _, o := range opts.AllowedOrigins {
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
		r.Body = http.MaxBytesReader(w, r.Body, opts.MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
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
