package falqueue

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Handle addresses one queued job. Keep it (it marshals to JSON) to come
// back to the job later; Reattach rebuilds one from a bare request id.
type Handle struct {
	EndpointID  string `json:"endpoint_id"`
	RequestID   string `json:"request_id"`
	StatusURL   string `json:"status_url"`
	ResponseURL string `json:"response_url"`
	CancelURL   string `json:"cancel_url"`
}

// Priority is a job's place in its endpoint's queue (§3).
type Priority string

const (
	PriorityNormal Priority = "normal"
	PriorityLow    Priority = "low" // waits behind every normal request
)

// SubmitOptions are the optional parts of a submit (§3, §4.1).
type SubmitOptions struct {
	// Webhook is called by fal when the job ends (?fal_webhook=, §8).
	Webhook string
	// Priority defaults to normal.
	Priority Priority
	// StartTimeout is the most the job may wait to start (queue wait and
	// runner acquisition, not processing): X-Fal-Request-Timeout. Must be
	// more than one second; fal fails the job with a user timeout after it.
	StartTimeout time.Duration
	// RunnerHint is sent as X-Fal-Runner-Hint.
	RunnerHint string
	// Header holds further X-Fal-* headers, e.g. X-Fal-Store-IO: 0 or
	// X-Fal-Object-Lifecycle-Preference. Other names are refused. The
	// explicit options above win over the same header given here.
	Header http.Header
}

func (o SubmitOptions) header() (http.Header, error) {
	h := http.Header{}
	for k, vs := range o.Header {
		if !strings.HasPrefix(strings.ToLower(k), "x-fal-") {
			return nil, fmt.Errorf("falqueue: submit header %q is not an X-Fal-* header", k)
		}
		h[http.CanonicalHeaderKey(k)] = vs
	}
	switch o.Priority {
	case "":
		h.Set("X-Fal-Queue-Priority", string(PriorityNormal))
	case PriorityNormal, PriorityLow:
		h.Set("X-Fal-Queue-Priority", string(o.Priority))
	default:
		return nil, fmt.Errorf("falqueue: priority %q: want %q or %q", o.Priority, PriorityNormal, PriorityLow)
	}
	if o.StartTimeout != 0 {
		if o.StartTimeout <= time.Second {
			return nil, fmt.Errorf("falqueue: start timeout %v: must be more than 1s", o.StartTimeout)
		}
		h.Set("X-Fal-Request-Timeout", strconv.FormatFloat(o.StartTimeout.Seconds(), 'f', -1, 64))
	}
	if o.RunnerHint != "" {
		h.Set("X-Fal-Runner-Hint", o.RunnerHint)
	}
	h.Set("Content-Type", "application/json")
	return h, nil
}

// Submit queues input (anything that marshals to a JSON object, or nil) on
// endpointID, e.g. "fal-ai/pixverse/extend/fast" (§4.1).
//
// A submit is never repeated when it might have created a job. If the
// request was sent and no answer came back, the error is a
// *SubmitUnknownError (errors.Is(err, ErrSubmitUnknown)): the job may exist.
func (c *Client) Submit(ctx context.Context, endpointID string, input any, opts SubmitOptions) (*Handle, error) {
	eid, err := ParseEndpointID(endpointID)
	if err != nil {
		return nil, err
	}
	header, err := opts.header()
	if err != nil {
		return nil, err
	}
	body, err := marshalInput(input)
	if err != nil {
		return nil, err
	}
	u := joinURL(c.queue, strings.Split(eid.String(), "/")...)
	if opts.Webhook != "" {
		wu, err := url.Parse(opts.Webhook)
		if err != nil || (wu.Scheme != "https" && wu.Scheme != "http") || wu.Host == "" {
			return nil, fmt.Errorf("falqueue: webhook %q must be an absolute http(s) URL", opts.Webhook)
		}
		u.RawQuery = url.Values{"fal_webhook": {opts.Webhook}}.Encode()
	}
	req := request{method: http.MethodPost, url: u, header: header}
	if body != nil {
		req.body = bytesBody(body)
	}
	resp, err := c.do(ctx, submitPolicy, req)
	if err != nil {
		var te *TransportError
		if errors.As(err, &te) && te.Sent {
			return nil, &SubmitUnknownError{EndpointID: eid.String(), Err: err}
		}
		return nil, err
	}
	var sr struct {
		RequestID   string `json:"request_id"`
		StatusURL   string `json:"status_url"`
		ResponseURL string `json:"response_url"`
		CancelURL   string `json:"cancel_url"`
	}
	if err := json.Unmarshal(resp.body, &sr); err != nil || sr.RequestID == "" {
		// fal answered 2xx, so the job most likely exists, but without its
		// id nobody can reach it: that is an unknown outcome too.
		return nil, &SubmitUnknownError{EndpointID: eid.String(),
			Err: fmt.Errorf("answer %d without a request_id: %.200q", resp.StatusCode, resp.body)}
	}
	if err := checkRequestID(sr.RequestID); err != nil {
		return nil, &SubmitUnknownError{EndpointID: eid.String(), Err: err}
	}
	h := c.handle(eid, sr.RequestID)
	// Prefer the URLs fal returned (§1.2: sub-path apps may not route by
	// owner/alias) — but only when they are on the configured queue host;
	// the key never goes anywhere else.
	for _, f := range []struct {
		got string
		dst *string
	}{{sr.StatusURL, &h.StatusURL}, {sr.ResponseURL, &h.ResponseURL}, {sr.CancelURL, &h.CancelURL}} {
		if f.got == "" {
			continue
		}
		if pu, err := url.Parse(f.got); err == nil && c.trusted(pu) {
			*f.dst = f.got
		} else {
			c.log.LogAttrs(ctx, slog.LevelWarn, "fal returned a job URL off the configured queue host; using the owner/alias URL instead",
				slog.String("request_id", sr.RequestID), slog.String("returned", f.got))
		}
	}
	return h, nil
}

