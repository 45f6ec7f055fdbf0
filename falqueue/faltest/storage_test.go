package faltest_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
)

// send makes a request without any key, as the JS client does towards the
// CDN (§2); header is name, value pairs.
func send(t *testing.T, method, url string, body []byte, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, raw
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// initiate starts an upload and returns its upload and file URLs.
func (c client) initiate(kind, contentType, name string) (upload, file string) {
	c.t.Helper()
	body, _ := json.Marshal(map[string]string{"content_type": contentType, "file_name": name})
	a := c.do("POST", c.srv.RestURL+"/storage/upload/"+kind+"?storage_type=fal-cdn-v3", string(body))
	upload, _ = a.body["upload_url"].(string)
	file, _ = a.body["file_url"].(string)
	if a.code != 200 || !strings.HasPrefix(upload, c.srv.CDNURL+"/") || !strings.HasPrefix(file, c.srv.CDNURL+"/") {
		c.t.Fatalf("%s = %d %s", kind, a.code, a.raw)
	}
	if u, _ := url.Parse(upload); u.Query().Get("signature") == "" {
		c.t.Errorf("upload_url %q has no signature", upload)
	}
	return upload, file
}

// partURL is U's path + "/<n>", U's query kept (§7.2).
func partURL(upload, suffix string) string {
	path, query, _ := strings.Cut(upload, "?")
	return path + "/" + suffix + "?" + query
}

type part struct {
	PartNumber int    `json:"partNumber"`
	ETag       string `json:"etag"`
}

func putPart(t *testing.T, upload string, n int, data []byte) part {
	t.Helper()
	resp, raw := send(t, "PUT", partURL(upload, fmt.Sprint(n)), data)
	var p part
	if err := json.Unmarshal(raw, &p); err != nil || resp.StatusCode != 200 || p.PartNumber != n || p.ETag == "" {
		t.Fatalf("part %d = %d %s", n, resp.StatusCode, raw)
	}
	// The JS client reads the body, the fal SDK the header (§7.2).
	if h := resp.Header.Get("ETag"); strings.Trim(h, `"`) != p.ETag {
		t.Errorf("part %d: ETag header %q, body etag %q", n, h, p.ETag)
	}
	return p
}

func complete(t *testing.T, upload string, parts ...part) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"parts": parts})
	resp, raw := send(t, "POST", partURL(upload, "complete"), body, "Content-Type", "application/json")
	return resp.StatusCode, string(raw)
}

func TestSingleUpload(t *testing.T) {
	c, srv := start(t, faltest.Options{StorageDir: t.TempDir()})
	upload, file := c.initiate("initiate", "video/mp4", "a b.mp4")
	data := bytes.Repeat([]byte("0123456789"), 100_000)

	forged := strings.Split(upload, "?")[0] + "?signature=forged"
	if resp, _ := send(t, "PUT", forged, []byte("x")); resp.StatusCode != 403 {
		t.Errorf("PUT with a forged signature = %d", resp.StatusCode)
	}
	if resp, _ := send(t, "PUT", partURL(upload, "1"), []byte("x")); resp.StatusCode != 400 {
		t.Errorf("a part of a single upload = %d", resp.StatusCode)
	}
	if _, ok := srv.File(file); ok {
		t.Error("file exists before its PUT")
	}
	if resp, raw := send(t, "PUT", upload, data, "Content-Type", "video/mp4"); resp.StatusCode != 200 {
		t.Fatalf("PUT = %d %s", resp.StatusCode, raw)
	}
	fi, ok := srv.File(file)
	if !ok || fi.Size != int64(len(data)) || fi.SHA256 != sha(data) || fi.Name != "a b.mp4" || fi.ContentType != "video/mp4" || fi.URL != file {
		t.Errorf("File = %+v %v", fi, ok)
	}
	resp, got := send(t, "GET", file, nil)
	if resp.StatusCode != 200 || sha(got) != sha(data) || resp.Header.Get("Content-Type") != "video/mp4" {
		t.Errorf("GET file = %d %q, %d bytes", resp.StatusCode, resp.Header, len(got))
	}
	resp, got = send(t, "GET", file, nil, "Range", "bytes=10-19")
	if resp.StatusCode != 206 || string(got) != "0123456789" {
		t.Errorf("GET range = %d %q", resp.StatusCode, got)
	}
	log := srv.Requests()
	ops := []string{}
	for _, r := range log {
		ops = append(ops, r.Host+":"+string(r.Op)+fmt.Sprint(r.Status))
		if r.Host == "cdn" && r.Header.Get("Authorization") != "" {
			t.Errorf("the key went to the CDN: %+v", r)
		}
	}
	want := "rest:initiate200 cdn:upload403 cdn:part400 cdn:upload200 cdn:file200 cdn:file206"
	if strings.Join(ops, " ") != want {
		t.Errorf("log = %s\nwant  %s", strings.Join(ops, " "), want)
	}
	if up := log[3]; up.Body != nil || up.BodySize != int64(len(data)) {
		t.Errorf("upload logged with body %d bytes, size %d", len(up.Body), up.BodySize)
	}
	if init := log[0]; !strings.Contains(string(init.Body), `"file_name":"a b.mp4"`) || init.RawQuery != "storage_type=fal-cdn-v3" {
		t.Errorf("initiate logged as %+v", init)
	}
}

