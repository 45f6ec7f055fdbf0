package faltest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
)

func TestRouting(t *testing.T) {
	tests := []struct {
		endpoint, app string
	}{
		{"fal-ai/wan-vace-14b", "fal-ai/wan-vace-14b"},
		{"fal-ai/pixverse/extend/fast", "fal-ai/pixverse"},
		{"fal-ai/ltx-video-13b-distilled/multiconditioning", "fal-ai/ltx-video-13b-distilled"},
		{"workflows/me/flow/step", "workflows/me/flow"}, // a namespace makes the app id three segments (§1.1)
		{"comfy/me/graph", "comfy/me/graph"},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			c, srv := start(t, faltest.Options{})
			srv.SetScript(tt.endpoint, faltest.Script{Manual: true})
			id, sub := c.submit(tt.endpoint, `{"prompt":"x"}`)
			base := c.requestURL(tt.app, id)
			if sub.body["status"] != "IN_QUEUE" || sub.body["queue_position"] != 0.0 || sub.header.Get("X-Fal-Request-Id") != id ||
				sub.body["response_url"] != base || sub.body["status_url"] != base+"/status" || sub.body["cancel_url"] != base+"/cancel" {
				t.Errorf("submit = %s", sub.raw)
			}
			if j, ok := srv.Job(id); !ok || j.EndpointID != tt.endpoint || j.AppID != tt.app || string(j.Input) != `{"prompt":"x"}` {
				t.Errorf("job = %+v", j)
			}
			if r := srv.Requests()[0]; r.Op != faltest.OpSubmit || r.Endpoint != tt.endpoint || !r.Enqueued || r.RequestID != id || r.Status != 200 {
				t.Errorf("submit logged as %+v", r)
			}
			withSubPath := c.requestURL(tt.endpoint, id)
			calls := []struct {
				method, url string
				op          faltest.Op
				code        int
			}{
				{"GET", base + "/status", faltest.OpStatus, 202},
				{"GET", base + "/status/", faltest.OpStatus, 202}, // the fal SDK's trailing slash (§1.2)
				{"GET", base, faltest.OpResult, 400},
				{"GET", base + "/", faltest.OpResult, 400},
				{"GET", withSubPath + "/status", faltest.OpStatus, 405}, // the sub-path does not route (§4.2 [3P])
				{"GET", withSubPath + "/status/stream", faltest.OpStream, 405},
				{"GET", withSubPath, faltest.OpResult, 405},
				{"PUT", withSubPath + "/cancel", faltest.OpCancel, 405},
				{"PUT", base + "/cancel", faltest.OpCancel, 202},
			}
			if tt.endpoint == tt.app { // no sub-path: the same URL is fine
				calls = calls[:4]
			}
			for _, call := range calls {
				srv.ResetRequests()
				a := c.do(call.method, call.url, "")
				if a.code != call.code || a.header.Get("X-Fal-Request-Id") == "" {
					t.Errorf("%s %s = %d %q %s, want %d", call.method, call.url, a.code, a.header, a.raw, call.code)
				}
				if r := srv.Requests(); len(r) != 1 || r[0].Op != call.op || r[0].RequestID != id || r[0].Host != "queue" {
					t.Errorf("%s %s logged as %+v", call.method, call.url, r)
				}
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	c, srv := start(t, faltest.Options{})
	srv.SetScript("fal-ai/x", faltest.Script{Manual: true})
	id, _ := c.submit("fal-ai/x", `{}`)
	for _, url := range []string{
		c.requestURL("fal-ai/other", id) + "/status", // a request id under the wrong app
		c.requestURL("fal-ai/other", id),
		c.requestURL("fal-ai/x", "nope") + "/status",
		c.requestURL("fal-ai/x", "nope") + "/status/stream",
		c.requestURL("fal-ai/x", "nope"),
	} {
		if a := c.do("GET", url, ""); a.code != 404 || string(a.raw) != `{"status":"NOT_FOUND"}` {
			t.Errorf("GET %s = %d %s", url, a.code, a.raw)
		}
	}
	for _, tt := range []struct {
		method, path string
		code         int
	}{
		{"DELETE", "/fal-ai/x/requests/" + id, 405},
		{"GET", "/fal-ai/x/requests/" + id + "/logs", 405},
		{"POST", "/fal-ai", 404},            // no alias
		{"POST", "/workflows/fal-ai", 404},  // a namespace needs three segments
		{"GET", "/fal-ai/x", 404},           // not a request URL
		{"PUT", "/fal-ai/x/requests/", 404}, // no request id
	} {
		if a := c.do(tt.method, srv.QueueURL+tt.path, ""); a.code != tt.code {
			t.Errorf("%s %s = %d %s, want %d", tt.method, tt.path, a.code, a.raw, tt.code)
		}
	}
}

func TestSubmitValidation(t *testing.T) {
	c, srv := start(t, faltest.Options{})
	srv.SetScript("fal-ai/x", faltest.Script{Manual: true}) // no job completes, no webhook is sent
	tests := []struct {
		name   string
		query  string
		body   string
		header []string
		code   int
		detail string // the 422's detail[0].loc, or the flat detail's error_type
	}{
		{"empty body is {}", "", ``, nil, 200, ""}, // JS omits the body without input (§4.1)
		{"array body", "", `[1]`, nil, 422, "body"},
		{"null body", "", `null`, nil, 422, "body"},
		{"not JSON", "", `{`, nil, 422, "body"},
		{"low priority", "", `{}`, []string{"X-Fal-Queue-Priority", "low"}, 200, ""},
		{"normal priority", "", `{}`, []string{"X-Fal-Queue-Priority", "normal"}, 200, ""},
		{"bad priority", "", `{}`, []string{"X-Fal-Queue-Priority", "high"}, 422, "header,x-fal-queue-priority"},
		{"timeout as JS sends it", "", `{}`, []string{"X-Fal-Request-Timeout", "30"}, 200, ""},
		{"timeout as PY sends it", "", `{}`, []string{"X-Fal-Request-Timeout", "30.0"}, 200, ""},
		{"timeout of 1 s", "", `{}`, []string{"X-Fal-Request-Timeout", "1"}, 400, "bad_request"},
		{"timeout not a number", "", `{}`, []string{"X-Fal-Request-Timeout", "soon"}, 400, "bad_request"},
		{"timeout NaN", "", `{}`, []string{"X-Fal-Request-Timeout", "NaN"}, 400, "bad_request"},
		{"timeout Inf", "", `{}`, []string{"X-Fal-Request-Timeout", "Inf"}, 400, "bad_request"},
		{"webhook", "?fal_webhook=http%3A%2F%2F127.0.0.1%3A1%2Fhook%3Fa%3D1", `{}`, nil, 200, ""},
		{"webhook not a URL", "?fal_webhook=hook", `{}`, nil, 422, "query,fal_webhook"},
		{"no key", "", `{}`, []string{"Authorization", ""}, 401, ""},
		{"wrong key", "", `{}`, []string{"Authorization", "Key nope"}, 401, ""},
		{"bearer", "", `{}`, []string{"Authorization", "Bearer " + key}, 401, ""},
	}
	enqueued := 0
	for _, tt := range tests {
		srv.ResetRequests()
		a := c.do("POST", srv.QueueURL+"/fal-ai/x"+tt.query, tt.body, tt.header...)
		if a.code != tt.code {
			t.Errorf("%s: %d %s, want %d", tt.name, a.code, a.raw, tt.code)
			continue
		}
		switch a.code {
		case 200:
			enqueued++
		case 401:
			if d, _ := a.body["detail"].(string); d == "" {
				t.Errorf("%s: 401 body %s", tt.name, a.raw)
			}
		case 400:
			if a.body["error_type"] != tt.detail || a.header.Get("X-Fal-Error-Type") != tt.detail {
				t.Errorf("%s: 400 %q %s", tt.name, a.header, a.raw)
			}
		case 422:
			var v struct {
				Detail []struct{ Loc []string }
			}
			if json.Unmarshal(a.raw, &v) != nil || len(v.Detail) == 0 || strings.Join(v.Detail[0].Loc, ",") != tt.detail {
				t.Errorf("%s: 422 %s, want loc %s", tt.name, a.raw, tt.detail)
			}
		}
		if r := srv.Requests(); len(r) != 1 || r[0].Enqueued != (a.code == 200) || r[0].Status != a.code || r[0].Body == nil && tt.body != "" {
			t.Errorf("%s: logged as %+v", tt.name, r)
		}
	}
	jobs := srv.Jobs()
	if len(jobs) != enqueued {
		t.Fatalf("%d jobs, want %d (the valid submits)", len(jobs), enqueued)
	}
	if string(jobs[0].Input) != "{}" {
		t.Errorf("empty body enqueued as %q", jobs[0].Input)
	}
	var hooked faltest.Job
	for _, j := range jobs {
		if j.Webhook != "" {
			hooked = j
		}
	}
	if hooked.Webhook != "http://127.0.0.1:1/hook?a=1" {
		t.Errorf("webhook = %q", hooked.Webhook)
	}
}

func TestRequestIDsUnique(t *testing.T) {
	_, srv := start(t, faltest.Options{})
	srv.SetScript("fal-ai/x", faltest.Script{Manual: true})
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	var wg sync.WaitGroup
	ids := make([]string, 40)
	for i := range ids {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", srv.QueueURL+"/fal-ai/x", strings.NewReader("{}"))
			req.Header.Set("Authorization", "Key "+key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			ids[i] = resp.Header.Get("X-Fal-Request-Id")
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, id := range ids {
		if !uuid.MatchString(id) || seen[id] {
			t.Errorf("request id %q: not UUIDv7-shaped or repeated", id)
		}
		seen[id] = true
	}
}

func TestStatusLogsAndPositions(t *testing.T) {
	c, srv := start(t, faltest.Options{LogWindow: 2})
	srv.SetScript("fal-ai/x/sub", faltest.Script{Manual: true, Ahead: 2, Logs: []string{"a", "b", "c"}, Output: map[string]int{"v": 1}})
	id, _ := c.submit("fal-ai/x/sub", `{}`)
	status := c.requestURL("fal-ai/x", id) + "/status"
	check := func(step, query string, code int, state string, position any, logs []string) {
		t.Helper()
		a := c.do("GET", status+query, "")
		if a.code != code || a.body["status"] != state || a.body["queue_position"] != position || a.body["request_id"] != id {
			t.Errorf("%s: status%s = %d %s", step, query, a.code, a.raw)
		}
		if got := messages(t, a.body); strings.Join(got, ",") != strings.Join(logs, ",") || (got == nil) != (logs == nil) {
			t.Errorf("%s: status%s logs = %q, want %q", step, query, got, logs)
		}
		if _, has := a.body["metrics"]; has != (state == "COMPLETED") {
			t.Errorf("%s: metrics only when completed: %s", step, a.raw)
		}
	}
	stepTo := func(want string) {
		t.Helper()
		if got, ok := srv.Step(id); !ok || got != want {
			t.Fatalf("Step = %q %v, want %q", got, ok, want)
		}
	}
	check("submitted", "", 202, "IN_QUEUE", 2.0, nil)
	stepTo("IN_QUEUE")
	check("one ahead", "?logs=0", 202, "IN_QUEUE", 1.0, nil)
	check("one ahead", "?logs=1", 202, "IN_QUEUE", 1.0, []string{})
	stepTo("IN_QUEUE")
	check("next", "?logs=false", 202, "IN_QUEUE", 0.0, nil)
	stepTo("IN_PROGRESS")
	check("started", "?logs=1", 202, "IN_PROGRESS", nil, []string{})
	check("started", "", 202, "IN_PROGRESS", nil, nil)
	stepTo("IN_PROGRESS")
	stepTo("IN_PROGRESS")
	check("two lines", "?logs=true", 202, "IN_PROGRESS", nil, []string{"a", "b"})
	stepTo("IN_PROGRESS")
	check("three lines", "?logs=True", 202, "IN_PROGRESS", nil, []string{"b", "c"}) // a sliding window (§4.2)
	if j, _ := srv.Job(id); j.Status != "IN_PROGRESS" || !j.Completed.IsZero() {
		t.Errorf("job = %+v", j)
	}
	stepTo("COMPLETED")
	check("done", "?logs=1", 200, "COMPLETED", nil, []string{"b", "c"})
	check("done", "", 200, "COMPLETED", nil, nil)
	if _, ok := srv.Step(id); ok {
		t.Error("Step on a completed job reports ok")
	}
	if _, ok := srv.Step("nope"); ok || srv.Finish("nope") || srv.Finish(id) {
		t.Error("Step/Finish on an unknown or completed job reports ok")
	}

	a := c.do("GET", status+"?logs=1", "")
	if m, ok := a.body["metrics"].(map[string]any); !ok || m["inference_time"] == nil {
		t.Errorf("completed status has no inference_time: %s", a.raw)
	}
	if _, has := a.body["error"]; has {
		t.Errorf("a successful job has an error: %s", a.raw)
	}
	var prev string
	for _, l := range a.body["logs"].([]any) {
		l := l.(map[string]any)
		ts, _ := l["timestamp"].(string)
		if l["level"] != "INFO" || l["source"] != "USER" || ts <= prev {
			t.Errorf("log line %v: want level INFO, source USER, a later timestamp than %q", l, prev)
		}
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Error(err)
		}
		prev = ts
	}
	res := c.do("GET", c.requestURL("fal-ai/x", id), "")
	if res.code != 200 || string(res.raw) != `{"v":1}` || res.header.Get("X-Fal-Request-Id") != id || res.header.Get("Content-Type") != "application/json" {
		t.Errorf("result = %d %q %s", res.code, res.header, res.raw)
	}
}

func TestFinishRunsEveryStep(t *testing.T) {
	c, srv := start(t, faltest.Options{})
	srv.SetScript("fal-ai/x", faltest.Script{Manual: true, Ahead: 3, Logs: []string{"a", "b"},
		OutputFunc: func(in json.RawMessage) any { return map[string]json.RawMessage{"echo": in} }})
	id, _ := c.submit("fal-ai/x", `{"n":7}`)
	if !srv.Finish(id) {
		t.Fatal("Finish = false")
	}
	if a := c.do("GET", c.requestURL("fal-ai/x", id)+"/status?logs=1", ""); a.code != 200 || strings.Join(messages(t, a.body), ",") != "a,b" {
		t.Errorf("status = %d %s", a.code, a.raw)
	}
	if a := c.do("GET", c.requestURL("fal-ai/x", id), ""); string(a.raw) != `{"echo":{"n":7}}` {
		t.Errorf("result = %s", a.raw)
	}
}

func TestTimedScripts(t *testing.T) {
	c, srv := start(t, faltest.Options{DefaultScript: &faltest.Script{Output: json.RawMessage(`{"default":true}`)}})
	// No script, no wait: done by the time submit answers.
	id, _ := c.submit("fal-ai/anything", ``)
	if a := c.do("GET", c.requestURL("fal-ai/anything", id), ""); a.code != 200 || string(a.raw) != `{"default":true}` {
		t.Errorf("default script result = %d %s", a.code, a.raw)
	}
	// A timed script runs on its own, through every state, in order.
	sc := faltest.Script{Ahead: 1, QueueTime: 20 * time.Millisecond, RunTime: 30 * time.Millisecond, Logs: []string{"a", "b"}}
	srv.SetScript("fal-ai/timed", sc)
	id, _ = c.submit("fal-ai/timed", `{}`)
	resp := c.openStream(context.Background(), c.requestURL("fal-ai/timed", id)+"/status/stream?logs=1")
	defer resp.Body.Close()
	rank := map[string]int{"IN_QUEUE": 0, "IN_PROGRESS": 1, "COMPLETED": 2}
	last := ""
	if err := readSSE(t, resp.Body, func(e sseEvent) {
		if e.comment {
			return
		}
		st := e.data["status"].(string)
		if rank[st] < rank[last] {
			t.Errorf("state went back from %s to %s", last, st)
		}
		last = st
	}); err != nil {
		t.Fatal(err)
	}
	j, _ := srv.Job(id)
	if last != "COMPLETED" || j.Status != "COMPLETED" || j.Completed.Sub(j.Submitted) < sc.QueueTime+sc.RunTime {
		t.Errorf("last event %s, job %+v: want completed after %v", last, j, sc.QueueTime+sc.RunTime)
	}
}

func TestStream(t *testing.T) {
	c, srv := start(t, faltest.Options{KeepAlive: time.Millisecond})
	srv.SetScript("fal-ai/x/sub", faltest.Script{Manual: true, Ahead: 1, Logs: []string{"a", "b"}})
	id, _ := c.submit("fal-ai/x/sub", `{}`)
	url := c.requestURL("fal-ai/x", id) + "/status/stream?logs=1"
	resp := c.openStream(context.Background(), url)
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" || resp.Header.Get("X-Fal-Request-Id") != id {
		t.Fatalf("stream = %d %q", resp.StatusCode, resp.Header)
	}
	var got []string
	comments := 0
	if err := readSSE(t, resp.Body, func(e sseEvent) {
		if e.comment {
			// Step only once the stream has idled (two keep-alives in a
			// row): every state must arrive as its own event.
			if comments++; comments == 2 {
				srv.Step(id)
			}
			return
		}
		comments = 0
		desc := e.data["status"].(string)
		if p, ok := e.data["queue_position"]; ok {
			desc += fmt.Sprint(p)
		}
		got = append(got, desc+"["+strings.Join(messages(t, e.data), " ")+"]")
	}); err != nil {
		t.Fatalf("stream broke: %v", err)
	}
	want := "IN_QUEUE1[] IN_QUEUE0[] IN_PROGRESS[] IN_PROGRESS[a] IN_PROGRESS[a b] COMPLETED[a b]"
	if strings.Join(got, " ") != want {
		t.Errorf("events:\n got %s\nwant %s", strings.Join(got, " "), want)
	}

	// The stream of a completed job is its final status, then EOF.
	resp2 := c.openStream(context.Background(), strings.TrimSuffix(url, "?logs=1"))
	defer resp2.Body.Close()
	var states []string
	_ = readSSE(t, resp2.Body, func(e sseEvent) {
		if !e.comment {
			states = append(states, e.data["status"].(string))
			if e.data["logs"] != nil {
				t.Errorf("logs without logs=1: %v", e.data)
			}
		}
	})
	if strings.Join(states, ",") != "COMPLETED" {
		t.Errorf("stream of a completed job = %v", states)
	}
}

func TestStreamEndsWhenClientLeaves(t *testing.T) {
	c, srv := start(t, faltest.Options{})
	srv.SetScript("fal-ai/x", faltest.Script{Manual: true})
	id, _ := c.submit("fal-ai/x", `{}`)
	ctx, cancel := context.WithCancel(context.Background())
	resp := c.openStream(ctx, c.requestURL("fal-ai/x", id)+"/status/stream")
	first := make([]byte, 6)
	if _, err := resp.Body.Read(first); err != nil || string(first) != "data: " {
		t.Fatalf("first bytes %q, %v", first, err)
	}
	cancel()
	resp.Body.Close()
	srv.Close() // must not wait for a stream nobody reads
}

func TestResultReplaysFailures(t *testing.T) {
	validation := map[string]any{"detail": []map[string]any{{"loc": []string{"body", "prompt"}, "msg": "field required", "type": "value_error.missing"}}}
	tests := []struct {
		name      string
		failure   faltest.Failure
		code      int
		body      string
		errorText string
		errorType string
	}{
		{"422 validation", faltest.Failure{Status: 422, Body: validation}, 422,
			`{"detail":[{"loc":["body","prompt"],"msg":"field required","type":"value_error.missing"}]}`, "Invalid status code: 422", ""},
		{"request timeout", faltest.Failure{Status: 504, Error: "Request timed out", ErrorType: "request_timeout"}, 504,
			`{"detail":"Request timed out","error_type":"request_timeout"}`, "Request timed out", "request_timeout"},
		{"runner disconnected", faltest.Failure{Status: 503, Error: "Runner disconnected", ErrorType: "runner_disconnected"}, 503,
			`{"detail":"Runner disconnected","error_type":"runner_disconnected"}`, "Runner disconnected", "runner_disconnected"},
		{"defaults", faltest.Failure{}, 500,
			`{"detail":"Invalid status code: 500","error_type":"internal_error"}`, "Invalid status code: 500", "internal_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv := start(t, faltest.Options{})
			srv.SetScript("fal-ai/x", faltest.Script{Failure: &tt.failure})
			id, _ := c.submit("fal-ai/x", `{}`)
			st := c.do("GET", c.requestURL("fal-ai/x", id)+"/status", "")
			// A failed request still reports COMPLETED, with error fields (§4.2).
			if st.code != 200 || st.body["status"] != "COMPLETED" || st.body["error"] != tt.errorText {
				t.Errorf("status = %d %s", st.code, st.raw)
			}
			if et, has := st.body["error_type"]; (tt.errorType == "" && has) || (tt.errorType != "" && et != tt.errorType) {
				t.Errorf("status error_type = %v, want %q", et, tt.errorType)
			}
			res := c.do("GET", c.requestURL("fal-ai/x", id), "")
			if res.code != tt.code || string(res.raw) != tt.body || res.header.Get("X-Fal-Error-Type") != tt.errorType || res.header.Get("X-Fal-Request-Id") != id {
				t.Errorf("result = %d %q %s, want %d %s", res.code, res.header, res.raw, tt.code, tt.body)
			}
		})
	}
}

func TestRetention(t *testing.T) {
	clock := newFakeClock()
	c, srv := start(t, faltest.Options{Now: clock.Now, Retention: time.Hour, LargeRetention: 6 * time.Minute})
	srv.SetScript("fal-ai/small", faltest.Script{Output: map[string]string{"v": "x"}})
	srv.SetScript("fal-ai/large", faltest.Script{Output: map[string]string{"v": strings.Repeat("x", 10<<10)}}) // ≥ 10 KB (§4.4)
	small, _ := c.submit("fal-ai/small", `{}`)
	large, _ := c.submit("fal-ai/large", `{}`)
	alive := func(app, id string) bool {
		t.Helper()
		codes := []int{
			c.do("GET", c.requestURL(app, id)+"/status", "").code,
			c.do("GET", c.requestURL(app, id), "").code,
		}
		switch codes[0] {
		case 200:
			return codes[1] == 200
		case 404:
			if codes[1] != 404 {
				t.Errorf("%s: status gone but result %d", app, codes[1])
			}
			if a := c.do("PUT", c.requestURL(app, id)+"/cancel", ""); a.code != 404 || a.body["status"] != "NOT_FOUND" {
				t.Errorf("%s: cancel of an expired request = %d %s", app, a.code, a.raw)
			}
			return false
		}
		t.Fatalf("%s: status %v", app, codes)
		return false
	}
	clock.Advance(6*time.Minute - time.Nanosecond)
	if !alive("fal-ai/small", small) || !alive("fal-ai/large", large) {
		t.Error("a result expired before its retention")
	}
	clock.Advance(time.Nanosecond)
	if !alive("fal-ai/small", small) || alive("fal-ai/large", large) {
		t.Error("want only the large result gone after 6 min")
	}
	clock.Advance(54 * time.Minute)
	if alive("fal-ai/small", small) {
		t.Error("small result still there after 1 h")
	}
	if j, ok := srv.Job(small); !ok || j.Status != "COMPLETED" {
		t.Errorf("Job forgot an expired job: %+v", j)
	}
}

func TestRetentionRealClock(t *testing.T) {
	c, _ := start(t, faltest.Options{Retention: time.Millisecond})
	id, _ := c.submit("fal-ai/x", `{}`)
	deadline := time.Now().Add(5 * time.Second)
	for c.do("GET", c.requestURL("fal-ai/x", id)+"/status", "").code != 404 {
		if time.Now().After(deadline) {
			t.Fatal("result never expired")
		}
	}
}

func TestCancel(t *testing.T) {
	tests := []struct {
		name         string
		script       faltest.Script
		steps        int // Steps before the cancel
		code         int
		outcome      string
		cancelled    bool   // the job ends failed with client_cancelled
		statusAfter  string // the job's status right after
		resultStatus int    // after Finish
	}{
		{"queued", faltest.Script{Manual: true, Ahead: 2}, 0, 202, "CANCELLATION_REQUESTED", true, "COMPLETED", 499},
		{"in progress", faltest.Script{Manual: true, Logs: []string{"a"}}, 1, 202, "CANCELLATION_REQUESTED", true, "COMPLETED", 499},
		{"in progress, app ignores it", faltest.Script{Manual: true, Logs: []string{"a"}, IgnoreCancel: true}, 1, 202, "CANCELLATION_REQUESTED", false, "IN_PROGRESS", 200},
		{"queued, app would ignore it", faltest.Script{Manual: true, IgnoreCancel: true}, 0, 202, "CANCELLATION_REQUESTED", true, "COMPLETED", 499},
		{"completed", faltest.Script{Manual: true}, 2, 400, "ALREADY_COMPLETED", false, "COMPLETED", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv := start(t, faltest.Options{})
			srv.SetScript("fal-ai/x/sub", tt.script)
			id, _ := c.submit("fal-ai/x/sub", `{}`)
			for range tt.steps {
				srv.Step(id)
			}
			base := c.requestURL("fal-ai/x", id)
			a := c.do("PUT", base+"/cancel", "")
			if a.code != tt.code || a.body["status"] != tt.outcome || a.header.Get("X-Fal-Request-Id") != id {
				t.Errorf("cancel = %d %s", a.code, a.raw)
			}
			j, _ := srv.Job(id)
			if j.Status != tt.statusAfter || j.Cancelled != tt.cancelled {
				t.Errorf("job after cancel = %+v", j)
			}
			srv.Finish(id)
			st := c.do("GET", base+"/status", "")
			res := c.do("GET", base, "")
			if tt.cancelled {
				if st.body["error_type"] != "client_cancelled" || st.body["error"] != "Request cancelled by the client" {
					t.Errorf("status of a cancelled job = %s", st.raw)
				}
				if res.body["error_type"] != "client_cancelled" || res.header.Get("X-Fal-Error-Type") != "client_cancelled" {
					t.Errorf("result of a cancelled job = %q %s", res.header, res.raw)
				}
			}
			if res.code != tt.resultStatus {
				t.Errorf("result = %d %s, want %d", res.code, res.raw, tt.resultStatus)
			}
		})
	}
	c, _ := start(t, faltest.Options{})
	if a := c.do("PUT", c.requestURL("fal-ai/x", "nope")+"/cancel", ""); a.code != 404 || a.body["status"] != "NOT_FOUND" {
		t.Errorf("cancel unknown = %d %s", a.code, a.raw)
	}
}

