package falqueue_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
)

// TestWire pins the exact method, path, query, headers and body of every
// queue operation (§1.2, §3, §4), for plain and sub-path endpoints, using
// both the URLs fal returned and URLs rebuilt by Reattach.
func TestWire(t *testing.T) {
	tests := []struct {
		endpoint string
		app      string // owner/alias the status/result/cancel URLs must use
	}{
		{"fal-ai/wan-vace-14b", "fal-ai/wan-vace-14b"},
		{"fal-ai/pixverse/extend/fast", "fal-ai/pixverse"},
		{"fal-ai/ltx-video-13b-distilled/multiconditioning", "fal-ai/ltx-video-13b-distilled"},
		{"workflows/fal-ai/my-flow/sub", "workflows/fal-ai/my-flow"},
	}
	for _, tt := range tests {
		for _, reattach := range []bool{false, true} {
			name := tt.endpoint + map[bool]string{false: "/returned-urls", true: "/reattached"}[reattach]
			t.Run(name, func(t *testing.T) {
				e := newEnv(t, faltest.Options{})
				e.srv.SetScript(tt.endpoint, faltest.Script{Manual: true, Logs: []string{"step 1"}, Output: map[string]any{"ok": true}})
				ctx := ctxT(t)
				input := map[string]any{"prompt": "a cat", "seed": 7}
				h, err := e.client.Submit(ctx, tt.endpoint, input, falqueue.SubmitOptions{
					Webhook:      "https://hooks.example.test/fal?token=a&b=1",
					Priority:     falqueue.PriorityLow,
					StartTimeout: 30 * time.Second,
					Header:       http.Header{"X-Fal-Store-Io": {"0"}, "x-fal-object-lifecycle-preference": {`{"expiration_duration_seconds":3600}`}},
				})
				if err != nil {
					t.Fatal(err)
				}
				if reattach {
					if h, err = e.client.Reattach(tt.endpoint, h.RequestID); err != nil {
						t.Fatal(err)
					}
				}
				id := h.RequestID

				sub := only(t, e.requests(faltest.OpSubmit))
				wantPath(t, sub, http.MethodPost, "/"+tt.endpoint, "fal_webhook="+url.QueryEscape("https://hooks.example.test/fal?token=a&b=1"))
				wantHeaders(t, sub, map[string]string{
					"Authorization":                     "Key " + testKey,
					"Content-Type":                      "application/json",
					"X-Fal-Queue-Priority":              "low",
					"X-Fal-Request-Timeout":             "30",
					"X-Fal-Store-Io":                    "0",
					"X-Fal-Object-Lifecycle-Preference": `{"expiration_duration_seconds":3600}`,
				})
				var body map[string]any
				if err := json.Unmarshal(sub.Body, &body); err != nil || body["prompt"] != "a cat" || body["seed"] != 7.0 || len(body) != 2 {
					t.Errorf("submit body = %s (%v)", sub.Body, err)
				}
				if job, ok := e.srv.Job(id); !ok || job.EndpointID != tt.endpoint || job.Webhook != "https://hooks.example.test/fal?token=a&b=1" {
					t.Errorf("emulator job = %+v, %v", job, ok)
				}

				base := "/" + tt.app + "/requests/" + id
				for _, logs := range []bool{false, true} {
					e.srv.ResetRequests()
					st, err := e.client.Status(ctx, h, logs)
					if err != nil {
						t.Fatal(err)
					}
					if st.State != falqueue.StateInQueue || st.QueuePosition == nil || *st.QueuePosition != 0 {
						t.Errorf("status = %+v", st)
					}
					r := only(t, e.requests(faltest.OpStatus))
					wantPath(t, r, http.MethodGet, base+"/status", "logs="+map[bool]string{false: "0", true: "1"}[logs])
					wantHeaders(t, r, map[string]string{"Authorization": "Key " + testKey, "Accept": "application/json"})
				}

				e.srv.ResetRequests()
				e.srv.Finish(id)
				st, err := e.client.Wait(ctx, h, nil)
				if err != nil || !st.Done() || st.Failed() || len(st.Logs) != 1 || st.Logs[0].Message != "step 1" {
					t.Fatalf("Wait = %+v, %v", st, err)
				}
				r := only(t, e.requests(faltest.OpStream))
				wantPath(t, r, http.MethodGet, base+"/status/stream", "logs=1")
				wantHeaders(t, r, map[string]string{"Authorization": "Key " + testKey, "Accept": "text/event-stream"})

				e.srv.ResetRequests()
				res, err := e.client.Result(ctx, h)
				if err != nil || string(res.Data) != `{"ok":true}` || res.RequestID != id {
					t.Fatalf("Result = %+v, %v", res, err)
				}
				wantPath(t, only(t, e.requests(faltest.OpResult)), http.MethodGet, base, "")

				e.srv.ResetRequests()
				out, err := e.client.Cancel(ctx, h)
				if err != nil || out != falqueue.CancelAlreadyCompleted {
					t.Fatalf("Cancel = %q, %v", out, err)
				}
				r = only(t, e.requests(faltest.OpCancel))
				wantPath(t, r, http.MethodPut, base+"/cancel", "")
				wantHeaders(t, r, map[string]string{"Authorization": "Key " + testKey})
				if len(r.Body) != 0 {
					t.Errorf("cancel sent a body: %q", r.Body)
				}
			})
		}
	}
}

