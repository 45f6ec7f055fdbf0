package falqueue

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// maxBody caps what is read of any JSON answer (results included).
const maxBody = 64 << 20

// Client talks to fal's queue and storage. It is safe for concurrent use;
// one Client is meant to be shared by a whole program.
type Client struct {
	key               Secret
	queue, rest, api  *url.URL
	hc                *http.Client
	log               *slog.Logger
	userAgent         string
	requestTimeout    time.Duration
	uploadTimeout     time.Duration
	streamIdleTimeout time.Duration
	pollInterval      time.Duration
	disableStream     bool
	partConcurrency   int
	backoffBase       time.Duration
	backoffMax        time.Duration
	partBuffers       partBuffers
	dl                *downloader
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	queue, err := parseBaseURL("queue URL", cfg.QueueURL, DefaultQueueURL)
	if err != nil {
		return nil, err
	}
	rest, err := parseBaseURL("REST URL", cfg.RestURL, DefaultRestURL)
	if err != nil {
		return nil, err
	}
	api, err := parseBaseURL("API URL", cfg.APIURL, DefaultAPIURL)
	if err != nil {
		return nil, err
	}
	c := &Client{
		key:               cfg.Key,
		queue:             queue,
		rest:              rest,
		api:               api,
		log:               cfg.Logger,
		userAgent:         cfg.UserAgent,
		requestTimeout:    orDefault(cfg.RequestTimeout, 60*time.Second),
		uploadTimeout:     orDefault(cfg.UploadTimeout, 10*time.Minute),
		streamIdleTimeout: orDefault(cfg.StreamIdleTimeout, 45*time.Second),
		pollInterval:      orDefault(cfg.PollInterval, 500*time.Millisecond),
		disableStream:     cfg.DisableStream,
		partConcurrency:   cfg.PartConcurrency,
		backoffBase:       cfg.BackoffBase,
		backoffMax:        cfg.BackoffMax,
	}
	if c.partConcurrency <= 0 {
		c.partConcurrency = 4
	}
	c.partBuffers.init(c.partConcurrency, PartSize)
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.userAgent == "" {
		c.userAgent = "falqueue-go"
	}
	hc := &http.Client{Transport: defaultTransport()}
	if cfg.HTTPClient != nil {
		hc = cfg.HTTPClient
	}
	shared := *hc
	shared.CheckRedirect = c.checkRedirect
	c.hc = &shared
	var cdn *url.URL
	if cfg.CDNURL != "" {
		if cdn, err = parseBaseURL("CDN URL", cfg.CDNURL, "https://v3.fal.media"); err != nil {
			return nil, err
		}
	}
	c.dl = newDownloader(hc, cfg.Resolver, queue, rest, cdn)
	return c, nil
}

// idleConnsPerHost keeps connections to fal's hosts for the server's
// fan-out: every job's follower holds a status stream, and results, status
// reads and submits come in bursts (net/http keeps 2 per host by default).
const idleConnsPerHost = 64

func defaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = idleConnsPerHost
	return t
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// checkRedirect follows a redirect only while it stays on a trusted host; a
// redirect elsewhere is refused rather than trusting net/http's header
// stripping to keep the key at home.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("falqueue: too many redirects")
	}
	if via[0].Header.Get("Authorization") != "" && !c.trusted(req.URL) {
		return &ForeignURLError{Op: "redirect", URL: safeURL(req.URL)}
	}
	return nil
}

// trusted reports whether u is on the configured queue, REST or API host
// (same scheme, host and port, under the base path): the only places the
// key goes.
func (c *Client) trusted(u *url.URL) bool {
	for _, base := range []*url.URL{c.queue, c.rest, c.api} {
		if u.Scheme == base.Scheme && strings.EqualFold(u.Host, base.Host) && u.User == nil &&
			(base.Path == "" || u.Path == base.Path || strings.HasPrefix(u.Path, base.Path+"/")) {
			return true
		}
	}
	return false
}

// safeURL renders u for messages: no user info, no query (signed upload
// URLs and webhook URLs carry secrets there).
func safeURL(u *url.URL) string {
	v := *u
	v.User, v.RawQuery, v.ForceQuery, v.Fragment = nil, "", false, ""
	return v.String()
}

