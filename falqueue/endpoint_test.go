package falqueue

import (
	"net/url"
	"strings"
	"testing"
)

func TestParseEndpointID(t *testing.T) {
	tests := []struct {
		id      string
		want    EndpointID
		appID   string
		wantErr string
	}{
		{id: "fal-ai/wan-vace-14b", want: EndpointID{Owner: "fal-ai", Alias: "wan-vace-14b"}, appID: "fal-ai/wan-vace-14b"},
		{id: "fal-ai/pixverse/extend/fast", want: EndpointID{Owner: "fal-ai", Alias: "pixverse", Path: "extend/fast"}, appID: "fal-ai/pixverse"},
		{id: "fal-ai/ltx-video-13b-distilled/multiconditioning", want: EndpointID{Owner: "fal-ai", Alias: "ltx-video-13b-distilled", Path: "multiconditioning"}, appID: "fal-ai/ltx-video-13b-distilled"},
		{id: "fal-ai/luma-dream-machine/ray-2/modify", want: EndpointID{Owner: "fal-ai", Alias: "luma-dream-machine", Path: "ray-2/modify"}, appID: "fal-ai/luma-dream-machine"},
		{id: "workflows/fal-ai/my-flow/sub", want: EndpointID{Namespace: "workflows", Owner: "fal-ai", Alias: "my-flow", Path: "sub"}, appID: "workflows/fal-ai/my-flow"},
		{id: "comfy/me/graph", want: EndpointID{Namespace: "comfy", Owner: "me", Alias: "graph"}, appID: "comfy/me/graph"},
		{id: "12345-myapp", want: EndpointID{Owner: "12345", Alias: "myapp"}, appID: "12345/myapp"},
		{id: "12345-my-app", want: EndpointID{Owner: "12345", Alias: "my-app"}, appID: "12345/my-app"},
		{id: "", wantErr: "empty endpoint id"},
		{id: "wan-vace", wantErr: "want owner/alias"},
		{id: "workflows/fal-ai", wantErr: "namespace needs"},
		{id: "fal-ai/", wantErr: "empty path segment"},
		{id: "/fal-ai/x", wantErr: "empty path segment"},
		{id: "fal-ai//x", wantErr: "empty path segment"},
		{id: "fal-ai/../x", wantErr: `".." is not allowed`},
		{id: "fal-ai/x?y=1", wantErr: "not allowed"},
		{id: "fal-ai/x y", wantErr: "not allowed"},
		{id: "https://evil.example/x", wantErr: "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			got, err := ParseEndpointID(tt.id)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseEndpointID(%q) error = %v, want one containing %q", tt.id, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseEndpointID(%q): %v", tt.id, err)
			}
			if got != tt.want {
				t.Errorf("ParseEndpointID(%q) = %+v, want %+v", tt.id, got, tt.want)
			}
			if got.AppID() != tt.appID {
				t.Errorf("AppID() = %q, want %q", got.AppID(), tt.appID)
			}
		})
	}
}

func TestReattachURLs(t *testing.T) {
	tests := []struct {
		base, endpoint, request string
		wantStatus, wantResult  string
		wantCancel              string
	}{
		{"https://queue.fal.run", "fal-ai/pixverse/extend/fast", "r1",
			"https://queue.fal.run/fal-ai/pixverse/requests/r1/status",
			"https://queue.fal.run/fal-ai/pixverse/requests/r1",
			"https://queue.fal.run/fal-ai/pixverse/requests/r1/cancel"},
		{"https://queue.fal.run/", "fal-ai/ltx-video-13b-distilled/multiconditioning", "019d9e0b-6eb0-7920",
			"https://queue.fal.run/fal-ai/ltx-video-13b-distilled/requests/019d9e0b-6eb0-7920/status",
			"https://queue.fal.run/fal-ai/ltx-video-13b-distilled/requests/019d9e0b-6eb0-7920",
			"https://queue.fal.run/fal-ai/ltx-video-13b-distilled/requests/019d9e0b-6eb0-7920/cancel"},
		{"http://127.0.0.1:8080/prefix", "workflows/fal-ai/my-flow/sub", "a b%",
			"http://127.0.0.1:8080/prefix/workflows/fal-ai/my-flow/requests/a%20b%25/status",
			"http://127.0.0.1:8080/prefix/workflows/fal-ai/my-flow/requests/a%20b%25",
			"http://127.0.0.1:8080/prefix/workflows/fal-ai/my-flow/requests/a%20b%25/cancel"},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			c, err := New(Config{QueueURL: tt.base})
			if err != nil {
				t.Fatal(err)
			}
			h, err := c.Reattach(tt.endpoint, tt.request)
			if tt.request == "a b%" {
				// A space is not a valid request id: ids are one printable segment.
				if err == nil {
					t.Fatalf("Reattach(%q) accepted a request id with a space", tt.request)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.StatusURL != tt.wantStatus || h.ResponseURL != tt.wantResult || h.CancelURL != tt.wantCancel {
				t.Errorf("Reattach = %+v\nwant status %s\n     result %s\n     cancel %s", h, tt.wantStatus, tt.wantResult, tt.wantCancel)
			}
			if h.EndpointID != tt.endpoint || h.RequestID != tt.request {
				t.Errorf("handle ids = %q %q", h.EndpointID, h.RequestID)
			}
		})
	}
}

