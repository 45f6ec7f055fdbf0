// Package faltest is an in-process emulator of fal.ai's queue and storage
// APIs, shaped like net/http/httptest: NewServer starts it on loopback,
// Close stops it. It is the one fake of fal for every test of the project
// and backs the server's dry-run mode.
//
// It implements fal from the project's protocol notes
// (../PROTOCOL.md, §9 is its checklist) independently of the
// falqueue client: it shares no code with it, so that it cannot agree with
// the client's mistakes.
//
// Three listeners stand for fal's three hosts: QueueURL (queue.fal.run),
// RestURL (rest.fal.ai) and CDNURL (v3.fal.media). Jobs follow per-endpoint
// scripts, in real time or one Step at a time; faults can be injected into
// any operation; every request is logged for tests to assert on.
//
// Where the notes are uncertain (§10), the emulator does what they report
// as documented or commonly observed:
//
//   - A result asked for before completion is 400 {"detail":"Request is
//     still in progress"} (§10.1).
//   - Cancel answers 202 CANCELLATION_REQUESTED, 400 ALREADY_COMPLETED or
//     404 NOT_FOUND (§10.2). A cancelled job ends COMPLETED with error
//     "Request cancelled by the client", error_type client_cancelled, and
//     its result replays 499, the status §6.1 gives that type. A running
//     job with Script.IgnoreCancel gets the 202 but keeps running.
//   - Status, result and cancel answer only under the app id (owner/alias,
//     namespace kept); with the endpoint's sub-path they answer 405 (§10.3).
//   - Submit answers status IN_QUEUE and queue_position (§10.4), and no
//     gateway_request_id.
//   - A missing or wrong key is 401 {"detail":"Invalid or missing API key"}
//     (§10.5).
//   - The SSE stream sends data events only (no event: or id: lines), one
//     for every state change, each log line included (§10.6).
//   - Log lines are {"message","level":"INFO","source":"USER","timestamp"}
//     (§10.7).
//   - A multipart part answers its etag (hex MD5) in both the JSON body and
//     the ETag header (§10.8).
//   - The webhook JWKS is served at RestURL + "/.well-known/jwks.json"
//     (§10.9).
//   - X-Fal-Request-Timeout must be a number of seconds greater than 1, as
//     the clients enforce, else 400 bad_request (§10.10).
//   - Statuses are IN_QUEUE, IN_PROGRESS and COMPLETED only (§10.11).
package faltest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	mathrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options configure a Server. The zero value is a usable fal without auth.
type Options struct {
	// Key, if set, is required as "Authorization: Key <Key>" on the queue,
	// REST and API hosts (§2); the CDN never checks it.
	Key string
	// Retention is how long a result is kept after completion (default
	// 1 h); LargeRetention applies to results of 10 KB or more (default
	// 6 min) (§4.4). After it, status and result answer 404.
	Retention      time.Duration
	LargeRetention time.Duration
	// KeepAlive is the interval of SSE keep-alive comments (default 15 s).
	KeepAlive time.Duration
	// LogWindow is how many of the most recent log lines a status carries:
	// fal returns a sliding window, not the whole log (§4.2). Default 3.
	LogWindow int
	// DefaultScript runs jobs of endpoints without their own script. Nil:
	// a job that completes at once with output {}.
	DefaultScript *Script
	// StorageDir keeps uploaded and added files; "" means a temporary
	// directory removed by Close. Files go to disk, never to memory.
	StorageDir string
	// Now, if set, is the clock of timestamps (submit, completion, logs)
	// and of result retention, so a test can expire results without
	// waiting. Script timings (QueueTime, RunTime) and the start timeout
	// always run on real timers. Nil: time.Now.
	Now func() time.Time
}

