package httpguard_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/tools/httpguard"
)

type senderKey struct{}

// TestOwnStreams: how a POST's answer is shaped when its handler sends
// notifications through the request's own sender before, or instead of,
// writing its answer the way mcp-go does.
func TestOwnStreams(t *testing.T) {
	const answer = `{"jsonrpc":"2.0","id":1,"result":{}}` + "\n"
	jsonAnswer := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Mcp-Session-Id", "s1")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(answer))
	}
	tests := []struct {
		name     string
		accept   string
		handler  func(w http.ResponseWriter, send func(string, map[string]any) bool)
		wantType string
		wantBody string
		wantSent []bool
	}{
		{"JSON answer alone", "application/json, text/event-stream", func(w http.ResponseWriter, send func(string, map[string]any) bool) {
			jsonAnswer(w)
		}, "application/json", answer, nil},
		{"notifications, then the answer as the last event", "application/json, text/event-stream", func(w http.ResponseWriter, send func(string, map[string]any) bool) {
			send("notifications/progress", map[string]any{"progress": 1})
			send("notifications/progress", map[string]any{"progress": 2})
			jsonAnswer(w)
		}, "text/event-stream",
			`event: message` + "\n" + `data: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}` + "\n\n" +
				`event: message` + "\n" + `data: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":2}}` + "\n\n" +
				`event: message` + "\n" + `data: {"jsonrpc":"2.0","id":1,"result":{}}` + "\n\n", []bool{true, true}},
		{"a client that takes JSON only gets no notification", "application/json", func(w http.ResponseWriter, send func(string, map[string]any) bool) {
			send("notifications/progress", map[string]any{"progress": 1})
			jsonAnswer(w)
		}, "application/json", answer, []bool{false}},
		{"mcp-go's own SSE answer after ours", "text/event-stream, application/json", func(w http.ResponseWriter, send func(string, map[string]any) bool) {
			send("notifications/message", map[string]any{"level": "info"})
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("event: message\ndata: {\"id\":1}\n\n"))
			w.(http.Flusher).Flush()
		}, "text/event-stream",
			`event: message` + "\n" + `data: {"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info"}}` + "\n\n" +
				"event: message\ndata: {\"id\":1}\n\n", []bool{true}},
		{"nothing after the JSON answer began", "application/json, text/event-stream", func(w http.ResponseWriter, send func(string, map[string]any) bool) {
			jsonAnswer(w)
			send("notifications/progress", map[string]any{"progress": 1})
		}, "application/json", answer, []bool{false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sent []bool
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				send := r.Context().Value(senderKey{}).(func(string, map[string]any) bool)
				tt.handler(w, func(m string, p map[string]any) bool {
					ok := send(m, p)
					sent = append(sent, ok)
					return ok
				})
			})
			h := httpguard.OwnStreams(next, func(ctx context.Context, send func(string, map[string]any) bool) context.Context {
				return context.WithValue(ctx, senderKey{}, send)
			})
			req := httptest.NewRequest("POST", "/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call"}`))
			req.Header.Set("Accept", tt.accept)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if got := rec.Header().Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type %q, want %q", got, tt.wantType)
			}
			if rec.Body.String() != tt.wantBody {
				t.Errorf("body\n%s\nwant\n%s", rec.Body.String(), tt.wantBody)
			}
			if tt.wantType == "application/json" && rec.Header().Get("Mcp-Session-Id") != "s1" {
				t.Errorf("mcp-go's headers lost: %v", rec.Header())
			}
			if len(sent) != len(tt.wantSent) {
				t.Fatalf("sent %v, want %v", sent, tt.wantSent)
			}
			for i := range sent {
				if sent[i] != tt.wantSent[i] {
					t.Errorf("sent %v, want %v", sent, tt.wantSent)
				}
			}
		})
	}
}
