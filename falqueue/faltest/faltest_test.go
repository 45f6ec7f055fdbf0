package faltest_test

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
)

// These tests speak plain HTTP to the emulator, checking it against the
// protocol notes without the falqueue client in between.

const key = "id:secret"

type call struct {
	t   *testing.T
	srv *faltest.Server
}

func (c call) do(method, url, body string, header ...string) (*http.Response, map[string]any) {
	c.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Key "+key)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp, m
}

func start(t *testing.T, opts faltest.Options) (call, *faltest.Server) {
	opts.Key = key
	srv := faltest.NewServer(opts)
	t.Cleanup(srv.Close)
	return call{t, srv}, srv
}

func TestRouting(t *testing.T) {
	c, srv := start(t, faltest.Options{})
	srv.SetScript("fal-ai/pixverse/extend/fast", faltest.Script{Manual: true})
	resp, sub := c.do("POST", srv.QueueURL+"/fal-ai/pixverse/extend/fast", `{"prompt":"x"}`)
	if resp.StatusCode != 200 || sub["status"] != "IN_QUEUE" || resp.Header.Get("X-Fal-Request-Id") != sub["request_id"] || sub["queue_position"] != 0.0 {
		t.Fatalf("submit = %d %v", resp.StatusCode, sub)
	}
	id := sub["request_id"].(string)
	base := srv.QueueURL + "/fal-ai/pixverse/requests/" + id
	if sub["status_url"] != base+"/status" || sub["response_url"] != base || sub["cancel_url"] != base+"/cancel" {
		t.Errorf("submit URLs = %v", sub)
	}
	tests := []struct {
		method, url string
		status      int
		field, want string
	}{
		{"GET", base + "/status", 202, "status", "IN_QUEUE"},
		{"GET", base + "/status/", 202, "status", "IN_QUEUE"}, // the fal SDK's trailing slash
		{"GET", base + "/", 400, "detail", "Request is still in progress"},
		{"GET", srv.QueueURL + "/fal-ai/pixverse/extend/fast/requests/" + id + "/status", 405, "", ""},
		{"GET", srv.QueueURL + "/fal-ai/other/requests/" + id + "/status", 404, "status", "NOT_FOUND"},
		{"GET", srv.QueueURL + "/fal-ai/pixverse/requests/nope/status", 404, "status", "NOT_FOUND"},
		{"DELETE", base, 405, "", ""},
	}
	for _, tt := range tests {
		resp, body := c.do(tt.method, tt.url, "")
		if resp.StatusCode != tt.status || (tt.field != "" && body[tt.field] != tt.want) {
			t.Errorf("%s %s = %d %v, want %d %s=%q", tt.method, tt.url, resp.StatusCode, body, tt.status, tt.field, tt.want)
		}
	}
	// Namespaced app ids are three segments long.
	resp, sub = c.do("POST", srv.QueueURL+"/workflows/me/flow/step", `{}`)
	if resp.StatusCode != 200 || !strings.HasSuffix(sub["status_url"].(string), "/workflows/me/flow/requests/"+sub["request_id"].(string)+"/status") {
		t.Errorf("namespaced submit = %v", sub)
	}
}

func TestSubmitValidation(t *testing.T) {
	c, srv := start(t, faltest.Options{})
	tests := []struct {
		name   string
		body   string
		header []string
		status int
	}{
		{"array body", `[1]`, nil, 422},
		{"not JSON", `{`, nil, 422},
		{"bad priority", `{}`, []string{"X-Fal-Queue-Priority", "high"}, 422},
		{"timeout too small", `{}`, []string{"X-Fal-Request-Timeout", "1"}, 400},
		{"timeout not a number", `{}`, []string{"X-Fal-Request-Timeout", "soon"}, 400},
		{"no key", `{}`, []string{"Authorization", ""}, 401},
		{"wrong key", `{}`, []string{"Authorization", "Key nope"}, 401},
		{"empty body", ``, nil, 200},
		{"float timeout", `{}`, []string{"X-Fal-Request-Timeout", "30.0"}, 200},
	}
	for _, tt := range tests {
		resp, body := c.do("POST", srv.QueueURL+"/fal-ai/x", tt.body, tt.header...)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: %d %v, want %d", tt.name, resp.StatusCode, body, tt.status)
		}
	}
	if n := len(srv.Jobs()); n != 2 {
		t.Errorf("%d jobs, want 2 (the valid submits)", n)
	}
}

