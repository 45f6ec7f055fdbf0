package faltest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
)

func TestAuth(t *testing.T) {
	c, srv := start(t, faltest.Options{})
	id, _ := c.submit("fal-ai/x", `{}`)
	file := srv.AddFile("f.txt", "text/plain", []byte("f"))
	tests := []struct {
		method, url string
		code        int // without a key
	}{
		{"POST", srv.QueueURL + "/fal-ai/x", 401},
		{"GET", c.requestURL("fal-ai/x", id) + "/status", 401},
		{"GET", c.requestURL("fal-ai/x", id) + "/status/stream", 401},
		{"GET", c.requestURL("fal-ai/x", id), 401},
		{"PUT", c.requestURL("fal-ai/x", id) + "/cancel", 401},
		{"POST", srv.RestURL + "/storage/upload/initiate?storage_type=fal-cdn-v3", 401},
		{"POST", srv.RestURL + "/storage/upload/initiate-multipart?storage_type=fal-cdn-v3", 401},
		{"GET", srv.RestURL + "/.well-known/jwks.json", 200}, // public, as receivers fetch it
		{"GET", file, 200}, // the CDN never asks for a key
	}
	for _, tt := range tests {
		for _, auth := range []string{"", "Key wrong", "Key " + key + "x"} {
			srv.ResetRequests()
			// The auth check comes before faults: this one must survive.
			srv.Inject(faltest.Fault{Op: faltest.OpStatus, Status: 500})
			a := c.do(tt.method, tt.url, `{"file_name":"a"}`, "Authorization", auth)
			if a.code != tt.code {
				t.Errorf("%s %s with %q = %d %s, want %d", tt.method, tt.url, auth, a.code, a.raw, tt.code)
			}
			if a.code == 401 && a.body["detail"] != "Invalid or missing API key" {
				t.Errorf("401 body = %s", a.raw)
			}
			if r := srv.Requests(); len(r) != 1 || r[0].Status != tt.code || r[0].Fault != nil || r[0].Header.Get("Authorization") != auth {
				t.Errorf("%s %s logged as %+v", tt.method, tt.url, r)
			}
			if strings.Contains(string(a.raw), key) {
				t.Errorf("the answer echoes the key: %s", a.raw)
			}
			srv.ResetFaults()
		}
	}
	if n := len(srv.Jobs()); n != 1 {
		t.Errorf("%d jobs after unauthorised submits", n)
	}
}

func TestSubmitFaults(t *testing.T) {
	tests := []struct {
		name     string
		fault    faltest.Fault
		code     int // 0: the connection drops
		reqID    bool
		html     bool
		enqueued bool
	}{
		{"429", faltest.Fault{Status: 429}, 429, false, false, false},
		{"ingress 502", faltest.Fault{Status: 502, Nginx: true}, 502, false, true, false},
		{"ingress 503", faltest.Fault{Status: 503, Nginx: true}, 503, false, true, false},
		{"fal 502", faltest.Fault{Status: 502, WithRequestID: true}, 502, true, false, false},
		{"fal 503", faltest.Fault{Status: 503, WithRequestID: true}, 503, true, false, false},
		{"fal 504", faltest.Fault{Status: 504, WithRequestID: true}, 504, true, false, false},
		{"504 without id", faltest.Fault{Status: 504}, 504, false, false, false},
		{"user start timeout", faltest.Fault{UserTimeout: true}, 504, true, false, false},
		{"drop before", faltest.Fault{DropBefore: true}, 0, false, false, false},
		{"drop after", faltest.Fault{DropAfter: true}, 0, false, false, true},
		{"delay", faltest.Fault{Delay: 20 * time.Millisecond}, 200, true, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := start(t, faltest.Options{})
			f := tt.fault
			f.Op = faltest.OpSubmit
			srv.Inject(f)
			req, _ := http.NewRequest("POST", srv.QueueURL+"/fal-ai/x", strings.NewReader("{}"))
			req.Header.Set("Authorization", "Key "+key)
			began := time.Now()
			resp, err := http.DefaultClient.Do(req)
			if (tt.code == 0) != (err != nil) {
				t.Fatalf("err = %v", err)
			}
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.code || (resp.Header.Get("X-Fal-Request-Id") != "") != tt.reqID || bytes.Contains(body, []byte("nginx")) != tt.html {
					t.Errorf("%d %q %s", resp.StatusCode, resp.Header, body)
				}
				if tt.html && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
					t.Errorf("nginx page as %q", resp.Header.Get("Content-Type"))
				}
				if !tt.html && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
					t.Errorf("fault body as %q", resp.Header.Get("Content-Type"))
				}
				if tt.fault.UserTimeout && (resp.Header.Get("X-Fal-Request-Timeout-Type") != "user" ||
					string(body) != `{"detail":"Request timed out","error_type":"startup_timeout"}`) {
					t.Errorf("user timeout = %q %s", resp.Header, body)
				}
			}
			if took := time.Since(began); took < tt.fault.Delay {
				t.Errorf("answered after %v, want ≥ %v", took, tt.fault.Delay)
			}
			if got := len(srv.Jobs()) == 1; got != tt.enqueued {
				t.Errorf("enqueued = %v", got)
			}
			r := srv.Requests()
			if len(r) != 1 || r[0].Fault == nil || r[0].Fault.Op != faltest.OpSubmit || r[0].Enqueued != tt.enqueued || r[0].Status != tt.code {
				t.Errorf("log = %+v", r)
			}
			// The fault is spent: the next submit goes through.
			req, _ = http.NewRequest("POST", srv.QueueURL+"/fal-ai/x", strings.NewReader("{}"))
			req.Header.Set("Authorization", "Key "+key)
			if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
				t.Errorf("next submit = %v %v", resp, err)
			} else {
				resp.Body.Close()
			}
		})
	}
}