// policy is one operation's retry policy (§6.3).
type policy struct {
	op       string
	auth     bool          // send the key (only to trusted hosts)
	retries  int           // retries after the first attempt
	max      time.Duration // cap of one backoff delay
	retryOn  func(resp *http.Response) bool
	timeout  time.Duration // per attempt; 0: the client's request timeout
	streamed bool          // the caller reads the body (no timeout on the body, no buffering)
}

// ingress reports whether a 502/503/504 came from fal's ingress rather than
// from fal itself: fal's own answers carry x-fal-request-id (§3, §6.3).
func ingress(resp *http.Response) bool { return resp.Header.Get("X-Fal-Request-Id") == "" }

func codeIn(codes ...int) func(*http.Response) bool {
	return func(resp *http.Response) bool {
		if resp.StatusCode == http.StatusGatewayTimeout && resp.Header.Get("X-Fal-Request-Timeout-Type") != "" {
			return false // a start timeout the user asked for is final (§6.3)
		}
		for _, c := range codes {
			if resp.StatusCode == c {
				return true
			}
		}
		return false
	}
}

var (
	// Submit: retried only where the request provably created no job. A 429
	// is a refusal before anything is queued; a 502 or 503 without
	// x-fal-request-id comes from the ingress, which never reached the
	// queue. A 504 may have timed out after the queue accepted the job, and
	// a 500 may come from the queue itself, so neither is retried; transport
	// errors are retried only when no connection was made (see attempt).
	submitPolicy = policy{op: "submit", auth: true, retries: 3, max: 60 * time.Second,
		retryOn: func(r *http.Response) bool {
			return r.StatusCode == http.StatusTooManyRequests ||
				(r.StatusCode == http.StatusBadGateway || r.StatusCode == http.StatusServiceUnavailable) && ingress(r)
		}}
	statusPolicy = policy{op: "status", auth: true, retries: 5, max: 30 * time.Second,
		retryOn: codeIn(429, 500, 502, 503, 504)}
	streamPolicy = policy{op: "status stream", auth: true, retries: 0, streamed: true,
		retryOn: codeIn()}
	// Result: fal replays the model's own status code here (§4.4), so a
	// fal-originated 5xx is the job's answer and retrying cannot change it;
	// only the ingress's 5xx and 429 are retried.
	resultPolicy = policy{op: "result", auth: true, retries: 3, max: 60 * time.Second,
		retryOn: func(r *http.Response) bool {
			return r.StatusCode == http.StatusTooManyRequests || r.StatusCode >= 502 && r.StatusCode <= 504 && ingress(r)
		}}
	cancelPolicy = policy{op: "cancel", auth: true, retries: 3, max: 30 * time.Second,
		retryOn: codeIn(429, 502, 503, 504)}
	initiatePolicy = policy{op: "upload initiate", auth: true, retries: 3, max: 30 * time.Second,
		retryOn: codeIn(429, 502, 503, 504)}
	partPolicy = policy{op: "upload part", retries: 2, max: 5 * time.Second,
		retryOn: func(r *http.Response) bool { return r.StatusCode >= 500 || r.StatusCode == 429 || r.StatusCode == 408 }}
	completePolicy = policy{op: "upload complete", retries: 3, max: 30 * time.Second,
		retryOn: codeIn(429, 502, 503, 504)}
	putPolicy = policy{op: "upload", retries: 2, max: 5 * time.Second,
		retryOn: func(r *http.Response) bool { return r.StatusCode >= 500 || r.StatusCode == 429 || r.StatusCode == 408 }}
)

// request describes one HTTP call; body is produced anew for every attempt.
type request struct {
	method string
	url    *url.URL
	header http.Header
	body   func() (io.Reader, int64, error) // nil: no body
}

func bytesBody(b []byte) func() (io.Reader, int64, error) {
	return func() (io.Reader, int64, error) { return bytes.NewReader(b), int64(len(b)), nil }
}

// response is a finished answer, its body read (unless the policy streams).
type response struct {
	*http.Response
	body []byte
}

