package faltest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// Script is how the jobs of one endpoint behave.
//
// A job moves in steps: IN_QUEUE at position Ahead, then Ahead-1 … 0, then
// IN_PROGRESS, then one step per log line, then COMPLETED. Each step is a
// status change seen by polls and sent to every open stream.
type Script struct {
	Ahead     int           // queue_position at submit (requests ahead)
	QueueTime time.Duration // time IN_QUEUE, spread over the queue steps
	RunTime   time.Duration // time IN_PROGRESS, spread over the log lines and completion
	Logs      []string      // log lines emitted while IN_PROGRESS
	// Output is the model output of a successful job (marshalled to JSON;
	// json.RawMessage as it is; nil is {}). OutputFunc, if set, computes
	// it at completion from the submitted input.
	Output     any
	OutputFunc func(input json.RawMessage) any
	Failure    *Failure // non-nil: the job fails
	// Manual jobs never advance by time: the test calls Step or Finish.
	Manual bool
	// IgnoreCancel: a cancel while IN_PROGRESS is acknowledged, but the app
	// keeps running (the app decides, §4.5).
	IgnoreCancel bool
	// EchoKey makes a misbehaving app that echoes the submit's
	// Authorization header (the key) into all it sends back: every log
	// line, the failure's error and body (Failure.Body is replaced by the
	// default body), and the output, where it is added as "echo" and
	// appended to every string that is not a url or content_type.
	EchoKey bool
	// EchoForm is the form in which EchoKey writes the key back.
	EchoForm EchoForm
}

// EchoForm is the form in which a misbehaving app writes back the key it
// was sent (Script.EchoKey, Fault.EchoKey).
type EchoForm int

const (
	// EchoAsSent writes the key as it was sent.
	EchoAsSent EchoForm = iota
	// EchoJSONEscaped writes every character of the key as a JSON \uXXXX
	// escape on the wire: a JSON decoder reads the key itself.
	EchoJSONEscaped
	// EchoPercent writes the key percent-encoded, every byte as %XX.
	EchoPercent
	// EchoBase64 writes the key in standard base64.
	EchoBase64
	// EchoEscapedText writes the key as \uXXXX escapes inside the text
	// itself (JSON embedded in a string): decoded once more, it shows.
	EchoEscapedText
)

// EchoForms are all the forms, for tests that try each.
var EchoForms = []EchoForm{EchoAsSent, EchoJSONEscaped, EchoPercent, EchoBase64, EchoEscapedText}

func (f EchoForm) String() string {
	names := []string{"as sent", "JSON-escaped", "percent-encoded", "base64", "escaped text"}
	if f < 0 || int(f) >= len(names) {
		return fmt.Sprintf("EchoForm(%d)", int(f))
	}
	return names[f]
}

// echoText is the echo of an Authorization header in form f. For
// EchoJSONEscaped the text holds the key as sent; the server escapes it
// on the wire (Server.wireEscape).
func (s *Server) echoText(authorization string, f EchoForm) string {
	key, ok := strings.CutPrefix(authorization, "Key ")
	if !ok || key == "" {
		return " [echo: Authorization: " + authorization + "]"
	}
	switch f {
	case EchoJSONEscaped:
		s.escMu.Lock()
		if !slices.Contains(s.wireEscaped, key) {
			s.wireEscaped = append(s.wireEscaped, key)
		}
		s.escMu.Unlock()
	case EchoPercent:
		var b strings.Builder
		for i := 0; i < len(key); i++ {
			fmt.Fprintf(&b, "%%%02X", key[i])
		}
		key = b.String()
	case EchoBase64:
		key = base64.StdEncoding.EncodeToString([]byte(key))
	case EchoEscapedText:
		key = unicodeEscaped(key)
	}
	return " [echo: Authorization: Key " + key + "]"
}

// unicodeEscaped writes every character of s as a JSON \uXXXX escape.
func unicodeEscaped(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r > 0xFFFF {
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
			continue
		}
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}

// wireEscape rewrites a JSON body so that every key echoed in the form
// EchoJSONEscaped is written as \uXXXX escapes: still the same JSON.
func (s *Server) wireEscape(body []byte) []byte {
	s.escMu.Lock()
	keys := s.wireEscaped
	s.escMu.Unlock()
	for _, k := range keys {
		body = bytes.ReplaceAll(body, []byte(k), []byte(unicodeEscaped(k)))
	}
	return body
}