// Server is a running emulator.
type Server struct {
	QueueURL string // stands for https://queue.fal.run
	RestURL  string // stands for https://rest.fal.ai
	CDNURL   string // stands for https://v3.fal.media
	APIURL   string // stands for https://api.fal.ai (the Platform API: prices)

	opts              Options
	queue, rest, cdn  *httptest.Server
	api               *httptest.Server
	dir               string
	ownDir            bool
	webhookKey        ed25519.PrivateKey
	closed            chan struct{}
	closeOnce         sync.Once
	background        sync.WaitGroup
	webhookHTTPClient *http.Client

	escMu       sync.Mutex
	wireEscaped []string // keys echoed as EchoJSONEscaped (wireEscape)

	mu       sync.Mutex
	closing  bool // set by Close: no more background work starts
	scripts  map[string]Script
	jobs     map[string]*job
	order    []*job
	faults   []*Fault
	chaos    *chaos // random faults, if set
	requests []Request
	logGen   int // bumped by ResetRequests, so late notes skip a new log
	hooks    map[int]func(Request)
	nextHook int
	files    map[string]*storedFile // by URL path on the CDN
	uploads  map[string]*upload     // by token
	lastTS   time.Time
	prices   map[string]Price // by endpoint id (SetPrice)
}

// NewServer starts an emulator on four loopback listeners.
func NewServer(opts Options) *Server {
	if opts.Retention <= 0 {
		opts.Retention = time.Hour
	}
	if opts.LargeRetention <= 0 {
		opts.LargeRetention = 6 * time.Minute
	}
	if opts.KeepAlive <= 0 {
		opts.KeepAlive = 15 * time.Second
	}
	if opts.LogWindow <= 0 {
		opts.LogWindow = 3
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:              opts,
		closed:            make(chan struct{}),
		scripts:           map[string]Script{},
		jobs:              map[string]*job{},
		hooks:             map[int]func(Request){},
		files:             map[string]*storedFile{},
		uploads:           map[string]*upload{},
		prices:            map[string]Price{},
		webhookHTTPClient: &http.Client{Timeout: 15 * time.Second}, // fal's delivery timeout (§8)
	}
	_, s.webhookKey, _ = ed25519.GenerateKey(rand.Reader)
	s.dir = opts.StorageDir
	if s.dir == "" {
		dir, err := os.MkdirTemp("", "faltest-")
		if err != nil {
			panic("faltest: " + err.Error())
		}
		s.dir, s.ownDir = dir, true
	}
	s.queue = startListener(s.serveQueue)
	s.rest = startListener(s.serveRest)
	s.cdn = startListener(s.serveCDN)
	s.api = startListener(s.serveAPI)
	s.QueueURL, s.RestURL, s.CDNURL, s.APIURL = s.queue.URL, s.rest.URL, s.cdn.URL, s.api.URL
	return s
}

// startListener serves h on 127.0.0.1. The server's own error log is
// discarded: the emulator runs inside the MCP server in dry-run mode, and
// nothing of it may reach stdout or clutter stderr (dropped connections
// are deliberate here).
func startListener(h http.HandlerFunc) *httptest.Server {
	ts := httptest.NewUnstartedServer(h)
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.Start()
	return ts
}

// now is the emulator's clock (Options.Now).
func (s *Server) now() time.Time { return s.opts.Now() }

// Close stops the listeners, the job timers and webhook deliveries, and
// removes the temporary storage. It is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.mu.Lock()
		s.closing = true
		for _, j := range s.order {
			j.stopTimers()
		}
		s.mu.Unlock()
		// Streams and delayed answers end on s.closed; a client stalled in
		// the middle of an upload is cut off rather than waited for.
		for _, l := range []*httptest.Server{s.queue, s.rest, s.cdn, s.api} {
			l.CloseClientConnections()
			l.Close()
		}
		s.background.Wait()
		if s.ownDir {
			os.RemoveAll(s.dir)
		}
	})
}

// Client returns an HTTP client for the emulator's listeners.
func (s *Server) Client() *http.Client { return s.queue.Client() }

// SetScript sets the script of jobs submitted to endpointID (exactly as
// submitted, sub-path included) from now on.
func (s *Server) SetScript(endpointID string, sc Script) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[endpointID] = sc
}

// Op names an operation of fal, for faults and the request log.
type Op string