// do runs req under p: retries with exponential backoff and ±25 % jitter
// (§6.3). A non-2xx answer that is not retried, or is retried in vain,
// becomes a typed error. With p.streamed the caller owns resp.Body.
func (c *Client) do(ctx context.Context, p policy, req request) (*response, error) {
	if p.auth && !c.trusted(req.url) {
		return nil, &ForeignURLError{Op: p.op, URL: safeURL(req.url)}
	}
	for attempt := 0; ; attempt++ {
		resp, sent, err := c.attempt(ctx, p, req)
		var retry bool
		switch {
		case err != nil && ctx.Err() != nil:
			if sent {
				// Still a *TransportError (unwrapping to ctx.Err()), so
				// that Submit can tell the job may exist.
				return nil, err
			}
			return nil, ctx.Err()
		case err != nil:
			// A request that never got a connection was never sent, so it
			// is safe to repeat for every operation, submit included.
			// Anything else is only repeated when the operation is
			// idempotent; for submit it means the outcome is unknown.
			retry = !sent || p.op != submitPolicy.op
			if !retry {
				return nil, err
			}
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			return resp, nil
		default:
			retry = p.retryOn(resp.Response)
		}
		if !retry || attempt >= p.retries {
			if err != nil {
				return nil, err
			}
			return nil, c.apiError(p.op, resp)
		}
		delay := c.backoff(attempt, p.max)
		c.log.LogAttrs(ctx, slog.LevelDebug, "fal call failed; retrying",
			slog.String("op", p.op), slog.Int("attempt", attempt+1), slog.Duration("delay", delay),
			slog.String("reason", c.reason(resp, err)))
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

func (c *Client) reason(resp *response, err error) string {
	if err != nil {
		return c.key.redactFrom(err.Error())
	}
	return resp.Status
}

// attempt makes one HTTP request. sent reports whether the request may have
// reached the server: false only when no connection was ever obtained.
func (c *Client) attempt(ctx context.Context, p policy, req request) (resp *response, sent bool, err error) {
	timeout := p.timeout
	if timeout == 0 {
		timeout = c.requestTimeout
	}
	// A streamed answer is read by the caller under its own context; any
	// other attempt is bounded by the request timeout.
	actx := ctx
	if !p.streamed {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var gotConn atomic.Bool
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { gotConn.Store(true) }})

	var body io.Reader
	var size int64
	if req.body != nil {
		if body, size, err = req.body(); err != nil {
			return nil, false, err
		}
	}
	hreq, err := http.NewRequestWithContext(actx, req.method, req.url.String(), body)
	if err != nil {
		return nil, false, fmt.Errorf("falqueue: %s: %w", p.op, err)
	}
	if body != nil {
		hreq.ContentLength = size
		if size == 0 {
			hreq.Body = http.NoBody
		}
	}
	for k, vs := range req.header {
		hreq.Header[k] = vs
	}
	hreq.Header.Set("User-Agent", c.userAgent)
	if hreq.Header.Get("Accept") == "" {
		hreq.Header.Set("Accept", "application/json")
	}
	if p.auth && c.key.isSet() {
		hreq.Header.Set("Authorization", "Key "+c.key.reveal())
	}
	hresp, err := c.hc.Do(hreq)
	if err != nil {
		return nil, gotConn.Load(), c.transportError(p.op, req.url, err, gotConn.Load())
	}
	resp = &response{Response: hresp}
	if p.streamed && hresp.StatusCode >= 200 && hresp.StatusCode < 300 {
		return resp, true, nil
	}
	defer hresp.Body.Close()
	resp.body, err = io.ReadAll(io.LimitReader(hresp.Body, maxBody+1))
	if err != nil {
		return nil, true, c.transportError(p.op, req.url, err, true)
	}
	if len(resp.body) > maxBody {
		return nil, true, fmt.Errorf("falqueue: %s: answer larger than %d MiB", p.op, maxBody>>20)
	}
	// Whatever fal sends back (a status and its logs, a result, an error)
	// may echo the key; nothing past this point ever sees it.
	resp.body = c.key.redactBytes(resp.body)
	return resp, true, nil
}

// transportError describes a failed exchange without the URL's query and
// without the key.
func (c *Client) transportError(op string, u *url.URL, err error, sent bool) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	return &TransportError{Op: op, URL: safeURL(u), Sent: sent, Err: errors.New(c.key.redactFrom(err.Error())), cause: err}
}