// echoing returns sc with the echo of EchoKey written into it.
func (sc Script) echoing(echo string) Script {
	logs := make([]string, len(sc.Logs))
	for i, l := range sc.Logs {
		logs[i] = l + echo
	}
	sc.Logs = logs
	if sc.Failure != nil {
		f := sc.Failure.withDefaults()
		f.Error += echo
		f.Body = nil
		sc.Failure = f
	}
	output, outputFunc := sc.Output, sc.OutputFunc
	sc.OutputFunc = func(input json.RawMessage) any {
		out := output
		if outputFunc != nil {
			out = outputFunc(input)
		}
		var v any
		if json.Unmarshal(marshalOutput(out), &v) != nil {
			return out
		}
		m, ok := appendEcho(v, "", echo).(map[string]any)
		if !ok {
			return out
		}
		m["echo"] = strings.TrimSpace(echo)
		return m
	}
	return sc
}

func appendEcho(v any, key, echo string) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = appendEcho(x, k, echo)
		}
	case []any:
		for i, x := range v {
			v[i] = appendEcho(x, key, echo)
		}
	case string:
		if key != "url" && key != "content_type" {
			return v + echo
		}
	}
	return v
}

// Failure is how a job fails. A failed job still ends COMPLETED, with
// error and error_type on its status (§4.2); its result replays the
// model's status code and body (§4.4).
type Failure struct {
	Status int // status the result replays (default 500)
	Body   any // body the result replays; nil: {"detail": Error, "error_type": ErrorType}
	// Error is the error on the COMPLETED status; "" means "Invalid status
	// code: <Status>", fal's wording for a model's failed answer (§8).
	Error string
	// ErrorType is error_type on the COMPLETED status and X-Fal-Error-Type
	// on the result; "" means the typical type for Status (§6.1), or none.
	ErrorType string
}

// withDefaults fills in the defaults documented on Failure.
func (f Failure) withDefaults() *Failure {
	if f.Status == 0 {
		f.Status = http.StatusInternalServerError
	}
	if f.Error == "" {
		f.Error = "Invalid status code: " + strconv.Itoa(f.Status)
	}
	if f.ErrorType == "" {
		f.ErrorType = errorTypeFor(f.Status)
	}
	return &f
}

// Job is what the emulator knows of one enqueued request.
type Job struct {
	RequestID  string
	EndpointID string // as submitted, sub-path included
	AppID      string // [ns/]owner/alias
	Input      json.RawMessage
	Header     http.Header // the submit's headers
	Webhook    string      // the fal_webhook query value
	Status     string      // IN_QUEUE, IN_PROGRESS or COMPLETED
	Submitted  time.Time
	Completed  time.Time // zero until done
	Cancelled  bool
}

// maxStartTimeout bounds X-Fal-Request-Timeout so that it fits a
// time.Duration; fal documents no maximum.
const maxStartTimeout = 30 * 24 * time.Hour

// Status names of fal's queue (§4.2).
const (
	inQueue    = "IN_QUEUE"
	inProgress = "IN_PROGRESS"
	completed  = "COMPLETED"
)

// snapshot is one version of a job's status; streams send each in turn.
type snapshot struct {
	state    string
	position int
	nlogs    int
}

type logLine struct {
	Message   string `json:"message"`
	Level     string `json:"level"`
	Source    string `json:"source"`
	Timestamp string `json:"timestamp"`
}

type job struct {
	Job
	script   Script
	history  []snapshot
	logs     []logLine
	changed  chan struct{} // closed and replaced at every change
	timers   []*time.Timer
	started  time.Time
	result   []byte
	status   int
	header   []string // extra result headers, name/value pairs
	failure  *Failure
	expires  time.Time
	metricsS float64
}

func (j *job) now() snapshot { return j.history[len(j.history)-1] }

func (j *job) stopTimers() {
	for _, t := range j.timers {
		t.Stop()
	}
	j.timers = nil
}

// Jobs returns every job ever enqueued, in submit order.
func (s *Server) Jobs() []Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Job, len(s.order))
	for i, j := range s.order {
		out[i] = j.Job
	}
	return out
}

// Job returns one job.
func (s *Server) Job(requestID string) (Job, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[requestID]
	if !ok {
		return Job{}, false
	}
	return j.Job, true
}

