package falqueue_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
)

// generator yields n deterministic pseudo-random bytes without holding
// them: the test's stand-in for a big file.
type generator struct {
	n, off int64
	state  uint64
}

func (g *generator) Read(p []byte) (int, error) {
	if g.off >= g.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), g.n-g.off)]
	for i := range p {
		g.state = g.state*6364136223846793005 + 1442695040888963407
		p[i] = byte(g.state >> 56)
	}
	g.off += int64(len(p))
	return len(p), nil
}

func sha(r io.Reader) string {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		panic(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestUploadSinglePart(t *testing.T) {
	tests := []struct {
		name   string
		reader func([]byte) io.Reader
		fault  *faltest.Fault
		puts   int
		fails  bool
	}{
		{"bytes", func(b []byte) io.Reader { return bytes.NewReader(b) }, nil, 1, false},
		{"seeker retried after 503", func(b []byte) io.Reader { return bytes.NewReader(b) }, &faltest.Fault{Op: faltest.OpUpload, Status: 503}, 2, false},
		{"stream not retried", func(b []byte) io.Reader { return io.MultiReader(bytes.NewReader(b)) }, &faltest.Fault{Op: faltest.OpUpload, Status: 503}, 1, true},
		{"initiate retried", func(b []byte) io.Reader { return bytes.NewReader(b) }, &faltest.Fault{Op: faltest.OpInitiate, Status: 502}, 1, false},
	}
	data := []byte(strings.Repeat("fal video bytes ", 4096))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, faltest.Options{})
			if tt.fault != nil {
				e.srv.Inject(*tt.fault)
			}
			u, err := e.client.Upload(ctxT(t), tt.reader(data), int64(len(data)), falqueue.UploadOptions{ContentType: "video/mp4", FileName: "clip.mp4"})
			if n := len(e.requests(faltest.OpUpload)); n != tt.puts {
				t.Errorf("%d PUTs, want %d", n, tt.puts)
			}
			if tt.fails {
				if err == nil {
					t.Fatal("Upload succeeded; want the unrewindable reader's failure")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fi, ok := e.srv.File(u)
			if !ok || fi.Size != int64(len(data)) || fi.SHA256 != sha(bytes.NewReader(data)) || fi.ContentType != "video/mp4" {
				t.Errorf("emulator file = %+v, %v", fi, ok)
			}
			in := e.requests(faltest.OpInitiate)
			var body map[string]string
			if len(in) == 0 || json.Unmarshal(in[len(in)-1].Body, &body) != nil || body["content_type"] != "video/mp4" || body["file_name"] != "clip.mp4" {
				t.Errorf("initiate = %+v", in)
			}
			wantPath(t, in[len(in)-1], "POST", "/storage/upload/initiate", "storage_type=fal-cdn-v3")
			assertNoKeyOffHost(t, e)
		})
	}
}

func TestUploadShortReader(t *testing.T) {
	e := newEnv(t, faltest.Options{})
	_, err := e.client.Upload(ctxT(t), strings.NewReader("short"), 100, falqueue.UploadOptions{})
	if err == nil || !strings.Contains(err.Error(), "ended after 5 of 100 bytes") {
		t.Fatalf("Upload = %v", err)
	}
}

// TestUploadMultipartBoundedMemory streams 200 MiB from a generator in
// 10 MiB parts, with a failing part retried, verifies the bytes at the
// emulator, and checks memory: never more part buffers than parts in
// flight, and total allocation far below the file size.
func TestUploadMultipartBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("200 MiB upload")
	}
	const size = 200<<20 + 12345
	const inFlight = 3
	e := newEnv(t, faltest.Options{StorageDir: t.TempDir()}, func(c *falqueue.Config) { c.PartConcurrency = inFlight })
	e.srv.Inject(faltest.Fault{Op: faltest.OpPart, Status: 500})
	e.srv.Inject(faltest.Fault{Op: faltest.OpPart, DropAfter: true})

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	u, err := e.client.Upload(ctxT(t), &generator{n: size, state: 42}, size, falqueue.UploadOptions{ContentType: "video/mp4"})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	fi, ok := e.srv.File(u)
	if want := sha(&generator{n: size, state: 42}); !ok || fi.Size != size || fi.SHA256 != want {
		t.Fatalf("emulator file = %+v (%v), want %d bytes with sha256 %s", fi, ok, size, want)
	}
	parts := e.requests(faltest.OpPart)
	if len(parts) != 21+2 { // 21 parts, two of them sent twice
		t.Errorf("%d part PUTs, want 23", len(parts))
	}
	if peak := falqueue.PeakPartBuffers(e.client); peak > inFlight || peak < 1 {
		t.Errorf("peak part buffers = %d, want 1..%d", peak, inFlight)
	}
	// Allocation covers the client, the in-process emulator and the HTTP
	// machinery; the bound is the buffers in flight plus a margin, far
	// below the 200 MiB a buffering client would allocate.
	alloc := after.TotalAlloc - before.TotalAlloc
	limit := uint64(inFlight*falqueue.PartSize + 24<<20)
	t.Logf("uploaded %d MiB with %d parts in flight: %.1f MiB allocated (limit %.1f MiB)", size>>20, inFlight, float64(alloc)/(1<<20), float64(limit)/(1<<20))
	if alloc > limit {
		t.Errorf("allocated %d bytes for a %d-byte upload; want at most %d", alloc, size, limit)
	}
	complete := only(t, e.requests(faltest.OpComplete))
	var body struct {
		Parts []struct {
			PartNumber int    `json:"partNumber"`
			ETag       string `json:"etag"`
		} `json:"parts"`
	}
	if err := json.Unmarshal(complete.Body, &body); err != nil || len(body.Parts) != 21 {
		t.Fatalf("complete body = %s", complete.Body)
	}
	for i, p := range body.Parts {
		if p.PartNumber != i+1 || p.ETag == "" {
			t.Errorf("part %d = %+v", i, p)
		}
	}
	assertNoKeyOffHost(t, e)
}

func TestUploadMultipartFailsCleanly(t *testing.T) {
	e := newEnv(t, faltest.Options{StorageDir: t.TempDir()}, func(c *falqueue.Config) { c.PartConcurrency = 2 })
	e.srv.Inject(faltest.Fault{Op: faltest.OpPart, Status: 500, Times: 100})
	_, err := e.client.Upload(ctxT(t), &generator{n: falqueue.MultipartThreshold + 1}, falqueue.MultipartThreshold+1, falqueue.UploadOptions{})
	var ae *falqueue.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 500 {
		t.Fatalf("Upload = %v, want the part's 500", err)
	}
	if n := len(e.requests(faltest.OpComplete)); n != 0 {
		t.Errorf("a failed upload was completed")
	}
}

// assertNoKeyOffHost: the key went to the queue and REST hosts only.
func assertNoKeyOffHost(t *testing.T, e *env) {
	t.Helper()
	for _, r := range e.srv.Requests() {
		if r.Host == "cdn" && r.Header.Get("Authorization") != "" {
			t.Errorf("%s %s to the CDN carried an Authorization header", r.Method, r.Path)
		}
	}
}