const (
	OpSubmit            Op = "submit"
	OpStatus            Op = "status"
	OpStream            Op = "stream"
	OpResult            Op = "result"
	OpCancel            Op = "cancel"
	OpInitiate          Op = "initiate"
	OpInitiateMultipart Op = "initiate-multipart"
	OpUpload            Op = "upload" // the single PUT of a file
	OpPart              Op = "part"
	OpComplete          Op = "complete"
	OpFile              Op = "file"    // GET of a CDN file
	OpWebhook           Op = "webhook" // an outbound delivery attempt (see Fault for its faults)
	OpJWKS              Op = "jwks"
	OpPrices            Op = "prices"  // GET /v1/models/pricing on the API host
	OpUnknown           Op = "unknown" // a request no route matched
)

// Fault replaces the normal handling of the next Times requests of Op.
//
// Auth is checked before faults apply: a request with a wrong key gets its
// 401 and does not use up a fault. On OpWebhook a fault spoils one
// delivery attempt, which is then retried (see postWebhook).
type Fault struct {
	Op    Op
	Times int // 0 means 1
	// Status answers with this code instead of handling the request: a JSON
	// {"detail": …} body, or the ingress's HTML page with Nginx.
	Status int
	// WithRequestID puts x-fal-request-id on the answer, as fal's own
	// answers have; without it, the answer looks like the ingress's (§3).
	WithRequestID bool
	Nginx         bool
	// UserTimeout answers 504 with X-Fal-Request-Timeout-Type: user (§3).
	UserTimeout bool
	// DropBefore closes the connection without handling the request: for a
	// submit, nothing is enqueued.
	DropBefore bool
	// DropAfter handles the request fully (a submit IS enqueued), then
	// closes the connection without answering. A stream sends its first
	// event, then breaks.
	DropAfter bool
	// Delay waits before handling (less if the client goes away).
	Delay time.Duration
	// EchoKey makes the Status answer's detail echo the request's
	// Authorization header, in the form EchoForm (as Script.EchoKey).
	EchoKey  bool
	EchoForm EchoForm
}

// Inject adds a fault; faults of one Op apply in the order injected.
func (s *Server) Inject(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	if f.UserTimeout {
		f.Status = http.StatusGatewayTimeout
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ResetFaults drops every fault not yet applied.
func (s *Server) ResetFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// RandomFaults spoils a share of the requests of some operations, each
// with a fault drawn at random from what fal's hosts really do: a 429, a
// 500 or 503 of fal's own (JSON, x-fal-request-id), the ingress's 502 or
// 503 (HTML, no request id), a connection dropped before or after the
// request was handled. Injected faults apply first.
type RandomFaults struct {
	Rate float64 // share of requests spoiled, 0 to 1
	Ops  []Op    // the operations concerned
	Seed uint64  // the draws repeat for a seed
}

type chaos struct {
	RandomFaults
	rng *mathrand.Rand
}

// SetRandomFaults starts (or, with a zero Rate, stops) random faults.
func (s *Server) SetRandomFaults(rf RandomFaults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rf.Rate <= 0 {
		s.chaos = nil
		return
	}
	s.chaos = &chaos{RandomFaults: rf, rng: mathrand.New(mathrand.NewPCG(rf.Seed, rf.Seed^0x9e3779b97f4a7c15))}
}

// randomFaults are the kinds a random fault is drawn from.
var randomFaults = []Fault{
	{Status: http.StatusTooManyRequests, WithRequestID: true},
	{Status: http.StatusInternalServerError, WithRequestID: true},
	{Status: http.StatusServiceUnavailable, WithRequestID: true},
	{Status: http.StatusBadGateway, Nginx: true},
	{Status: http.StatusServiceUnavailable, Nginx: true},
	{DropBefore: true},
	{DropAfter: true},
}

// draw returns a random fault for op, or nil; s.mu is held.
func (c *chaos) draw(op Op) *Fault {
	if c == nil || !slices.Contains(c.Ops, op) || c.rng.Float64() >= c.Rate {
		return nil
	}
	f := randomFaults[c.rng.IntN(len(randomFaults))]
	f.Op, f.Times = op, 1
	return &f
}

// takeFault returns the fault that applies to this request of op, if any.
func (s *Server) takeFault(op Op) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.chaos.draw(op); f != nil && len(s.faults) == 0 {
		return f
	}
	for i, f := range s.faults {
		if f.Op != op {
			continue
		}
		applied := *f
		applied.Times = 1
		if f.Times--; f.Times <= 0 {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		return &applied
	}
	return nil
}

// Request is one logged request.
type Request struct {
	Op        Op
	Host      string // "queue", "rest", "cdn", "api" or, for webhook deliveries, "webhook"
	Method    string
	Path      string
	RawQuery  string
	Header    http.Header
	Body      []byte // JSON bodies only; nil for file data
	BodySize  int64
	BodySent  int64  // bytes of body answered (CDN file reads; a Range read counts only its range)
	RequestID string // the job concerned, if any
	Endpoint  string // submit: the endpoint id as in the path
	Fault     *Fault // the fault applied, if any
	Enqueued  bool   // this submit created a job
	Status    int    // the status answered; 0 if the connection was dropped
}

// Requests returns the log of every request so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	copy(out, s.requests)
	return out
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
	s.logGen++
}

// OnRequest calls fn with every request as it is logged, until the
// returned stop is called: requests to the listeners as they arrive
// (before they are answered), webhook delivery attempts once made (with
// their Status). fn must not block.
func (s *Server) OnRequest(fn func(Request)) (stop func()) {
	s.mu.Lock()
	id := s.nextHook
	s.nextHook++
	s.hooks[id] = fn
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.hooks, id)
		s.mu.Unlock()
	}
}