func TestMultipartUpload(t *testing.T) {
	c, srv := start(t, faltest.Options{})
	upload, file := c.initiate("initiate-multipart", "video/mp4", "b.mp4")
	chunks := [][]byte{bytes.Repeat([]byte("a"), 1<<20), bytes.Repeat([]byte("b"), 1<<20), []byte("tail")}
	var parts []part
	for i, ch := range chunks {
		parts = append(parts, putPart(t, upload, i+1, ch))
	}
	if resp, _ := send(t, "PUT", upload, []byte("x")); resp.StatusCode != 400 {
		t.Errorf("a single PUT to a multipart upload = %d", resp.StatusCode)
	}
	if resp, _ := send(t, "PUT", partURL(upload, "0"), []byte("x")); resp.StatusCode != 400 {
		t.Errorf("part 0 = %d (parts are 1-based)", resp.StatusCode)
	}
	quoted := parts[0]
	quoted.ETag = `"` + quoted.ETag + `"`
	bad := []struct {
		name  string
		parts []part
	}{
		{"none", nil},
		{"wrong etag", []part{{1, "x"}, parts[1], parts[2]}},
		{"missing etag", []part{{PartNumber: 1}, parts[1], parts[2]}},
		{"out of order", []part{parts[1], parts[0], parts[2]}},
		{"a part missing", []part{parts[0], parts[2]}},
		{"a part never uploaded", []part{parts[0], parts[1], parts[2], {4, parts[2].ETag}}},
	}
	for _, tt := range bad {
		if code, body := complete(t, upload, tt.parts...); code != 400 {
			t.Errorf("complete with %s = %d %s", tt.name, code, body)
		}
	}
	if _, ok := srv.File(file); ok {
		t.Fatal("file exists before complete")
	}
	good := []part{quoted, parts[1], parts[2]} // the fal SDK keeps the header's quotes
	if code, body := complete(t, upload, good...); code != 200 {
		t.Fatalf("complete = %d %s", code, body)
	}
	whole := bytes.Join(chunks, nil)
	fi, ok := srv.File(file)
	if !ok || fi.Size != int64(len(whole)) || fi.SHA256 != sha(whole) || fi.ContentType != "video/mp4" {
		t.Errorf("File = %+v %v", fi, ok)
	}
	if resp, got := send(t, "GET", file, nil); resp.StatusCode != 200 || sha(got) != sha(whole) {
		t.Errorf("GET file = %d, %d bytes", resp.StatusCode, len(got))
	}
	// A complete retried after its answer was lost succeeds again; other
	// late calls are refused.
	if code, body := complete(t, upload, good...); code != 200 {
		t.Errorf("repeated complete = %d %s", code, body)
	}
	if resp, _ := send(t, "PUT", partURL(upload, "1"), []byte("late")); resp.StatusCode != 400 {
		t.Errorf("a part after complete = %d", resp.StatusCode)
	}
	if fi2, _ := srv.File(file); fi2.SHA256 != sha(whole) {
		t.Error("the file changed after completion")
	}
}

// A part retry cut off midway must not spoil the part an earlier attempt
// stored: its etag was answered and will be sent to complete.
func TestInterruptedPartKeepsEarlierPart(t *testing.T) {
	c, srv := start(t, faltest.Options{})
	upload, file := c.initiate("initiate-multipart", "application/octet-stream", "c.bin")
	first := putPart(t, upload, 1, []byte("the real part"))

	u, _ := url.Parse(partURL(upload, "1"))
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: 1000\r\n\r\nonly a few bytes", u.RequestURI(), u.Host)
	conn.Close()
	// Wait (bounded) until the emulator has given up on that body.
	deadline := time.Now().Add(5 * time.Second)
	for {
		log := srv.Requests()
		if last := log[len(log)-1]; last.Op == faltest.OpPart && last.Status != 0 && len(log) == 3 {
			if last.Status != 400 {
				t.Fatalf("cut-off part answered %d", last.Status)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cut-off part was never handled: %+v", log)
		}
	}
	if code, body := complete(t, upload, first); code != 200 {
		t.Fatalf("complete = %d %s", code, body)
	}
	if fi, _ := srv.File(file); fi.SHA256 != sha([]byte("the real part")) {
		t.Errorf("file = %+v", fi)
	}
}

func TestAddFile(t *testing.T) {
	_, srv := start(t, faltest.Options{})
	u := srv.AddFile("out.mp4", "video/mp4", []byte("video"))
	fi, ok := srv.File(u)
	if !ok || !strings.HasPrefix(u, srv.CDNURL+"/files/") || fi.Size != 5 || fi.SHA256 != sha([]byte("video")) {
		t.Errorf("AddFile = %q, %+v", u, fi)
	}
	if resp, got := send(t, "GET", u, nil); resp.StatusCode != 200 || string(got) != "video" || resp.Header.Get("Content-Type") != "video/mp4" {
		t.Errorf("GET = %d %q", resp.StatusCode, got)
	}
	if resp, _ := send(t, "HEAD", u, nil); resp.StatusCode != 200 || resp.ContentLength != 5 {
		t.Errorf("HEAD = %d, length %d", resp.StatusCode, resp.ContentLength)
	}
	if resp, _ := send(t, "GET", srv.CDNURL+"/files/nope/x.mp4", nil); resp.StatusCode != 404 {
		t.Errorf("GET unknown file = %d", resp.StatusCode)
	}
	if _, ok := srv.File("https://v3.fal.media/files/x/out.mp4"); ok {
		t.Error("File knows a URL of another host")
	}
}

func TestInitiateValidation(t *testing.T) {
	c, srv := start(t, faltest.Options{})
	for _, body := range []string{``, `[]`, `{"content_type":"video/mp4"}`} {
		if a := c.do("POST", srv.RestURL+"/storage/upload/initiate?storage_type=fal-cdn-v3", body); a.code != 422 {
			t.Errorf("initiate %q = %d %s", body, a.code, a.raw)
		}
	}
	if a := c.do("GET", srv.RestURL+"/storage/upload/initiate", ""); a.code != 404 {
		t.Errorf("GET initiate = %d", a.code)
	}
}