// Step advances a job by one step and returns its new status; ok is false
// when the job is unknown or already completed.
func (s *Server) Step(requestID string) (status string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, found := s.jobs[requestID]
	if !found || j.now().state == completed {
		return "", false
	}
	s.step(j)
	return j.now().state, true
}

// Finish runs all of a job's remaining steps.
func (s *Server) Finish(requestID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, found := s.jobs[requestID]
	if !found || j.now().state == completed {
		return false
	}
	for j.now().state != completed {
		s.step(j)
	}
	return true
}

// step moves j one step on. Called with s.mu held.
func (s *Server) step(j *job) {
	cur := j.now()
	switch {
	case cur.state == inQueue && cur.position > 0:
		cur.position--
	case cur.state == inQueue:
		cur.state, j.started = inProgress, s.now()
	case len(j.logs) < len(j.script.Logs):
		j.logs = append(j.logs, logLine{Message: j.script.Logs[len(j.logs)], Level: "INFO", Source: "USER", Timestamp: s.timestamp()})
		cur.nlogs = len(j.logs)
	default:
		s.complete(j, j.script.Failure, false)
		return
	}
	s.publish(j, cur)
}

// publish records a new status version and wakes the job's streams.
func (s *Server) publish(j *job, snap snapshot) {
	j.history = append(j.history, snap)
	j.Status = snap.state
	close(j.changed)
	j.changed = make(chan struct{})
}

// timestamp returns strictly increasing log timestamps.
func (s *Server) timestamp() string {
	now := s.now().UTC()
	if !now.After(s.lastTS) {
		now = s.lastTS.Add(time.Microsecond)
	}
	s.lastTS = now
	return now.Format(time.RFC3339Nano)
}

// complete ends a job with its output or a failure. userTimeout marks the
// start-timeout failure (§3).
func (s *Server) complete(j *job, f *Failure, userTimeout bool) {
	j.stopTimers()
	j.Completed = s.now()
	if !j.started.IsZero() {
		j.metricsS = j.Completed.Sub(j.started).Seconds()
	}
	if f == nil {
		out := j.script.Output
		if j.script.OutputFunc != nil {
			out = j.script.OutputFunc(j.Input)
		}
		j.result = marshalOutput(out)
		j.status = http.StatusOK
		j.header = []string{"X-Fal-Billable-Units", "1"}
	} else {
		f = f.withDefaults()
		j.failure = f
		j.status = f.Status
		if f.Body != nil {
			j.result = marshalOutput(f.Body)
		} else {
			j.result = marshalOutput(map[string]string{"detail": f.Error, "error_type": f.ErrorType})
		}
		if f.ErrorType != "" {
			j.header = append(j.header, "X-Fal-Error-Type", f.ErrorType)
		}
		if userTimeout {
			j.header = append(j.header, "X-Fal-Request-Timeout-Type", "user")
		}
	}
	retention := s.opts.Retention
	if len(j.result) >= 10<<10 {
		retention = s.opts.LargeRetention // §4.4
	}
	j.expires = j.Completed.Add(retention)
	cur := j.now()
	cur.state = completed
	s.publish(j, cur)
	if j.Webhook != "" {
		s.deliverWebhook(j.Job, j.status, j.result, f)
	}
}

func marshalOutput(v any) []byte {
	switch v := v.(type) {
	case nil:
		return []byte("{}")
	case json.RawMessage:
		return append([]byte(nil), v...)
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic("faltest: script output does not marshal: " + err.Error())
	}
	return b
}

// schedule runs the job's timed steps: every step whose delay is zero at
// once, the next one on a timer. Called with s.mu held.
func (s *Server) schedule(j *job) {
	for j.now().state != completed {
		d := s.stepDelay(j)
		if d > 0 {
			var t *time.Timer
			t = time.AfterFunc(d, func() {
				s.mu.Lock()
				defer s.mu.Unlock()
				if j.now().state == completed || !j.hasTimer(t) {
					return
				}
				s.step(j)
				s.schedule(j)
			})
			j.timers = append(j.timers, t)
			return
		}
		s.step(j)
	}
}

func (j *job) hasTimer(t *time.Timer) bool {
	for _, x := range j.timers {
		if x == t {
			return true
		}
	}
	return false
}

// stepDelay is the time before the job's next step: the queue time spread
// over the queue steps, the run time over the running ones.
func (s *Server) stepDelay(j *job) time.Duration {
	if j.now().state == inQueue {
		return j.script.QueueTime / time.Duration(j.script.Ahead+1)
	}
	return j.script.RunTime / time.Duration(len(j.script.Logs)+1)
}