// exchange is one request being handled: its log entry and its answer.
type exchange struct {
	s     *Server
	w     http.ResponseWriter
	r     *http.Request
	index int // in s.requests, while s.logGen == gen
	gen   int
	host  string
	id    string // x-fal-request-id of the answer (queue host)
	body  []byte
	fault *Fault // the fault applied to this request, if any
	bare  bool   // the answer is an injected fault's: no implicit headers
}

// begin logs a request (requestID: the job it addresses, if known). JSON
// bodies are read whole (and logged); file data is left for the handler
// to stream.
func (s *Server) begin(w http.ResponseWriter, r *http.Request, host string, op Op, readBody bool, requestID ...string) *exchange {
	x := &exchange{s: s, w: w, r: r, host: host}
	req := Request{Op: op, Host: host, Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone()}
	if len(requestID) > 0 {
		req.RequestID = requestID[0]
	}
	if readBody {
		x.body, _ = io.ReadAll(io.LimitReader(r.Body, 64<<20))
		req.Body, req.BodySize = x.body, int64(len(x.body))
	}
	x.index, x.gen = s.log(req)
	return x
}

// log appends req to the request log and shows it to the OnRequest hooks;
// it returns where the entry is, for later notes.
func (s *Server) log(req Request) (index, gen int) {
	s.mu.Lock()
	index, gen = len(s.requests), s.logGen
	s.requests = append(s.requests, req)
	hooks := make([]func(Request), 0, len(s.hooks))
	for _, h := range s.hooks {
		hooks = append(hooks, h)
	}
	s.mu.Unlock()
	for _, h := range hooks {
		h(req)
	}
	return index, gen
}

// note updates the request's log entry.
func (x *exchange) note(update func(*Request)) {
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	if x.gen == x.s.logGen { // else ResetRequests has dropped this entry
		update(&x.s.requests[x.index])
	}
}

// finish answers with JSON, unless the request's fault drops the answer
// after the work is done (DropAfter).
func (x *exchange) finish(status int, v any, header ...string) {
	if x.fault != nil && x.fault.DropAfter {
		x.drop()
		return
	}
	x.json(status, v, header...)
}

// json answers with a JSON body.
func (x *exchange) json(status int, v any, header ...string) {
	b, err := json.Marshal(v)
	if err != nil {
		panic("faltest: " + err.Error())
	}
	x.raw(status, "application/json", b, header...)
}