func TestStatusLogsAndPositions(t *testing.T) {
	c, srv := start(t, faltest.Options{LogWindow: 2})
	srv.SetScript("fal-ai/x", faltest.Script{Manual: true, Ahead: 1, Logs: []string{"a", "b", "c"}, Output: map[string]int{"v": 1}})
	_, sub := c.do("POST", srv.QueueURL+"/fal-ai/x", `{}`)
	id := sub["request_id"].(string)
	status := srv.QueueURL + "/fal-ai/x/requests/" + id + "/status"
	type want struct {
		code     int
		state    string
		position any
		logs     []string // nil: logs must be null
	}
	check := func(query string, w want) {
		t.Helper()
		resp, b := c.do("GET", status+query, "")
		if resp.StatusCode != w.code || b["status"] != w.state || b["queue_position"] != w.position {
			t.Errorf("status%s = %d %v, want %+v", query, resp.StatusCode, b, w)
		}
		logs, present := b["logs"]
		if !present {
			t.Errorf("status%s has no logs key", query)
		}
		if w.logs == nil {
			if logs != nil {
				t.Errorf("status%s logs = %v, want null", query, logs)
			}
			return
		}
		var got []string
		for _, l := range logs.([]any) {
			got = append(got, l.(map[string]any)["message"].(string))
		}
		if strings.Join(got, ",") != strings.Join(w.logs, ",") {
			t.Errorf("status%s logs = %q, want %q", query, got, w.logs)
		}
	}
	check("", want{202, "IN_QUEUE", 1.0, nil})
	srv.Step(id)
	check("?logs=0", want{202, "IN_QUEUE", 0.0, nil})
	srv.Step(id)
	check("?logs=1", want{202, "IN_PROGRESS", nil, []string{}})
	srv.Step(id)
	srv.Step(id)
	check("?logs=true", want{202, "IN_PROGRESS", nil, []string{"a", "b"}})
	srv.Step(id)
	check("?logs=True", want{202, "IN_PROGRESS", nil, []string{"b", "c"}}) // a sliding window
	srv.Step(id)
	check("?logs=1", want{200, "COMPLETED", nil, []string{"b", "c"}})
	_, b := c.do("GET", status, "")
	if m, ok := b["metrics"].(map[string]any); !ok || m["inference_time"] == nil {
		t.Errorf("completed status has no metrics: %v", b)
	}
	resp, res := c.do("GET", srv.QueueURL+"/fal-ai/x/requests/"+id, "")
	if resp.StatusCode != 200 || res["v"] != 1.0 || resp.Header.Get("X-Fal-Request-Id") != id {
		t.Errorf("result = %d %v", resp.StatusCode, res)
	}
}