// serveQueue routes the queue host (§9.1).
func (s *Server) serveQueue(w http.ResponseWriter, r *http.Request) {
	segs := splitPath(r.URL.Path)
	appLen := 2
	if len(segs) > 0 && (segs[0] == "workflows" || segs[0] == "comfy") {
		appLen = 3 // a namespace makes the app id three segments (§1.1)
	}
	reqAt := -1
	for i := range segs {
		if segs[i] == "requests" && i+1 < len(segs) {
			reqAt = i
			break
		}
	}
	// A submit is a POST (resolving "is x/y/requests/z a sub-path?" by
	// method, §9.1); everything else addresses a request.
	if r.Method == http.MethodPost {
		if len(segs) < appLen {
			x := s.begin(w, r, "queue", OpUnknown, true)
			x.json(http.StatusNotFound, map[string]string{"detail": "Application not found"})
			return
		}
		s.submit(w, r, segs, appLen)
		return
	}
	if reqAt < 0 {
		x := s.begin(w, r, "queue", OpUnknown, false)
		x.json(http.StatusNotFound, map[string]string{"detail": "Not found"})
		return
	}
	app, id, rest := strings.Join(segs[:reqAt], "/"), segs[reqAt+1], segs[reqAt+2:]
	var op Op
	switch {
	case r.Method == http.MethodGet && len(rest) == 0:
		op = OpResult
	case r.Method == http.MethodGet && len(rest) == 1 && rest[0] == "status":
		op = OpStatus
	case r.Method == http.MethodGet && len(rest) == 2 && rest[0] == "status" && rest[1] == "stream":
		op = OpStream
	case r.Method == http.MethodPut && len(rest) == 1 && rest[0] == "cancel":
		op = OpCancel
	default:
		x := s.begin(w, r, "queue", OpUnknown, false)
		x.json(http.StatusMethodNotAllowed, map[string]string{"detail": "Method Not Allowed"})
		return
	}
	x := s.begin(w, r, "queue", op, op == OpCancel, id)
	if !x.checkKey() {
		return
	}
	if x.applyFault(s.takeFault(op)) {
		return
	}
	if reqAt != appLen {
		// The endpoint's sub-path does not route for requests (§4.2 [3P]).
		x.json(http.StatusMethodNotAllowed, map[string]string{"detail": "Method Not Allowed"})
		return
	}
	s.mu.Lock()
	j, ok := s.jobs[id]
	// A job is addressed under its own app only, and forgotten once its
	// result's retention has run out (§4.4).
	ok = ok && j.AppID == app && !(j.now().state == completed && !s.now().Before(j.expires))
	s.mu.Unlock()
	if !ok {
		x.json(http.StatusNotFound, map[string]string{"status": "NOT_FOUND"}) // §4.2 [3P]
		return
	}
	switch op {
	case OpStatus:
		s.status(x, j)
	case OpStream:
		s.stream(x, j)
	case OpResult:
		s.result(x, j)
	case OpCancel:
		s.cancel(x, j)
	}
}