func marshalInput(input any) ([]byte, error) {
	if input == nil {
		return nil, nil
	}
	b, err := json.Marshal(input)
	if err != nil {
		return nil, fmt.Errorf("falqueue: input does not marshal to JSON: %w", err)
	}
	if b = bytes.TrimSpace(b); len(b) == 0 || b[0] != '{' {
		if string(b) == "null" {
			return nil, nil
		}
		return nil, fmt.Errorf("falqueue: input must be a JSON object, got %.40s", b)
	}
	return b, nil
}

// Reattach rebuilds the handle of a job from its endpoint id and request id
// alone, with owner/alias URLs (§1.2: the sub-path dropped, a workflows/ or
// comfy/ namespace kept).
func (c *Client) Reattach(endpointID, requestID string) (*Handle, error) {
	eid, err := ParseEndpointID(endpointID)
	if err != nil {
		return nil, err
	}
	if err := checkRequestID(requestID); err != nil {
		return nil, err
	}
	return c.handle(eid, requestID), nil
}

func (c *Client) handle(eid EndpointID, requestID string) *Handle {
	segs := append(strings.Split(eid.AppID(), "/"), "requests", requestID)
	base := joinURL(c.queue, segs...)
	return &Handle{
		EndpointID:  eid.String(),
		RequestID:   requestID,
		ResponseURL: base.String(),
		StatusURL:   joinURL(base, "status").String(),
		CancelURL:   joinURL(base, "cancel").String(),
	}
}

// parseJobURL parses one of a handle's URLs; a foreign one is refused.
func (c *Client) parseJobURL(op, raw string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("falqueue: %s: the handle has no URL for it", op)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return nil, fmt.Errorf("falqueue: %s: bad URL in handle: %q", op, raw)
	}
	if !c.trusted(u) {
		return nil, &ForeignURLError{Op: op, URL: safeURL(u)}
	}
	return u, nil
}

// State is a job's queue status. fal's clients know three values; any other
// is kept as it came (and Status.Done decides what it means).
type State string

const (
	StateInQueue    State = "IN_QUEUE"
	StateInProgress State = "IN_PROGRESS"
	StateCompleted  State = "COMPLETED"
)

// Status is a job's status as fal reports it (§4.2).
type Status struct {
	State         State           `json:"status"`
	RequestID     string          `json:"request_id,omitempty"`
	QueuePosition *int            `json:"queue_position,omitempty"`
	Logs          []Log           `json:"logs"`
	Metrics       json.RawMessage `json:"metrics,omitempty"`
	Error         string          `json:"error,omitempty"`
	ErrorType     string          `json:"error_type,omitempty"`
}

// Done reports whether the job has ended. Besides COMPLETED, the FAILED and
// CANCELED values some third-party schemas list are taken as ends (§10.11).
func (s *Status) Done() bool {
	switch strings.ToUpper(string(s.State)) {
	case string(StateCompleted), "FAILED", "CANCELED", "CANCELLED", "ERROR":
		return true
	}
	return false
}

// Failed reports whether the job ended in failure: fal reports a failed job
// as COMPLETED with error/error_type (§4.2).
func (s *Status) Failed() bool {
	return s.Done() && (s.Error != "" || s.ErrorType != "" || s.State != StateCompleted)
}

// InferenceTime is metrics.inference_time, when fal reported it.
func (s *Status) InferenceTime() (time.Duration, bool) {
	var m struct {
		InferenceTime *float64 `json:"inference_time"`
	}
	if json.Unmarshal(s.Metrics, &m) != nil || m.InferenceTime == nil {
		return 0, false
	}
	return time.Duration(*m.InferenceTime * float64(time.Second)), true
}

// Log is one log line of a job. Its shape varies between fal's services, so
// it is decoded loosely (§4.2, §10.7).
type Log struct {
	Message   string          `json:"message"`
	Level     string          `json:"level,omitempty"`
	Source    string          `json:"source,omitempty"`
	Timestamp string          `json:"timestamp,omitempty"`
	Labels    json.RawMessage `json:"labels,omitempty"`
}

func (l *Log) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*l = Log{Message: looseString(raw["message"]), Level: looseString(raw["level"]),
		Source: looseString(raw["source"]), Timestamp: looseString(raw["timestamp"]), Labels: raw["labels"]}
	return nil
}