// TransportError is a call that got no HTTP answer: connection refused,
// reset, DNS failure, timeout. Sent is false only when no connection was
// made, so the request certainly never reached the server.
type TransportError struct {
	Op    string
	URL   string
	Sent  bool
	Err   error
	cause error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("fal %s: %s: %v", e.Op, e.URL, e.Err)
}

// Unwrap returns the original error, so errors.Is(err,
// context.DeadlineExceeded) and errors.As(err, **net.OpError) work.
func (e *TransportError) Unwrap() error { return e.cause }

func (c *Client) backoff(attempt int, max time.Duration) time.Duration {
	base := orDefault(c.backoffBase, time.Second)
	if c.backoffMax > 0 {
		max = c.backoffMax
	}
	d := base << min(attempt, 20)
	if d > max || d <= 0 {
		d = max
	}
	return time.Duration(float64(d) * (0.75 + rand.Float64()/2))
}

// apiError turns a non-2xx answer into *APIError or *ValidationError (§6.2).
func (c *Client) apiError(op string, resp *response) error {
	e := APIError{
		Op:          op,
		StatusCode:  resp.StatusCode,
		ErrorType:   resp.Header.Get("X-Fal-Error-Type"),
		RequestID:   resp.Header.Get("X-Fal-Request-Id"),
		TimeoutType: resp.Header.Get("X-Fal-Request-Timeout-Type"),
	}
	body := c.key.redactBytes(resp.body)
	var parsed struct {
		Detail    json.RawMessage `json:"detail"`
		Message   string          `json:"message"`
		ErrorType string          `json:"error_type"`
		Status    string          `json:"status"`
	}
	var fields []FieldError
	if isJSON(resp.Header.Get("Content-Type"), body) && json.Unmarshal(body, &parsed) == nil {
		e.Body = json.RawMessage(body)
		if parsed.ErrorType != "" {
			e.ErrorType = parsed.ErrorType
		}
		var detail string
		switch {
		case json.Unmarshal(parsed.Detail, &detail) == nil:
			e.Message = detail
		case json.Unmarshal(parsed.Detail, &fields) == nil && len(fields) > 0:
			msgs := make([]string, len(fields))
			for i, f := range fields {
				msgs[i] = f.String()
			}
			e.Message = strings.Join(msgs, "; ")
		case parsed.Message != "":
			e.Message = parsed.Message
		case parsed.Status != "":
			e.Message = parsed.Status + ": " + statusHint(resp.StatusCode)
		}
	} else if text := plainText(body); text != "" {
		e.Message = text
	}
	if e.Message == "" {
		e.Message = statusHint(resp.StatusCode)
	}
	if resp.StatusCode == http.StatusUnprocessableEntity {
		if len(fields) == 0 {
			// A string detail becomes one error about the body (§6.2).
			fields = []FieldError{{Loc: []any{"body"}, Msg: e.Message, Type: "value_error"}}
		}
		return &ValidationError{APIError: e, Fields: fields}
	}
	return &e
}

func isJSON(contentType string, body []byte) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/json" || strings.HasSuffix(mt, "+json") {
		return true
	}
	return mt == "" && json.Valid(body)
}

// plainText reduces a non-JSON error body (often the ingress's HTML) to a
// short line of text.
func plainText(body []byte) string {
	var b strings.Builder
	inTag := false
	for _, r := range string(body) {
		switch {
		case r == '<':
			inTag = true
		case r == '>':
			inTag = false
			b.WriteByte(' ')
		case !inTag:
			b.WriteRune(r)
		}
	}
	s := strings.Join(strings.Fields(b.String()), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Format prints a Client as its hosts only: its fields hold the key, and
// fmt would print unexported fields as they are.
func (c *Client) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "falqueue.Client{queue: %s, rest: %s}", c.queue, c.rest)
}

// LogValue logs a Client as its hosts only.
func (c *Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("queue", c.queue.String()), slog.String("rest", c.rest.String()))
}