func TestStreamEventsAndKeepAlive(t *testing.T) {
	c, srv := start(t, faltest.Options{KeepAlive: time.Millisecond})
	srv.SetScript("fal-ai/x", faltest.Script{Manual: true, Logs: []string{"a"}})
	_, sub := c.do("POST", srv.QueueURL+"/fal-ai/x", `{}`)
	id := sub["request_id"].(string)
	req, _ := http.NewRequest("GET", srv.QueueURL+"/fal-ai/x/requests/"+id+"/status/stream?logs=1", nil)
	req.Header.Set("Authorization", "Key "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	lines := bufio.NewScanner(resp.Body)
	var states []string
	keepAlives := 0
	for lines.Scan() {
		line := lines.Text()
		switch {
		case strings.HasPrefix(line, ": "):
			if keepAlives++; keepAlives == 2 {
				srv.Step(id) // advance only once the stream has idled: each state is seen
			}
		case strings.HasPrefix(line, "data: "):
			var st map[string]any
			if err := json.Unmarshal([]byte(line[6:]), &st); err != nil {
				t.Fatalf("event %q: %v", line, err)
			}
			states = append(states, st["status"].(string))
			keepAlives = 0
		case line != "":
			t.Errorf("unexpected SSE line %q", line)
		}
	}
	if strings.Join(states, ",") != "IN_QUEUE,IN_PROGRESS,IN_PROGRESS,COMPLETED" {
		t.Errorf("events = %v", states)
	}
}

func TestCancelAndRetention(t *testing.T) {
	c, srv := start(t, faltest.Options{Retention: time.Millisecond})
	srv.SetScript("fal-ai/x", faltest.Script{Manual: true})
	_, sub := c.do("POST", srv.QueueURL+"/fal-ai/x", `{}`)
	id := sub["request_id"].(string)
	base := srv.QueueURL + "/fal-ai/x/requests/" + id
	if resp, b := c.do("PUT", base+"/cancel", ""); resp.StatusCode != 202 || b["status"] != "CANCELLATION_REQUESTED" {
		t.Errorf("cancel queued = %d %v", resp.StatusCode, b)
	}
	if j, _ := srv.Job(id); !j.Cancelled || j.Status != "COMPLETED" {
		t.Errorf("job after cancel = %+v", j)
	}
	// Within the retention the result replays the cancellation; afterwards
	// the request is gone.
	for {
		resp, b := c.do("GET", base, "")
		if resp.StatusCode == 404 && b["status"] == "NOT_FOUND" {
			break
		}
		if resp.StatusCode != 499 || b["error_type"] != "client_cancelled" {
			t.Fatalf("result of a cancelled job = %d %v", resp.StatusCode, b)
		}
	}
	if resp, b := c.do("PUT", srv.QueueURL+"/fal-ai/x/requests/nope/cancel", ""); resp.StatusCode != 404 || b["status"] != "NOT_FOUND" {
		t.Errorf("cancel unknown = %d %v", resp.StatusCode, b)
	}
	_, sub = c.do("POST", srv.QueueURL+"/fal-ai/x", `{}`)
	srv.Finish(sub["request_id"].(string))
	if resp, b := c.do("PUT", srv.QueueURL+"/fal-ai/x/requests/"+sub["request_id"].(string)+"/cancel", ""); resp.StatusCode != 400 || b["status"] != "ALREADY_COMPLETED" {
		// The result may already have expired (1 ms retention): then 404.
		if resp.StatusCode != 404 {
			t.Errorf("cancel completed = %d %v", resp.StatusCode, b)
		}
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		fault    faltest.Fault
		status   int
		reqID    bool
		html     bool
		enqueued bool
		dropped  bool
	}{
		{fault: faltest.Fault{Status: 429}, status: 429},
		{fault: faltest.Fault{Status: 502, Nginx: true}, status: 502, html: true},
		{fault: faltest.Fault{Status: 503, WithRequestID: true}, status: 503, reqID: true},
		{fault: faltest.Fault{UserTimeout: true}, status: 504, reqID: true},
		{fault: faltest.Fault{DropBefore: true}, dropped: true},
		{fault: faltest.Fault{DropAfter: true}, dropped: true, enqueued: true},
		{fault: faltest.Fault{Delay: time.Millisecond}, status: 200, reqID: true, enqueued: true},
	}
	for _, tt := range tests {
		_, srv := start(t, faltest.Options{})
		f := tt.fault
		f.Op = faltest.OpSubmit
		srv.Inject(f)
		req, _ := http.NewRequest("POST", srv.QueueURL+"/fal-ai/x", strings.NewReader("{}"))
		req.Header.Set("Authorization", "Key "+key)
		resp, err := http.DefaultClient.Do(req)
		if tt.dropped != (err != nil) {
			t.Errorf("%+v: err = %v", tt.fault, err)
		}
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || (resp.Header.Get("X-Fal-Request-Id") != "") != tt.reqID || bytes.Contains(body, []byte("nginx")) != tt.html {
				t.Errorf("%+v: %d %q %s", tt.fault, resp.StatusCode, resp.Header, body)
			}
			if tt.fault.UserTimeout && resp.Header.Get("X-Fal-Request-Timeout-Type") != "user" {
				t.Errorf("user timeout without its header: %q", resp.Header)
			}
		}
		if got := len(srv.Jobs()) == 1; got != tt.enqueued {
			t.Errorf("%+v: enqueued = %v", tt.fault, got)
		}
		if r := srv.Requests(); len(r) != 1 || r[0].Fault == nil || r[0].Enqueued != tt.enqueued {
			t.Errorf("%+v: log = %+v", tt.fault, r)
		}
	}
}