// submit enqueues a job (§4.1, §9.2).
func (s *Server) submit(w http.ResponseWriter, r *http.Request, segs []string, appLen int) {
	endpoint := strings.Join(segs, "/")
	x := s.begin(w, r, "queue", OpSubmit, true)
	x.note(func(q *Request) { q.Endpoint = endpoint })
	if !x.checkKey() {
		return
	}
	if x.applyFault(s.takeFault(OpSubmit)) {
		return
	}
	input := x.body
	if len(strings.TrimSpace(string(input))) == 0 {
		input = []byte("{}") // JS omits the body when there is no input (§4.1)
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(input, &obj) != nil || obj == nil {
		x.json(http.StatusUnprocessableEntity, map[string]any{"detail": []map[string]any{
			{"loc": []string{"body"}, "msg": "Input should be a valid dictionary", "type": "dict_type"}}})
		return
	}
	if p := r.Header.Get("X-Fal-Queue-Priority"); p != "" && p != "normal" && p != "low" {
		x.json(http.StatusUnprocessableEntity, map[string]any{"detail": []map[string]any{
			{"loc": []string{"header", "x-fal-queue-priority"}, "msg": "Input should be 'normal' or 'low'", "type": "enum", "input": p}}})
		return
	}
	var startTimeout time.Duration
	if v := r.Header.Get("X-Fal-Request-Timeout"); v != "" {
		secs, err := strconv.ParseFloat(v, 64)
		if err != nil || !(secs > 1) || secs > maxStartTimeout.Seconds() { // !(>) also refuses NaN
			// Clients require more than one second (§3, §10.10).
			x.json(http.StatusBadRequest, map[string]string{"detail": "Invalid X-Fal-Request-Timeout header: want a number of seconds greater than 1", "error_type": "bad_request"},
				"X-Fal-Error-Type", "bad_request")
			return
		}
		startTimeout = time.Duration(secs * float64(time.Second))
	}
	webhook := r.URL.Query().Get("fal_webhook")
	if webhook != "" {
		if u, err := url.Parse(webhook); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			x.json(http.StatusUnprocessableEntity, map[string]any{"detail": []map[string]any{
				{"loc": []string{"query", "fal_webhook"}, "msg": "Input should be a valid URL", "type": "url_parsing", "input": webhook}}})
			return
		}
	}

	s.mu.Lock()
	sc, ok := s.scripts[endpoint]
	if !ok && s.opts.DefaultScript != nil {
		sc = *s.opts.DefaultScript
	}
	sc.Ahead = max(sc.Ahead, 0)
	if sc.EchoKey {
		sc = sc.echoing(s.echoText(r.Header.Get("Authorization"), sc.EchoForm))
	}
	j := &job{
		Job: Job{RequestID: newRequestID(), EndpointID: endpoint, AppID: strings.Join(segs[:appLen], "/"),
			Input: json.RawMessage(input), Header: r.Header.Clone(), Webhook: webhook, Status: inQueue, Submitted: s.now()},
		script:  sc,
		history: []snapshot{{state: inQueue, position: sc.Ahead}},
		changed: make(chan struct{}),
	}
	s.jobs[j.RequestID] = j
	s.order = append(s.order, j)
	if startTimeout > 0 {
		t := time.AfterFunc(startTimeout, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if j.now().state == inQueue {
				s.complete(j, &Failure{Status: http.StatusGatewayTimeout, Error: "Request timed out", ErrorType: "startup_timeout",
					Body: map[string]string{"detail": "Request timed out", "error_type": "startup_timeout"}}, true)
			}
		})
		j.timers = append(j.timers, t)
	}
	if !sc.Manual {
		s.schedule(j)
	}
	body := s.statusBody(j, j.history[0], false)
	s.mu.Unlock()
	x.note(func(q *Request) { q.Enqueued, q.RequestID = true, j.RequestID })

	x.finish(http.StatusOK, body, "X-Fal-Request-Id", j.RequestID)
}

// statusJSON is the status object of §4.2.
type statusJSON struct {
	Status        string             `json:"status"`
	RequestID     string             `json:"request_id"`
	ResponseURL   string             `json:"response_url"`
	StatusURL     string             `json:"status_url"`
	CancelURL     string             `json:"cancel_url"`
	QueuePosition *int               `json:"queue_position,omitempty"`
	Logs          []logLine          `json:"logs"` // always present: null unless logs were asked for
	Metrics       map[string]float64 `json:"metrics,omitempty"`
	Error         *string            `json:"error,omitempty"`
	ErrorType     *string            `json:"error_type,omitempty"`
}

// statusBody renders one version of a job's status. Called with s.mu held.
func (s *Server) statusBody(j *job, snap snapshot, logs bool) statusJSON {
	base := s.QueueURL + "/" + j.AppID + "/requests/" + j.RequestID
	b := statusJSON{Status: snap.state, RequestID: j.RequestID, ResponseURL: base, StatusURL: base + "/status", CancelURL: base + "/cancel"}
	if snap.state == inQueue {
		pos := snap.position
		b.QueuePosition = &pos
	}
	if logs {
		// A sliding window of the most recent lines, not the whole log.
		from := max(0, snap.nlogs-s.opts.LogWindow)
		b.Logs = append([]logLine{}, j.logs[from:snap.nlogs]...)
	}
	if snap.state == completed {
		b.Metrics = map[string]float64{"inference_time": j.metricsS}
		if j.failure != nil {
			e, t := j.failure.Error, j.failure.ErrorType
			b.Error = &e
			if t != "" {
				b.ErrorType = &t
			}
		}
	}
	return b
}