func TestFaultsApplyInOrderAndCount(t *testing.T) {
	c, srv := start(t, faltest.Options{})
	id, _ := c.submit("fal-ai/x", `{}`)
	srv.Inject(faltest.Fault{Op: faltest.OpStatus, Status: 503, Times: 2})
	srv.Inject(faltest.Fault{Op: faltest.OpResult, Status: 429})
	srv.Inject(faltest.Fault{Op: faltest.OpStatus, Status: 500, WithRequestID: true})
	status := c.requestURL("fal-ai/x", id) + "/status"
	var codes []int
	for range 4 {
		codes = append(codes, c.do("GET", status, "").code)
	}
	codes = append(codes, c.do("GET", c.requestURL("fal-ai/x", id), "").code, c.do("GET", c.requestURL("fal-ai/x", id), "").code)
	if want := []int{503, 503, 500, 200, 429, 200}; !equalInts(codes, want) {
		t.Errorf("codes = %v, want %v", codes, want)
	}
	a := c.do("GET", c.requestURL("fal-ai/x", id), "")
	srv.Inject(faltest.Fault{Op: faltest.OpResult, Status: 500, WithRequestID: true})
	b := c.do("GET", c.requestURL("fal-ai/x", id), "")
	if b.body["error_type"] != "internal_error" || b.header.Get("X-Fal-Error-Type") != "internal_error" || a.code != 200 {
		t.Errorf("fal 500 = %q %s", b.header, b.raw)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDropsOnOtherOps(t *testing.T) {
	c, srv := start(t, faltest.Options{})
	srv.SetScript("fal-ai/x", faltest.Script{Manual: true})
	id, _ := c.submit("fal-ai/x", `{}`)
	base := c.requestURL("fal-ai/x", id)
	get := func(url string) error {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Key "+key)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		return err
	}
	put := func(url string) error {
		req, _ := http.NewRequest("PUT", url, nil)
		req.Header.Set("Authorization", "Key "+key)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}

	// A stream dropped after its first event.
	srv.Inject(faltest.Fault{Op: faltest.OpStream, DropAfter: true})
	resp := c.openStream(context.Background(), base+"/status/stream")
	var events int
	err := readSSE(t, resp.Body, func(e sseEvent) {
		if !e.comment {
			events++
		}
	})
	resp.Body.Close()
	if events != 1 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("dropped stream: %d events, err %v (want 1, unexpected EOF)", events, err)
	}

	// A status dropped before handling, a cancel dropped after it.
	srv.Inject(faltest.Fault{Op: faltest.OpStatus, DropBefore: true})
	if err := get(base + "/status"); err == nil {
		t.Error("dropped status answered")
	}
	srv.Inject(faltest.Fault{Op: faltest.OpCancel, DropAfter: true})
	if err := put(base + "/cancel"); err == nil {
		t.Error("dropped cancel answered")
	}
	if j, _ := srv.Job(id); !j.Cancelled {
		t.Error("a cancel dropped after handling did not cancel")
	}
	srv.Inject(faltest.Fault{Op: faltest.OpResult, DropAfter: true})
	if err := get(base); err == nil {
		t.Error("dropped result answered")
	}
	file := srv.AddFile("f", "text/plain", []byte("f"))
	srv.Inject(faltest.Fault{Op: faltest.OpFile, DropBefore: true})
	if err := get(file); err == nil {
		t.Error("dropped file answered")
	}
	srv.Inject(faltest.Fault{Op: faltest.OpInitiate, Status: 503, Nginx: true})
	if a := c.do("POST", srv.RestURL+"/storage/upload/initiate", `{"file_name":"a"}`); a.code != 503 || !bytes.Contains(a.raw, []byte("nginx")) {
		t.Errorf("initiate fault = %d %s", a.code, a.raw)
	}
	srv.Inject(faltest.Fault{Op: faltest.OpJWKS, Status: 502})
	if a := c.do("GET", srv.RestURL+"/.well-known/jwks.json", ""); a.code != 502 || a.body["detail"] == nil {
		t.Errorf("jwks fault = %d %s", a.code, a.raw)
	}
	var log []string
	for _, r := range srv.Requests()[1:] {
		log = append(log, string(r.Op)+":"+http.StatusText(r.Status))
	}
	want := "stream:OK status: cancel: result: file: initiate:Service Unavailable jwks:Bad Gateway"
	if strings.Join(log, " ") != want {
		t.Errorf("log = %s\nwant  %s", strings.Join(log, " "), want)
	}
}

func TestUploadFaults(t *testing.T) {
	c, srv := start(t, faltest.Options{})
	upload, file := c.initiate("initiate-multipart", "application/octet-stream", "d.bin")
	// A part stored but its answer lost: the retry stores it again.
	srv.Inject(faltest.Fault{Op: faltest.OpPart, DropAfter: true})
	req, _ := http.NewRequest("PUT", partURL(upload, "1"), strings.NewReader("one"))
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Error("dropped part answered")
	}
	p := putPart(t, upload, 1, []byte("one"))
	srv.Inject(faltest.Fault{Op: faltest.OpComplete, Status: 500})
	if code, _ := complete(t, upload, p); code != 500 {
		t.Errorf("complete fault = %d", code)
	}
	if code, body := complete(t, upload, p); code != 200 {
		t.Errorf("complete = %d %s", code, body)
	}
	if fi, ok := srv.File(file); !ok || fi.SHA256 != sha([]byte("one")) {
		t.Errorf("file = %+v", fi)
	}
	up, _ := c.initiate("initiate", "text/plain", "e.txt")
	srv.Inject(faltest.Fault{Op: faltest.OpUpload, Status: 503})
	if resp, _ := send(t, "PUT", up, []byte("x")); resp.StatusCode != 503 {
		t.Errorf("upload fault = %d", resp.StatusCode)
	}
}

func TestDelayEndsWithClose(t *testing.T) {
	c, srv := start(t, faltest.Options{})
	id, _ := c.submit("fal-ai/x", `{}`)
	srv.Inject(faltest.Fault{Op: faltest.OpStatus, Delay: time.Hour})
	arrived := make(chan struct{})
	stop := srv.OnRequest(func(r faltest.Request) {
		if r.Op == faltest.OpStatus {
			close(arrived)
		}
	})
	defer stop()
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("GET", c.requestURL("fal-ai/x", id)+"/status", nil)
		req.Header.Set("Authorization", "Key "+key)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-arrived
	srv.Close() // returns without waiting out the hour
	if err := <-done; err == nil {
		t.Error("a request delayed past Close was answered")
	}
}
