package httpguard_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/tools/httpguard"
)

func TestWrap(t *testing.T) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	h := httpguard.Wrap(echo, httpguard.Options{Token: "s3cret-token", AllowedOrigins: []string{"https://app.example:443", "http://localhost:6274"},
		MaxBodyBytes: 100, Open: []string{"/healthz"}})
	tests := []struct {
		name    string
		path    string
		header  map[string]string
		body    string
		chunked bool
		want    int
	}{
		{name: "no token", path: "/mcp", want: 401},
		{name: "wrong token", path: "/mcp", header: map[string]string{"Authorization": "Bearer nope"}, want: 401},
		{name: "token prefix", path: "/mcp", header: map[string]string{"Authorization": "Bearer s3cret"}, want: 401},
		{name: "basic scheme", path: "/mcp", header: map[string]string{"Authorization": "Basic s3cret-token"}, want: 401},
		{name: "good token", path: "/mcp", header: map[string]string{"Authorization": "Bearer s3cret-token"}, want: 200},
		{name: "scheme case", path: "/mcp", header: map[string]string{"Authorization": "bearer s3cret-token"}, want: 200},
		{name: "healthz open", path: "/healthz", want: 200},
		{name: "foreign origin", path: "/mcp", header: map[string]string{"Authorization": "Bearer s3cret-token", "Origin": "https://evil.example"}, want: 403},
		{name: "foreign origin on healthz", path: "/healthz", header: map[string]string{"Origin": "https://evil.example"}, want: 403},
		{name: "allowed origin default port", path: "/mcp", header: map[string]string{"Authorization": "Bearer s3cret-token", "Origin": "https://APP.example"}, want: 200},
		{name: "allowed origin", path: "/mcp", header: map[string]string{"Authorization": "Bearer s3cret-token", "Origin": "http://localhost:6274"}, want: 200},
		{name: "origin other port", path: "/mcp", header: map[string]string{"Authorization": "Bearer s3cret-token", "Origin": "http://localhost:9999"}, want: 403},
		{name: "body too large", path: "/mcp", header: map[string]string{"Authorization": "Bearer s3cret-token"}, body: strings.Repeat("x", 101), want: 413},
		{name: "chunked body too large", path: "/mcp", header: map[string]string{"Authorization": "Bearer s3cret-token"}, body: strings.Repeat("x", 101), chunked: true, want: 413},
		{name: "body at limit", path: "/mcp", header: map[string]string{"Authorization": "Bearer s3cret-token"}, body: strings.Repeat("x", 100), want: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				body = io.MultiReader(body) // unknown length
			}
			r := httptest.NewRequest("POST", tt.path, body)
			if tt.chunked {
				r.ContentLength = -1
			}
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Errorf("status %d, want %d (%s)", w.Code, tt.want, w.Body)
			}
			if strings.Contains(w.Body.String(), "s3cret-token") {
				t.Error("the token was echoed")
			}
			if tt.want == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestCheckListen(t *testing.T) {
	tests := []struct {
		addr  string
		token bool
		ok    bool
	}{
		{"127.0.0.1:8080", false, true},
		{"localhost:8080", false, true},
		{"[::1]:8080", false, true},
		{"0.0.0.0:8080", false, false},
		{":8080", false, false},
		{"192.168.1.5:8080", false, false},
		{"0.0.0.0:8080", true, true},
		{"nonsense", true, false},
	}
	for _, tt := range tests {
		err := httpguard.CheckListen(tt.addr, tt.token)
		if (err == nil) != tt.ok {
			t.Errorf("CheckListen(%q, %v) = %v", tt.addr, tt.token, err)
		}
		if err != nil && !tt.token && tt.addr != "nonsense" && !strings.Contains(err.Error(), "--auth-token") {
			t.Errorf("the refusal does not say how to fix it: %v", err)
		}
	}
}