// logsOn accepts 1, true and True (§4.2).
func logsOn(r *http.Request) bool {
	switch r.URL.Query().Get("logs") {
	case "1", "true", "True":
		return true
	}
	return false
}

// status answers a status poll: 202 while queued or running, 200 when
// completed (§4.2).
func (s *Server) status(x *exchange, j *job) {
	s.mu.Lock()
	snap := j.now()
	body := s.statusBody(j, snap, logsOn(x.r))
	s.mu.Unlock()
	code := http.StatusAccepted
	if snap.state == completed {
		code = http.StatusOK
	}
	x.finish(code, body, "X-Fal-Request-Id", j.RequestID)
}

// stream serves the SSE status stream: every version of the status as a
// data event, keep-alive comments, closed after COMPLETED (§4.3, §9.6).
func (s *Server) stream(x *exchange, j *job) {
	flusher, ok := x.w.(http.Flusher)
	if !ok {
		x.json(http.StatusInternalServerError, map[string]string{"detail": "streaming unsupported"})
		return
	}
	logs := logsOn(x.r)
	x.w.Header().Set("Content-Type", "text/event-stream")
	x.w.Header().Set("Cache-Control", "no-cache")
	x.w.Header().Set("X-Fal-Request-Id", j.RequestID)
	x.w.WriteHeader(http.StatusOK)
	x.note(func(q *Request) { q.Status = http.StatusOK })
	keepAlive := time.NewTicker(s.opts.KeepAlive)
	defer keepAlive.Stop()

	s.mu.Lock()
	next := len(j.history) - 1 // start with the current status
	s.mu.Unlock()
	for {
		s.mu.Lock()
		var events [][]byte
		for ; next < len(j.history); next++ {
			b, _ := json.Marshal(s.statusBody(j, j.history[next], logs))
			events = append(events, s.wireEscape(b))
		}
		done := j.now().state == completed && next == len(j.history)
		changed := j.changed
		s.mu.Unlock()
		for _, e := range events {
			if _, err := x.w.Write([]byte("data: " + string(e) + "\n\n")); err != nil {
				return
			}
			flusher.Flush()
			if x.fault != nil && x.fault.DropAfter {
				panic(http.ErrAbortHandler) // break the stream after its first event
			}
		}
		if done {
			return
		}
		select {
		case <-changed:
		case <-keepAlive.C:
			if _, err := x.w.Write([]byte(": keepalive\n\n")); err != nil {
				return
			}
			flusher.Flush()
		case <-x.r.Context().Done():
			return
		case <-s.closed:
			return
		}
	}
}

// result replays the job's answer (§4.4): the output, or the failure's
// status and body; 400 while the job is not done (an assumption, §10.1).
func (s *Server) result(x *exchange, j *job) {
	s.mu.Lock()
	done := j.now().state == completed
	status, body, header := j.status, j.result, append([]string{"X-Fal-Request-Id", j.RequestID}, j.header...)
	s.mu.Unlock()
	if x.fault != nil && x.fault.DropAfter {
		x.drop()
		return
	}
	if !done {
		x.json(http.StatusBadRequest, map[string]string{"detail": "Request is still in progress"}, "X-Fal-Request-Id", j.RequestID)
		return
	}
	x.raw(status, "application/json", body, header...)
}

// cancel: a queued or running job is cancelled (202 CANCELLATION_REQUESTED),
// a finished one is 400 ALREADY_COMPLETED (§4.5, §9.5; codes as commonly
// reported, §10.2). A cancelled job completes failed with error_type
// client_cancelled and its result replays 499, the status fal uses for it
// (§6.1).
func (s *Server) cancel(x *exchange, j *job) {
	s.mu.Lock()
	var code int
	var outcome string
	switch st := j.now().state; {
	case st == completed:
		code, outcome = http.StatusBadRequest, "ALREADY_COMPLETED"
	case st == inProgress && j.script.IgnoreCancel:
		code, outcome = http.StatusAccepted, "CANCELLATION_REQUESTED"
	default:
		code, outcome = http.StatusAccepted, "CANCELLATION_REQUESTED"
		j.Cancelled = true
		s.complete(j, &Failure{Status: 499, Error: "Request cancelled by the client", ErrorType: "client_cancelled"}, false)
	}
	s.mu.Unlock()
	x.finish(code, map[string]string{"status": outcome}, "X-Fal-Request-Id", j.RequestID)
}