func TestStartTimeout(t *testing.T) {
	c, srv := start(t, faltest.Options{})
	srv.SetScript("fal-ai/x", faltest.Script{Manual: true}) // stays queued
	srv.SetScript("fal-ai/y", faltest.Script{Manual: true})
	id, _ := c.submit("fal-ai/x", `{}`, "X-Fal-Request-Timeout", "1.001")
	started, _ := c.submit("fal-ai/y", `{}`, "X-Fal-Request-Timeout", "1.001")
	srv.Step(started) // running before the deadline: the timeout no longer applies
	// The stream ends after the COMPLETED event: reading it all waits for
	// the start timeout to fail the job.
	resp := c.openStream(context.Background(), c.requestURL("fal-ai/x", id)+"/status/stream")
	var last map[string]any
	_ = readSSE(t, resp.Body, func(e sseEvent) {
		if !e.comment {
			last = e.data
		}
	})
	resp.Body.Close()
	if last["status"] != "COMPLETED" || last["error"] != "Request timed out" || last["error_type"] != "startup_timeout" {
		t.Errorf("last event = %v", last)
	}
	a := c.do("GET", c.requestURL("fal-ai/x", id), "")
	if a.code != 504 || a.header.Get("X-Fal-Request-Timeout-Type") != "user" || a.body["error_type"] != "startup_timeout" ||
		a.header.Get("X-Fal-Error-Type") != "startup_timeout" {
		t.Errorf("result = %d %q %s", a.code, a.header, a.raw)
	}
	if j, _ := srv.Job(started); j.Status != "IN_PROGRESS" {
		t.Errorf("a started job was timed out: %+v", j)
	}
}

func TestRequestLogReset(t *testing.T) {
	c, srv := start(t, faltest.Options{})
	id, _ := c.submit("fal-ai/x", `{"a":1}`, "X-Fal-Store-IO", "0")
	if r := srv.Requests(); len(r) != 1 || string(r[0].Body) != `{"a":1}` || r[0].BodySize != 7 || r[0].Header.Get("X-Fal-Store-Io") != "0" || r[0].Method != "POST" || r[0].Path != "/fal-ai/x" {
		t.Errorf("log = %+v", r)
	}
	if j, _ := srv.Job(id); j.Header.Get("X-Fal-Store-IO") != "0" {
		t.Errorf("job header = %q", j.Header)
	}
	srv.ResetRequests()
	c.do("GET", c.requestURL("fal-ai/x", id)+"/status?logs=1", "")
	if r := srv.Requests(); len(r) != 1 || r[0].Op != faltest.OpStatus || r[0].RawQuery != "logs=1" || r[0].Status != 200 {
		t.Errorf("log after reset = %+v", r)
	}
}