// raw answers with a body of the given type; header is name, value pairs.
// Every answer of the queue host carries x-fal-request-id (§3, [3P]: set on
// queue responses generally): the job's id, or a fresh one when no job is
// concerned. Injected faults decide for themselves (faultAnswer), since its
// absence is what marks an ingress error.
func (x *exchange) raw(status int, contentType string, body []byte, header ...string) {
	if x.host == "queue" && !x.bare {
		if x.id == "" {
			x.id = newRequestID()
		}
		x.w.Header().Set("X-Fal-Request-Id", x.id)
	}
	for i := 0; i+1 < len(header); i += 2 {
		x.w.Header().Set(header[i], header[i+1])
	}
	if contentType == "application/json" {
		body = x.s.wireEscape(body)
	}
	x.w.Header().Set("Content-Type", contentType)
	x.w.WriteHeader(status)
	_, _ = x.w.Write(body)
	x.note(func(r *Request) { r.Status = status })
}

// applyFault runs the "before" part of a fault. It reports whether the
// request is finished (answered or dropped); DropAfter is left to the
// caller, which must handle the request and then call dropAfter.
func (x *exchange) applyFault(f *Fault) (finished bool) {
	if f == nil {
		return false
	}
	x.fault = f
	x.note(func(r *Request) { r.Fault = f })
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-x.r.Context().Done(): // the client went away
			x.drop()
			return true
		case <-x.s.closed: // the server is closing: cut the connection
			x.drop()
			return true
		}
	}
	switch {
	case f.DropBefore:
		x.drop()
		return true
	case f.Status != 0:
		x.faultAnswer(f)
		return true
	}
	return false
}

// faultAnswer is the answer of an injected status fault.
func (x *exchange) faultAnswer(f *Fault) {
	x.bare = true
	var header []string
	if f.WithRequestID || f.UserTimeout {
		header = append(header, "X-Fal-Request-Id", newRequestID())
	}
	switch {
	case f.UserTimeout:
		header = append(header, "X-Fal-Request-Timeout-Type", "user", "X-Fal-Error-Type", "startup_timeout")
		x.json(http.StatusGatewayTimeout, map[string]string{"detail": "Request timed out", "error_type": "startup_timeout"}, header...)
	case f.Nginx:
		page := fmt.Sprintf("<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
			f.Status, http.StatusText(f.Status), f.Status, http.StatusText(f.Status))
		x.raw(f.Status, "text/html", []byte(page), header...)
	default:
		body := map[string]string{"detail": http.StatusText(f.Status)}
		if f.EchoKey {
			body["detail"] += x.s.echoText(x.r.Header.Get("Authorization"), f.EchoForm)
		}
		if t := errorTypeFor(f.Status); t != "" && f.WithRequestID {
			body["error_type"] = t
			header = append(header, "X-Fal-Error-Type", t)
		}
		x.json(f.Status, body, header...)
	}
}

// errorTypeFor is the typical error_type of a status (§6.1).
func errorTypeFor(status int) string {
	switch status {
	case 500:
		return "internal_error"
	case 502:
		return "runner_incomplete_response"
	case 503:
		return "runner_scheduling_failure"
	case 504:
		return "request_timeout"
	}
	return ""
}

// drop closes the connection without an answer.
func (x *exchange) drop() {
	x.note(func(r *Request) { r.Status = 0 })
	if hj, ok := x.w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// checkKey enforces "Authorization: Key <Key>" (§2, §9.8); the 401 body
// shape is an assumption (§10.5).
func (x *exchange) checkKey() bool {
	key := x.s.opts.Key
	if key == "" || x.r.Header.Get("Authorization") == "Key "+key {
		return true
	}
	x.json(http.StatusUnauthorized, map[string]string{"detail": "Invalid or missing API key"})
	return false
}

// newRequestID returns a UUIDv7-shaped id, as fal's newer ids are (§4.1).
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	ms := uint64(time.Now().UnixMilli())
	for i := 0; i < 6; i++ {
		b[i] = byte(ms >> (40 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// splitPath splits a URL path into its segments, ignoring a trailing slash
// (the fal SDK sends one, §1.2).
func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}