func TestStorage(t *testing.T) {
	c, srv := start(t, faltest.Options{})
	// Single part.
	_, init := c.do("POST", srv.RestURL+"/storage/upload/initiate?storage_type=fal-cdn-v3", `{"content_type":"video/mp4","file_name":"a.mp4"}`)
	up, file := init["upload_url"].(string), init["file_url"].(string)
	if !strings.HasPrefix(up, srv.CDNURL) || !strings.HasPrefix(file, srv.CDNURL) {
		t.Fatalf("initiate = %v", init)
	}
	put := func(url, body string) *http.Response {
		req, _ := http.NewRequest("PUT", url, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := put(strings.Split(up, "?")[0]+"?signature=forged", "x"); resp.StatusCode != 403 {
		t.Errorf("forged signature = %d", resp.StatusCode)
	}
	if resp := put(up, "hello"); resp.StatusCode != 200 {
		t.Fatalf("PUT = %d", resp.StatusCode)
	}
	resp, err := http.Get(file)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != "hello" || resp.Header.Get("Content-Type") != "video/mp4" {
		t.Errorf("GET file = %q %q", got, resp.Header.Get("Content-Type"))
	}

	// Multipart: parts answer etags in body and header; complete checks them.
	_, init = c.do("POST", srv.RestURL+"/storage/upload/initiate-multipart?storage_type=fal-cdn-v3", `{"content_type":"video/mp4","file_name":"b.mp4"}`)
	up, file = init["upload_url"].(string), init["file_url"].(string)
	path, query, _ := strings.Cut(up, "?")
	var parts []map[string]any
	for n, chunk := range []string{"part one,", "part two"} {
		req, _ := http.NewRequest("PUT", path+"/"+string(rune('1'+n))+"?"+query, strings.NewReader(chunk))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var p map[string]any
		json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		if p["etag"] == "" || resp.Header.Get("ETag") != `"`+p["etag"].(string)+`"` || p["partNumber"] != float64(n+1) {
			t.Errorf("part %d answer = %v %q", n+1, p, resp.Header.Get("ETag"))
		}
		parts = append(parts, p)
	}
	bad, _ := json.Marshal(map[string]any{"parts": []map[string]any{{"partNumber": 1, "etag": "x"}, parts[1]}})
	post := func(body []byte) int {
		resp, err := http.Post(path+"/complete?"+query, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(bad); code != 400 {
		t.Errorf("complete with a wrong etag = %d", code)
	}
	good, _ := json.Marshal(map[string]any{"parts": parts})
	if code := post(good); code != 200 {
		t.Fatalf("complete = %d", code)
	}
	fi, ok := srv.File(file)
	sum := sha256.Sum256([]byte("part one,part two"))
	if !ok || fi.Size != 17 || fi.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("file = %+v %v", fi, ok)
	}
	for _, r := range srv.Requests() {
		if r.Host == "rest" && r.Header.Get("Authorization") != "Key "+key {
			t.Errorf("REST call without the key: %+v", r)
		}
	}
	if u := srv.AddFile("out.mp4", "video/mp4", []byte("video")); !strings.HasPrefix(u, srv.CDNURL+"/files/") {
		t.Errorf("AddFile = %q", u)
	}
}

func TestWebhookSignedAndVerifiable(t *testing.T) {
	got := make(chan *http.Request, 1)
	bodies := make(chan []byte, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r
		bodies <- b
	}))
	defer hook.Close()
	c, srv := start(t, faltest.Options{})
	srv.SetScript("fal-ai/x", faltest.Script{Output: map[string]any{"seed": json.Number("17454220438242315174")}})
	_, sub := c.do("POST", srv.QueueURL+"/fal-ai/x?fal_webhook="+hook.URL+"/cb", `{}`)
	r, body := <-got, <-bodies
	var payload map[string]json.RawMessage
	if err := json.Unmarshal(body, &payload); err != nil || string(payload["request_id"]) != `"`+sub["request_id"].(string)+`"` ||
		string(payload["status"]) != `"OK"` || string(payload["payload"]) != `{"seed":17454220438242315174}` {
		t.Fatalf("webhook body = %s", body)
	}
	// Verify the signature with the key from the JWKS, as a receiver would.
	_, jwks := c.do("GET", srv.RestURL+"/.well-known/jwks.json", "")
	x := jwks["keys"].([]any)[0].(map[string]any)["x"].(string)
	pub, _ := base64.RawURLEncoding.DecodeString(x)
	sum := sha256.Sum256(body)
	msg := r.Header.Get("X-Fal-Webhook-Request-Id") + "\n" + r.Header.Get("X-Fal-Webhook-User-Id") + "\n" +
		r.Header.Get("X-Fal-Webhook-Timestamp") + "\n" + hex.EncodeToString(sum[:])
	sig, _ := hex.DecodeString(r.Header.Get("X-Fal-Webhook-Signature"))
	if !ed25519.Verify(ed25519.PublicKey(pub), []byte(msg), sig) || !bytes.Equal(pub, srv.WebhookPublicKey()) {
		t.Error("webhook signature does not verify against the JWKS")
	}
}

func TestStartTimeout(t *testing.T) {
	c, srv := start(t, faltest.Options{})
	srv.SetScript("fal-ai/x", faltest.Script{QueueTime: time.Hour})
	_, sub := c.do("POST", srv.QueueURL+"/fal-ai/x", `{}`, "X-Fal-Request-Timeout", "1.001")
	id := sub["request_id"].(string)
	// The stream ends after the COMPLETED event: reading it all waits for
	// the start timeout to fail the job.
	c.do("GET", srv.QueueURL+"/fal-ai/x/requests/"+id+"/status/stream", "")
	resp, b := c.do("GET", srv.QueueURL+"/fal-ai/x/requests/"+id, "")
	if resp.StatusCode != 504 || resp.Header.Get("X-Fal-Request-Timeout-Type") != "user" || b["error_type"] != "startup_timeout" {
		t.Errorf("result = %d %q %v", resp.StatusCode, resp.Header, b)
	}
}
