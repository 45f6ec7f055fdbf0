package faltest_test

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"path"
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
)

// TestSamplesAreRealMedia: each sample is a well-formed file of its kind,
// small enough to embed: an MP4 with ftyp, moov and mdat boxes, an MP3
// with an ID3 tag and an MPEG audio frame, a PNG with its IHDR, a ZIP of
// PNG frames.
func TestSamplesAreRealMedia(t *testing.T) {
	for _, kind := range []string{"video", "audio", "image", "zip"} {
		s, ok := faltest.SampleOf(kind)
		if !ok {
			t.Fatalf("no %s sample", kind)
		}
		if len(s.Data) < 200 || len(s.Data) > 16<<10 {
			t.Errorf("%s sample has %d bytes; want a small real file", kind, len(s.Data))
		}
		if got := http.DetectContentType(s.Data); got != s.ContentType {
			t.Errorf("%s sample sniffs as %s, advertised %s", kind, got, s.ContentType)
		}
		if problem := checkMedia(kind, s.Data); problem != "" {
			t.Errorf("%s sample: %s", kind, problem)
		}
	}
	if _, ok := faltest.SampleOf("hologram"); ok {
		t.Error("a sample of an unknown kind")
	}
}

// checkMedia looks at the structure of a file of a kind, beyond its magic
// number, and says what is wrong ("" when nothing).
func checkMedia(kind string, b []byte) string {
	switch kind {
	case "video":
		boxes := map[string]bool{}
		for rest := b; len(rest) >= 8; {
			size := binary.BigEndian.Uint32(rest)
			if size < 8 || int(size) > len(rest) {
				return "a box overruns the file"
			}
			boxes[string(rest[4:8])] = true
			rest = rest[size:]
		}
		if !boxes["ftyp"] || !boxes["moov"] || !boxes["mdat"] {
			return "missing ftyp, moov or mdat"
		}
	case "audio":
		if !bytes.HasPrefix(b, []byte("ID3")) || len(b) < 10 {
			return "no ID3 tag"
		}
		tag := 10 + (int(b[6])<<21 | int(b[7])<<14 | int(b[8])<<7 | int(b[9]))
		if tag+2 > len(b) || b[tag] != 0xFF || b[tag+1]&0xE0 != 0xE0 {
			return "no MPEG audio frame after the tag"
		}
	case "image":
		if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || string(b[12:16]) != "IHDR" {
			return "no PNG signature and IHDR"
		}
	case "zip":
		z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil || len(z.File) == 0 {
			return "not a readable zip"
		}
		for _, f := range z.File {
			r, err := f.Open()
			if err != nil {
				return err.Error()
			}
			var buf bytes.Buffer
			_, _ = buf.ReadFrom(r)
			r.Close()
			if checkMedia("image", buf.Bytes()) != "" {
				return f.Name + " is not a PNG frame"
			}
		}
	}
	return ""
}

// TestServeOutputFiles: every file object of an output points at a real
// file on the CDN of the kind its field or type names, and says its true
// content type, size and name; other fields are kept.
func TestServeOutputFiles(t *testing.T) {
	_, srv := start(t, faltest.Options{})
	tests := []struct {
		output string
		path   []string // to the file object
		kind   string
		name   string
	}{
		{`{"video":{"url":"https://x/out.mp4"}}`, []string{"video"}, "video", "out.mp4"},
		// The seed's example: a PNG advertised as the output video.
		{`{"video":{"url":"","content_type":"image/png","file_name":"z9RV.png","file_size":4404019},"prompt":""}`, []string{"video"}, "video", "z9RV.mp4"},
		{`{"audio_file":{"url":"https://x/speech"}}`, []string{"audio_file"}, "audio", "speech.mp3"},
		{`{"images":[{"url":"https://x/a.jpg"},{"url":"https://x/b.jpg"}]}`, []string{"images", "1"}, "image", "b.png"},
		{`{"frames_zip":{"url":"https://x/frames.zip"}}`, []string{"frames_zip"}, "zip", "frames.zip"},
		{`{"result":{"url":"https://x/r","content_type":"audio/wav"}}`, []string{"result"}, "audio", "r.mp3"},
		{`{"result":{"url":"https://x/r.webm"}}`, []string{"result"}, "video", "r.mp4"},
	}
	for _, tc := range tests {
		var out any
		if err := json.Unmarshal(srv.ServeOutputFiles(json.RawMessage(tc.output)), &out); err != nil {
			t.Fatal(err)
		}
		node := out
		for _, p := range tc.path {
			switch n := node.(type) {
			case map[string]any:
				node = n[p]
			case []any:
				node = n[int(p[0]-'0')]
			}
		}
		file, _ := node.(map[string]any)
		u, _ := file["url"].(string)
		if !strings.HasPrefix(u, srv.CDNURL) {
			t.Errorf("%s: url %q is not on the CDN", tc.output, u)
			continue
		}
		resp, body := send(t, "GET", u, nil)
		want, _ := faltest.SampleOf(tc.kind)
		if resp.StatusCode != 200 || !bytes.Equal(body, want.Data) || resp.Header.Get("Content-Type") != want.ContentType {
			t.Errorf("%s: GET %s = %d %s, %d bytes", tc.output, u, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
		if file["content_type"] != want.ContentType || file["file_size"] != float64(len(body)) || file["file_name"] != tc.name ||
			path.Base(u) != tc.name {
			t.Errorf("%s: file object %v does not describe the %d served bytes as %s %s", tc.output, file, len(body), want.ContentType, tc.name)
		}
	}
	if got := string(srv.ServeOutputFiles(json.RawMessage(`{"prompt":"p","seed":1}`))); got != `{"prompt":"p","seed":1}` {
		t.Errorf("an output without files changed: %s", got)
	}
	if got := string(srv.ServeOutputFiles(json.RawMessage(`not json`))); got != `{}` {
		t.Errorf("not JSON = %s", got)
	}
	var odd map[string]map[string]any
	_ = json.Unmarshal(srv.ServeOutputFiles(json.RawMessage(`{"thing":{"url":"https://x/t.bin"}}`)), &odd)
	if resp, body := send(t, "GET", odd["thing"]["url"].(string), nil); resp.StatusCode != 200 ||
		odd["thing"]["file_size"] != float64(len(body)) || !strings.HasPrefix(odd["thing"]["content_type"].(string), "text/plain") {
		t.Errorf("a file of no known kind = %v, %q", odd["thing"], body)
	}
}
