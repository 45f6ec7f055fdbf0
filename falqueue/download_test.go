package falqueue

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
)

// fakeResolver answers from a table: no real DNS in tests.
type fakeResolver struct {
	names map[string][]string
	asked atomic.Int32
}

func (r *fakeResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	r.asked.Add(1)
	ips, ok := r.names[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []net.IPAddr
	for _, s := range ips {
		out = append(out, net.IPAddr{IP: net.ParseIP(s)})
	}
	return out, nil
}

// trap is a listener on loopback that no download may reach.
func trap(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte("internal secret"))
	}))
	t.Cleanup(ts.Close)
	return ts, &hits
}

func downloadCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestDownloadRefusesNonPublicAddresses: URLs whose address is loopback,
// link-local, private or otherwise not public are refused when the
// connection is made — a public-looking name that resolves to 127.0.0.1
// and a redirect from a fal host to loopback included — and nothing
// reaches them; files on the configured fal hosts are fetched.
func TestDownloadRefusesNonPublicAddresses(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{})
	t.Cleanup(emu.Close)
	internal, hits := trap(t)
	port := internal.URL[strings.LastIndex(internal.URL, ":")+1:]
	resolver := &fakeResolver{names: map[string][]string{
		"localhost":             {"127.0.0.1", "::1"},
		"video.example.com":     {"127.0.0.1"},
		"cdn.example.net":       {"10.1.2.3"},
		"metadata.example":      {"169.254.169.254"},
		"home.example":          {"192.168.1.10"},
		"ula.example":           {"fd12:3456::1"},
		"cgnat.example":         {"100.64.3.4"},
		"mapped.example":        {"::ffff:127.0.0.1"},
		"unspecified.example":   {"0.0.0.0"},
		"both-private.example":  {"10.0.0.1", "127.0.0.1"},
		"multicast.example":     {"224.0.0.251"},
		"nat64-private.example": {"64:ff9b::a00:1"},
	}}
	// A fal host (configured as the CDN) whose every file redirects.
	var redirected atomic.Int32
	falHost := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		redirected.Add(1)
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	}))
	t.Cleanup(falHost.Close)
	c, err := New(Config{QueueURL: emu.QueueURL, RestURL: emu.RestURL, CDNURL: falHost.URL, Resolver: resolver,
		BackoffBase: time.Millisecond, BackoffMax: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := downloadCtx(t)

	tests := []struct{ url, want string }{
		{internal.URL + "/x.mp4", "loopback"},
		{"http://localhost:" + port + "/x.mp4", "loopback"},
		{"http://video.example.com:" + port + "/x.mp4", "video.example.com resolves to 127.0.0.1, a loopback address"},
		{"https://video.example.com/x.mp4", "loopback"},
		{"http://mapped.example:" + port + "/x.mp4", "loopback"},
		{"http://[::1]:" + port + "/x.mp4", "loopback"},
		{"http://[::ffff:127.0.0.1]:" + port + "/x.mp4", "loopback"},
		{"http://127.1.2.3:" + port + "/x.mp4", "loopback"},
		{"http://169.254.169.254/latest/meta-data/", "link-local"},
		{"http://metadata.example/latest/meta-data/", "link-local"},
		{"http://[fe80::1]/x.mp4", "link-local"},
		{"http://10.0.0.1/x.mp4", "private"},
		{"http://172.16.5.4/x.mp4", "private"},
		{"http://192.168.0.1/x.mp4", "private"},
		{"https://cdn.example.net/x.mp4", "private"},
		{"http://home.example/x.mp4", "private"},
		{"http://ula.example/x.mp4", "unique local"},
		{"http://[fd00::1]/x.mp4", "unique local"},
		{"http://cgnat.example/x.mp4", "carrier-grade NAT"},
		{"http://0.0.0.0:" + port + "/x.mp4", "unspecified"},
		{"http://unspecified.example:" + port + "/x.mp4", "unspecified"},
		{"http://both-private.example:" + port + "/x.mp4", "not a public one"},
		{"http://multicast.example/x.mp4", "multicast"},
		{"http://nat64-private.example/x.mp4", "private"},
		{falHost.URL + "/r?to=" + internal.URL + "/x.mp4", "redirects to " + internal.URL + "/x.mp4, and 127.0.0.1 is a loopback address"},
		{falHost.URL + "/r?to=http://video.example.com:" + port + "/x.mp4", "redirects to http://video.example.com:" + port + "/x.mp4"},
		{falHost.URL + "/r?to=http://169.254.169.254/", "link-local"},
		{falHost.URL + "/r?to=file:///etc/passwd", "not an http(s) URL"},
		{"file:///etc/passwd", "not an http(s) URL"},
		{"ftp://files.example/x.mp4", "not an http(s) URL"},
		{"http://user:hunter2@video.example.com/x.mp4", "user name or password"},
	}
	for _, tt := range tests {
		dl, err := c.Download(ctx, tt.url, DownloadOptions{})
		if err == nil {
			b, _ := io.ReadAll(dl)
			dl.Close()
			t.Errorf("Download(%s) fetched %q", tt.url, b)
			continue
		}
		var refused *DownloadRefusedError
		if !errors.As(err, &refused) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "refused") {
			t.Errorf("Download(%s) = %v (%T), want a refusal saying %q", tt.url, err, err, tt.want)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the refusal shows the URL's password: %v", err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the internal server received %d requests", n)
	}
	if n := redirected.Load(); n != 4 {
		t.Errorf("the fal host was asked %d times, want 4 (the redirects)", n)
	}
	if resolver.asked.Load() == 0 {
		t.Error("the injected resolver was never asked")
	}

	// Files on the configured hosts are fetched, loopback or not.
	file := emu.AddFile("clip.mp4", "video/mp4", []byte("the video bytes"))
	emuClient, err := New(Config{QueueURL: emu.QueueURL, RestURL: emu.RestURL, CDNURL: emu.CDNURL, Resolver: resolver})
	if err != nil {
		t.Fatal(err)
	}
	dl, err := emuClient.Download(ctx, file, DownloadOptions{MaxSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(dl)
	dl.Close()
	if err != nil || string(b) != "the video bytes" || dl.ContentType != "video/mp4" || dl.Size != int64(len(b)) {
		t.Errorf("download from the CDN = %q %q %d, %v", b, dl.ContentType, dl.Size, err)
	}
	// Without the CDN configured, the same loopback file is refused.
	_, err = c.Download(ctx, file, DownloadOptions{})
	if !errors.As(err, new(*DownloadRefusedError)) {
		t.Errorf("download from an unconfigured loopback CDN = %v", err)
	}
}

// TestDownloadSizeCap: a file over the cap is refused from its declared
// length before a byte is read, or stops when the cap is reached when no
// length is declared.
func TestDownloadSizeCap(t *testing.T) {
	data := bytes.Repeat([]byte("v"), 10000)
	var sent atomic.Int64
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			for i := 0; i < len(data); i += 1000 {
				n, err := w.Write(data[i : i+1000])
				sent.Add(int64(n))
				if err != nil {
					return
				}
				w.(http.Flusher).Flush() // no Content-Length
			}
			return
		}
		w.Header().Set("Content-Type", "video/mp4")
		http.ServeContent(w, r, "x.mp4", time.Time{}, bytes.NewReader(data))
	}))
	t.Cleanup(host.Close)
	c, err := New(Config{QueueURL: host.URL, RestURL: host.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := downloadCtx(t)

	_, err = c.Download(ctx, host.URL+"/declared", DownloadOptions{MaxSize: 4096})
	var big *TooLargeError
	if !errors.As(err, &big) || big.Size != 10000 || big.Max != 4096 || !strings.Contains(err.Error(), "10000 bytes, over the limit of 4096") {
		t.Errorf("declared over the cap: %v", err)
	}

	dl, err := c.Download(ctx, host.URL+"/chunked", DownloadOptions{MaxSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if dl.Size != -1 {
		t.Errorf("chunked answer declares %d bytes", dl.Size)
	}
	b, err := io.ReadAll(dl)
	dl.Close()
	if !errors.As(err, &big) || big.Size != -1 || len(b) != 4096 || !strings.Contains(err.Error(), "larger than the limit of 4096 bytes") {
		t.Errorf("undeclared over the cap: read %d bytes, %v", len(b), err)
	}

	for _, max := range []int64{0, 10000} { // no cap, and a cap the file fits exactly
		dl, err := c.Download(ctx, host.URL+"/chunked", DownloadOptions{MaxSize: max})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(dl)
		dl.Close()
		if err != nil || !bytes.Equal(b, data) {
			t.Errorf("MaxSize %d: read %d bytes, %v", max, len(b), err)
		}
	}
}

// TestNonPublic classifies addresses; public ones pass.
func TestNonPublic(t *testing.T) {
	for _, tt := range []struct {
		ip     string
		public bool
	}{
		{"93.184.216.34", true}, {"8.8.8.8", true}, {"2606:4700::1111", true}, {"64:ff9b::808:808", true},
		{"2002:5db8:d822::1", true}, {"100.63.255.255", true}, {"100.128.0.0", true}, {"172.32.0.1", true},
		{"127.0.0.1", false}, {"::1", false}, {"0.0.0.0", false}, {"::", false}, {"0.1.2.3", false},
		{"10.255.255.255", false}, {"172.31.0.1", false}, {"192.168.255.1", false}, {"100.64.0.0", false},
		{"100.127.255.255", false}, {"169.254.0.1", false}, {"fe80::1", false}, {"fc00::1", false},
		{"fdff::1", false}, {"224.0.0.1", false}, {"ff02::1", false}, {"255.255.255.255", false},
		{"240.0.0.1", false}, {"192.0.2.1", false}, {"198.18.0.1", false}, {"2001:db8::1", false},
		{"::ffff:10.0.0.1", false}, {"64:ff9b::7f00:1", false}, {"2002:7f00:1::1", false}, {"::127.0.0.1", false},
		{"fec0::1", false}, {"64:ff9b:1::1", false},
	} {
		kind := nonPublic(netip.MustParseAddr(tt.ip))
		if (kind == "") != tt.public {
			t.Errorf("nonPublic(%s) = %q, want public %v", tt.ip, kind, tt.public)
		}
	}
}