func TestSubmitWithoutInputSendsNoBody(t *testing.T) {
	e := newEnv(t, faltest.Options{})
	if _, err := e.client.Submit(ctxT(t), "fal-ai/amt-interpolation", nil, falqueue.SubmitOptions{}); err != nil {
		t.Fatal(err)
	}
	r := only(t, e.requests(faltest.OpSubmit))
	if r.BodySize != 0 || r.Header.Get("X-Fal-Queue-Priority") != "normal" {
		t.Errorf("submit: body %d bytes, priority %q", r.BodySize, r.Header.Get("X-Fal-Queue-Priority"))
	}
}

func TestSubmitRefusesBadOptions(t *testing.T) {
	e := newEnv(t, faltest.Options{})
	tests := []struct {
		name     string
		endpoint string
		input    any
		opts     falqueue.SubmitOptions
		want     string
	}{
		{"priority", "fal-ai/x", nil, falqueue.SubmitOptions{Priority: "high"}, `priority "high"`},
		{"timeout", "fal-ai/x", nil, falqueue.SubmitOptions{StartTimeout: time.Second}, "more than 1s"},
		{"header", "fal-ai/x", nil, falqueue.SubmitOptions{Header: http.Header{"Authorization": {"x"}}}, "not an X-Fal-* header"},
		{"webhook", "fal-ai/x", nil, falqueue.SubmitOptions{Webhook: "/relative"}, "absolute http(s) URL"},
		{"input array", "fal-ai/x", []int{1}, falqueue.SubmitOptions{}, "must be a JSON object"},
		{"input func", "fal-ai/x", func() {}, falqueue.SubmitOptions{}, "does not marshal"},
		{"endpoint", "x", nil, falqueue.SubmitOptions{}, "invalid endpoint id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.Submit(ctxT(t), tt.endpoint, tt.input, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Submit error = %v, want %q", err, tt.want)
			}
		})
	}
	if n := len(e.srv.Requests()); n != 0 {
		t.Errorf("%d requests reached the emulator", n)
	}
}

// TestStatusFields checks the decoding of the status fields fal sends in
// each state (§4.2): positions while queued, logs null unless asked,
// metrics and error/error_type once completed.
func TestStatusFields(t *testing.T) {
	e := newEnv(t, faltest.Options{})
	e.srv.SetScript("fal-ai/ok", faltest.Script{Manual: true, Ahead: 2, Logs: []string{"a"}})
	e.srv.SetScript("fal-ai/bad", faltest.Script{Manual: true, Failure: &faltest.Failure{Status: 504, Error: "Request timed out", ErrorType: "request_timeout"}})
	ctx := ctxT(t)
	h, _ := e.client.Submit(ctx, "fal-ai/ok", nil, falqueue.SubmitOptions{})
	st, err := e.client.Status(ctx, h, false)
	if err != nil || st.State != falqueue.StateInQueue || *st.QueuePosition != 2 || st.Logs != nil {
		t.Fatalf("queued status = %+v, %v", st, err)
	}
	e.srv.Step(h.RequestID)
	e.srv.Step(h.RequestID)
	e.srv.Step(h.RequestID) // running
	e.srv.Step(h.RequestID) // log "a"
	st, err = e.client.Status(ctx, h, true)
	if err != nil || st.State != falqueue.StateInProgress || len(st.Logs) != 1 || st.Logs[0].Message != "a" || st.Logs[0].Timestamp == "" {
		t.Fatalf("running status = %+v, %v", st, err)
	}
	e.srv.Finish(h.RequestID)
	st, _ = e.client.Status(ctx, h, false)
	if d, ok := st.InferenceTime(); !st.Done() || st.Failed() || !ok || d < 0 {
		t.Errorf("completed status = %+v (inference %v %v)", st, d, ok)
	}

	hb, _ := e.client.Submit(ctx, "fal-ai/bad", nil, falqueue.SubmitOptions{})
	e.srv.Finish(hb.RequestID)
	st, _ = e.client.Status(ctx, hb, false)
	if !st.Done() || !st.Failed() || st.Error != "Request timed out" || st.ErrorType != "request_timeout" {
		t.Errorf("failed status = %+v", st)
	}
}

func only(t *testing.T, rs []faltest.Request) faltest.Request {
	t.Helper()
	if len(rs) != 1 {
		t.Fatalf("got %d requests, want 1: %+v", len(rs), rs)
	}
	return rs[0]
}

func wantPath(t *testing.T, r faltest.Request, method, path, query string) {
	t.Helper()
	if r.Method != method || r.Path != path || r.RawQuery != query {
		t.Errorf("%s request = %s %s?%s, want %s %s?%s", r.Op, r.Method, r.Path, r.RawQuery, method, path, query)
	}
}

func wantHeaders(t *testing.T, r faltest.Request, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s header %s = %q, want %q", r.Op, k, got, v)
		}
	}
}

var _ = errors.New
