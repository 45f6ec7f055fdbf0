package faltest_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
)

// TestCDNRange: a CDN file answers Range requests with 206 and the bytes
// asked, and the request log counts the body bytes each read was sent.
func TestCDNRange(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{})
	t.Cleanup(emu.Close)
	data := make([]byte, 1000)
	for i := range data {
		data[i] = byte(i)
	}
	u := emu.AddFile("clip.mp4", "video/mp4", data)
	cases := []struct {
		rng        string
		wantStatus int
		wantBody   []byte
		wantRange  string
	}{
		{"bytes=0-15", http.StatusPartialContent, data[0:16], "bytes 0-15/1000"},
		{"bytes=990-1200", http.StatusPartialContent, data[990:], "bytes 990-999/1000"},
		{"bytes=2000-2015", http.StatusRequestedRangeNotSatisfiable, nil, ""},
		{"", http.StatusOK, data, ""},
	}
	for _, c := range cases {
		t.Run(c.rng, func(t *testing.T) {
			emu.ResetRequests()
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			if c.rng != "" {
				req.Header.Set("Range", c.rng)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.wantStatus)
			}
			if c.wantBody != nil && string(body) != string(c.wantBody) {
				t.Errorf("body %d bytes, want %d", len(body), len(c.wantBody))
			}
			if got := resp.Header.Get("Content-Range"); c.wantRange != "" && got != c.wantRange {
				t.Errorf("Content-Range %q, want %q", got, c.wantRange)
			}
			reqs := emu.Requests()
			if len(reqs) != 1 || reqs[0].Op != faltest.OpFile {
				t.Fatalf("logged %+v, want one file read", reqs)
			}
			if c.wantBody != nil && reqs[0].BodySent != int64(len(c.wantBody)) {
				t.Errorf("BodySent %d, want %d", reqs[0].BodySent, len(c.wantBody))
			}
		})
	}
}