func TestRequestIDEscaping(t *testing.T) {
	c, _ := New(Config{QueueURL: "http://127.0.0.1:1/base"})
	h, err := c.Reattach("fal-ai/x", "id%3Aé")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(h.StatusURL)
	if err != nil {
		t.Fatal(err)
	}
	if u.Path != "/base/fal-ai/x/requests/id%3Aé/status" {
		t.Errorf("path = %q", u.Path)
	}
	for _, bad := range []string{"", ".", "..", "a/b", `a\b`, "a\nb", "a b"} {
		if _, err := c.Reattach("fal-ai/x", bad); err == nil {
			t.Errorf("Reattach accepted request id %q", bad)
		}
	}
}

// FuzzParseEndpointID checks that any id that parses round-trips, and that
// the URLs built from it stay on the queue host, under its base path, with
// the app id as their first segments and the request id as one segment.
func FuzzParseEndpointID(f *testing.F) {
	for _, s := range []string{"fal-ai/wan-vace-14b", "fal-ai/pixverse/extend/fast", "workflows/a/b/c/d", "comfy/x/y",
		"12345-app", "a/b/../c", "a/b/%2e%2e", "a//b", "x/y?z", "a/b#c", "a/b/requests/c", "é/ü"} {
		f.Add(s, "019d9e0b-6eb0-7920")
	}
	c, err := New(Config{QueueURL: "https://queue.example.test/base"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, id, requestID string) {
		e, err := ParseEndpointID(id)
		if err != nil {
			return
		}
		if e.String() != id && !legacyID.MatchString(id) {
			t.Fatalf("String() = %q, want %q", e.String(), id)
		}
		again, err := ParseEndpointID(e.String())
		if err != nil || again != e {
			t.Fatalf("reparse of %q = %+v, %v; want %+v", e.String(), again, err, e)
		}
		if !strings.HasPrefix(e.String(), e.AppID()) {
			t.Fatalf("AppID %q is not a prefix of %q", e.AppID(), e.String())
		}
		h, err := c.Reattach(id, requestID)
		if err != nil {
			if checkRequestID(requestID) == nil {
				t.Fatalf("Reattach(%q, %q): %v", id, requestID, err)
			}
			return
		}
		for _, raw := range []string{h.StatusURL, h.ResponseURL, h.CancelURL} {
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatalf("built URL %q does not parse: %v", raw, err)
			}
			if !c.trusted(u) || u.RawQuery != "" || u.Fragment != "" {
				t.Fatalf("built URL %q leaves the queue host or carries a query", raw)
			}
			rest := strings.TrimPrefix(u.Path, "/base/"+e.AppID()+"/requests/")
			if rest == u.Path {
				t.Fatalf("built URL %q is not under /base/%s/requests/", raw, e.AppID())
			}
			if gotID, _, _ := strings.Cut(rest, "/"); gotID != requestID {
				t.Fatalf("built URL %q: request id segment %q, want %q", raw, gotID, requestID)
			}
		}
	})
}