// looseString renders a JSON value as text: strings as they are, anything
// else as its JSON.
func looseString(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	if string(v) == "null" {
		return ""
	}
	return string(v)
}

func (l Log) same(o Log) bool {
	return l.Timestamp == o.Timestamp && l.Message == o.Message && l.Level == o.Level && l.Source == o.Source
}

// Status fetches the job's status once (§4.2); logs asks for its log lines.
func (c *Client) Status(ctx context.Context, h *Handle, logs bool) (*Status, error) {
	u, err := c.parseJobURL(statusPolicy.op, h.StatusURL)
	if err != nil {
		return nil, err
	}
	u = withQuery(u, "logs", logsParam(logs))
	resp, err := c.do(ctx, statusPolicy, request{method: http.MethodGet, url: u})
	if err != nil {
		return nil, withRequestID(err, h.RequestID)
	}
	return decodeStatus(resp.body, h.RequestID)
}

func logsParam(on bool) string {
	if on {
		return "1"
	}
	return "0"
}

func withQuery(u *url.URL, k, v string) *url.URL {
	out := *u
	q := out.Query()
	q.Set(k, v)
	out.RawQuery = q.Encode()
	return &out
}

func decodeStatus(body []byte, requestID string) (*Status, error) {
	var st Status
	if err := json.Unmarshal(body, &st); err != nil || st.State == "" {
		return nil, fmt.Errorf("falqueue: status of %s: unexpected answer %.200q", requestID, body)
	}
	if st.RequestID == "" {
		st.RequestID = requestID
	}
	return &st, nil
}

// withRequestID fills in the job's request id on an *APIError that lacks it.
func withRequestID(err error, requestID string) error {
	var ae *APIError
	if errors.As(err, &ae) && ae.RequestID == "" {
		ae.RequestID = requestID
	}
	return err
}

// Result is a finished job's output.
type Result struct {
	// Data is the model's output JSON as fal sent it; decode it into the
	// endpoint's output type (numbers may exceed int64: use json.Number or
	// a RawMessage where that matters).
	Data      json.RawMessage
	RequestID string
	Header    http.Header
}

// Result fetches the job's output (§4.4). A failed job's error is replayed
// as a typed error: *ValidationError for a 422, *APIError otherwise. After
// fal's retention ran out, errors.Is(err, ErrNotFound).
func (c *Client) Result(ctx context.Context, h *Handle) (*Result, error) {
	u, err := c.parseJobURL(resultPolicy.op, h.ResponseURL)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, resultPolicy, request{method: http.MethodGet, url: u})
	if err != nil {
		return nil, withRequestID(err, h.RequestID)
	}
	if !json.Valid(resp.body) {
		return nil, fmt.Errorf("falqueue: result of %s is not JSON (Content-Type %q)", h.RequestID, resp.Header.Get("Content-Type"))
	}
	id := resp.Header.Get("X-Fal-Request-Id")
	if id == "" {
		id = h.RequestID
	}
	return &Result{Data: json.RawMessage(resp.body), RequestID: id, Header: resp.Header}, nil
}

// CancelOutcome is what fal said to a cancel (§4.5).
type CancelOutcome string

const (
	// CancelRequested: the job was queued and is removed, or it is running
	// and its app was asked to stop (it may still finish).
	CancelRequested CancelOutcome = "CANCELLATION_REQUESTED"
	// CancelOK: fal acknowledged the cancel.
	CancelOK CancelOutcome = "OK"
	// CancelAlreadyCompleted: too late, the job had ended; its result stands.
	CancelAlreadyCompleted CancelOutcome = "ALREADY_COMPLETED"
	// CancelNotFound: fal does not know the request (or forgot it).
	CancelNotFound CancelOutcome = "NOT_FOUND"
)

// Cancel asks fal to cancel the job. Each of the four documented outcomes
// is a value, not an error; errors are for everything else.
func (c *Client) Cancel(ctx context.Context, h *Handle) (CancelOutcome, error) {
	u, err := c.parseJobURL(cancelPolicy.op, h.CancelURL)
	if err != nil {
		return "", err
	}
	resp, err := c.do(ctx, cancelPolicy, request{method: http.MethodPut, url: u})
	if err != nil {
		// 400 ALREADY_COMPLETED and 404 NOT_FOUND are outcomes (§4.5).
		var ae *APIError
		if errors.As(err, &ae) {
			if o := cancelOutcome(ae.Body); o == CancelAlreadyCompleted || o == CancelNotFound {
				return o, nil
			}
			if ae.StatusCode == http.StatusNotFound {
				return CancelNotFound, nil
			}
		}
		return "", withRequestID(err, h.RequestID)
	}
	switch o := cancelOutcome(resp.body); o {
	case CancelOK, CancelRequested, CancelAlreadyCompleted, CancelNotFound:
		return o, nil
	}
	return CancelRequested, nil // a 2xx without a known body: the request was taken
}

func cancelOutcome(body []byte) CancelOutcome {
	var b struct {
		Status string `json:"status"`
	}
	_ = json.Unmarshal(body, &b)
	return CancelOutcome(strings.ToUpper(b.Status))
}
