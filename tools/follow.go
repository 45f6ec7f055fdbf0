package tools

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/fal-video-mcp/fal-video-mcp/tools/ledger"
)

// One follower per job. Within a process exactly one goroutine follows a
// job on fal — one status stream (or poll loop) and, when it completes, one
// successful result fetch — and records what it sees. Tool calls that
// wait, job_status and progress notifications watch the job store, never
// fal. Across processes sharing a ledger, a lease in the ledger lets one
// process follow a job at a time; the others watch the ledger.
const (
	maxAdopted   = 8                // jobs of other processes (or a previous run) followed at once
	rescanEvery  = 15 * time.Second // look for jobs no live process follows
	leaseTTL     = 30 * time.Second // a follower's lease, renewed every third of it
	watchEvery   = time.Second      // how often a job another process follows is read from the ledger
	maxBackoff   = time.Minute      // between tries while fal is unreachable
	sameAnswers  = 3                // the same 5xx answer this many times…
	sameAnswerIn = 30 * time.Second // …spread over at least this long is the job's own answer
	// resultRetention is how long fal keeps a result after the job ends
	// (§4.4: 1 h; large results less, and then fal answers 404 sooner).
	resultRetention = time.Hour
)

// followers starts and tracks the followers of one process.
type followers struct {
	s       *toolset
	ctx     context.Context // the server's lifetime
	owner   string          // this process's name in ledger leases
	slots   chan struct{}   // for adopted jobs
	backoff time.Duration   // the first retry delay

	mu     sync.Mutex
	active map[string]*follower
	wg     sync.WaitGroup
}

type follower struct {
	urgent chan struct{} // closed: someone waits; skip the adoption queue
	poke   chan struct{} // someone asks now: cut a retry delay short
	fresh  chan struct{} // closed once fal's (or the ledger's) state was read
	once   sync.Once
	fOnce  sync.Once
}

func (f *follower) hurry()     { f.once.Do(func() { close(f.urgent) }) }
func (f *follower) markFresh() { f.fOnce.Do(func() { close(f.fresh) }) }

func newFollowers(s *toolset, ctx context.Context) *followers {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	backoff := s.opts.RetryBackoff
	if backoff <= 0 {
		backoff = time.Second
	}
	host, _ := os.Hostname()
	owner := fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
	return &followers{s: s, ctx: ctx, owner: owner, slots: make(chan struct{}, maxAdopted),
		backoff: backoff, active: map[string]*follower{}}
}

// poke asks the job's follower, if it is waiting to retry, to try now.
func (fs *followers) poke(id string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f, ok := fs.active[id]; ok {
		select {
		case f.poke <- struct{}{}:
		default:
		}
	}
}

// ensure makes sure the job has a follower in this process and returns a
// channel closed once that follower has read the job's state. urgent jobs
// (someone waits on them, or this process submitted them) do not queue
// behind adopted ones.
func (fs *followers) ensure(id string, urgent bool) <-chan struct{} {
	return fs.start(id, urgent, nil)
}

// ensureOwn starts the follower of a job this process has just submitted:
// its lease came with the submit's record, so it follows at once.
func (fs *followers) ensureOwn(id string, durable <-chan struct{}) {
	fs.start(id, true, durable)
}

// start starts the job's follower unless it has one. leased, when not nil,
// says the job's lease came with its submit's record, closed once that is
// durable: the follower then follows without taking a lease.
func (fs *followers) start(id string, urgent bool, leased <-chan struct{}) <-chan struct{} {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f, ok := fs.active[id]; ok {
		if urgent {
			f.hurry()
		}
		return f.fresh
	}
	f := &follower{urgent: make(chan struct{}), fresh: make(chan struct{}), poke: make(chan struct{}, 1)}
	if urgent {
		f.hurry()
	}
	if fs.ctx.Err() != nil { // shutting down: nobody will follow
		f.markFresh()
		return f.fresh
	}
	fs.active[id] = f
	fs.wg.Add(1)
	go func() {
		defer fs.wg.Done()
		defer func() {
			fs.mu.Lock()
			delete(fs.active, id)
			fs.mu.Unlock()
			f.markFresh()
		}()
		fs.run(id, f, leased)
	}()
	return f.fresh
}

// adoptLoop adopts jobs no live process follows: at start-up and every
// rescanEvery, until ctx ends; then it waits for every follower.
func (fs *followers) adoptLoop() {
	defer fs.wg.Wait()
	ticker := time.NewTicker(rescanEvery)
	defer ticker.Stop()
	for {
		jobs, err := fs.s.jobs.adoptable(fs.ctx)
		if err != nil && fs.ctx.Err() == nil {
			fs.s.jobs.noteLedger("read", err)
		}
		for _, lj := range jobs {
			fs.ensure(lj.RequestID, false)
		}
		select {
		case <-fs.ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// run is one job's follower.
func (fs *followers) run(id string, f *follower, durable <-chan struct{}) {
	s := fs.s
	leased := durable != nil
	if leased {
		// Even when the server stops: a clean stop waits for the followers,
		// so fal's answer is written before the ledger closes — and the
		// lease that came with it is given back for the next process.
		<-durable
		if fs.ctx.Err() != nil && s.jobs.led != nil {
			lctx, cancel := s.jobs.ledgerCtx()
			defer cancel()
			_ = s.jobs.led.Release(lctx, id, fs.owner)
			return
		}
	}
	select { // adopted jobs wait for a slot, unless someone waits on them
	case <-f.urgent:
	default:
		select {
		case fs.slots <- struct{}{}:
			defer func() { <-fs.slots }()
		case <-f.urgent:
		case <-fs.ctx.Done():
			return
		}
	}
	for fs.ctx.Err() == nil {
		job, h, ok := s.jobs.get(id)
		if !ok || ledger.Settled(job.Status) {
			return
		}
		if s.jobs.led == nil {
			fs.follow(fs.ctx, id, h, f)
			return
		}
		got, err := leased, error(nil)
		if !leased {
			got, err = fs.lease(id)
			s.jobs.noteLedger("write", err)
		}
		leased = false
		if err != nil && fs.ctx.Err() == nil {
			// The ledger cannot take a lease (it is read-only or broken,
			// and says so): follow as if there were none rather than
			// leave the job unfollowed.
			s.jobs.setFollowed(id, true)
			fs.follow(fs.ctx, id, h, f)
			return
		}
		if got {
			fs.followLeased(id, h, f)
			continue // lost the lease, or the job ended: look again
		}
		// Another process follows it: watch the ledger while anyone here
		// waits on the job; an adopted job nobody waits on is left alone.
		select {
		case <-f.urgent:
		default:
			return
		}
		f.markFresh()
		sleep(fs.ctx, watchEvery, f.poke)
	}
}

// lease takes the job's lease: a free or expired one, or one whose holder
// is a process of this machine that has died (a crash leaves its leases
// behind; waiting for them to run out would leave its jobs unfollowed).
func (fs *followers) lease(id string) (bool, error) {
	led := fs.s.jobs.led
	got, err := led.Lease(fs.ctx, id, fs.owner, leaseTTL)
	if got || err != nil {
		return got, err
	}
	holder, _, err := led.LeaseHolder(fs.ctx, id)
	if errors.Is(err, ledger.ErrNotFound) {
		// The ledger lost the job's row (its write-ahead failed): follow
		// without a lease rather than never.
		return false, fmt.Errorf("job %s is not in the ledger: %w", id, err)
	}
	if err != nil || !deadHere(holder) {
		return false, nil
	}
	fs.s.opts.Logger.Info("taking over a job whose follower's process has died", "request_id", id, "from", holder)
	return led.TakeLease(fs.ctx, id, holder, fs.owner, leaseTTL)
}

// deadHere reports whether a lease holder ("host/pid/nonce") is a process
// of this machine that no longer runs.
func deadHere(holder string) bool {
	parts := strings.SplitN(holder, "/", 3)
	if len(parts) != 3 {
		return false
	}
	host, _ := os.Hostname()
	pid, err := strconv.Atoi(parts[1])
	if parts[0] != host || err != nil || pid == os.Getpid() {
		return false
	}
	return !processAlive(pid)
}

// followLeased follows the job while renewing its lease; it returns when
// the job ends, the lease is lost or the server stops.
func (fs *followers) followLeased(id string, h *falqueue.Handle, f *follower) {
	s := fs.s
	ctx, cancel := context.WithCancel(fs.ctx)
	defer cancel()
	s.jobs.setFollowed(id, true)
	defer s.jobs.setFollowed(id, false)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(leaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			got, err := s.jobs.led.Lease(ctx, id, fs.owner, leaseTTL)
			if ctx.Err() != nil {
				return
			}
			s.jobs.noteLedger("write", err)
			if err == nil && !got {
				s.opts.Logger.Warn("another process took over following a job", "request_id", id)
				cancel()
				return
			}
		}
	}()
	fs.follow(ctx, id, h, f)
	cancel()
	<-renewed
	if job, _, _ := s.jobs.get(id); !ledger.Settled(job.Status) {
		lctx, lcancel := s.jobs.ledgerCtx()
		defer lcancel()
		_ = s.jobs.led.Release(lctx, id, fs.owner)
	}
}

// follow follows the job on fal until it ends (and its end is recorded)
// or ctx ends, retrying with backoff while fal cannot be reached.
func (fs *followers) follow(ctx context.Context, id string, h *falqueue.Handle, f *follower) {
	s := fs.s
	s.opts.Logger.Debug("following a job until it ends", "request_id", id, "endpoint_id", h.EndpointID)
	delay := fs.backoff
	for ctx.Err() == nil {
		st, err := s.opts.Fal.Wait(ctx, h, func(u falqueue.Update) {
			s.apply(id, u.Status, u.NewLogs)
			if !u.Status.Done() { // a done job is fresh once its end is recorded
				f.markFresh()
			}
		})
		if err == nil {
			fs.settle(ctx, id, h, st, f)
			return
		}
		if errors.Is(err, falqueue.ErrNotFound) {
			s.jobs.end(id, ledger.End{Status: StatusFailed, FetchFailed: true,
				Error: "fal no longer knows this request: it expired before its result was captured"}, nil)
			return
		}
		if ctx.Err() != nil {
			return
		}
		f.markFresh()
		s.jobs.note(id, fmt.Sprintf("fal could not be reached just now (%v); the server keeps following the job", err))
		s.opts.Logger.Warn("following a job: fal unreachable; will retry", "request_id", id, "in", delay, "err", err)
		if !sleep(ctx, delay, f.poke) {
			return
		}
		delay = min(delay*2, maxBackoff)
	}
}

// apply records a status seen on fal.
func (s *toolset) apply(id string, st *falqueue.Status, newLogs []falqueue.Log) Job {
	return s.jobs.update(id, func(j *Job, logs *[]string) {
		switch st.State {
		case falqueue.StateInQueue:
			j.Status, j.QueuePosition = StatusQueued, st.QueuePosition
		case falqueue.StateInProgress, falqueue.StateCompleted:
			j.Status, j.QueuePosition = StatusRunning, nil
		}
		for _, l := range newLogs {
			*logs = append(*logs, l.Message)
		}
	})
}

// settle records the end of a job fal reports done. Only fal ends a job:
//   - a status with an error, or a result answer that is the model's own
//     error (a 4xx with a detail, or the same 5xx answer sameAnswers times
//     over sameAnswerIn while the status stays COMPLETED), is a failure;
//   - anything else that keeps the result from being read (the network, a
//     429, the ingress's pages, a single 5xx) is retried with backoff until
//     fal's result retention is over; only then is the job failed, saying
//     that its result could not be fetched and why. Such a failure is
//     replaced if the result is fetched later.
func (fs *followers) settle(ctx context.Context, id string, h *falqueue.Handle, st *falqueue.Status, f *follower) {
	s := fs.s
	if st.Failed() {
		// fal replays the model's answer as the result: its detail is the
		// most precise reason; the status's error stands in when the
		// result cannot be read.
		_, err := s.opts.Fal.Result(ctx, h)
		if !modelAnswer(err) && !falAnswer(err) {
			err = nil
		}
		status := StatusFailed
		if st.ErrorType == "client_cancelled" {
			status = StatusCancelled
		}
		s.jobs.end(id, ledger.End{Status: status, Error: failureDetail(st, err)}, nil)
		fs.ended(id)
		return
	}
	var (
		delay     = fs.backoff
		deadline  = s.now().Add(resultRetention)
		same      string
		sameCount int
		sameSince time.Time
	)
	for ctx.Err() == nil {
		res, err := s.opts.Fal.Result(ctx, h)
		if err == nil {
			job, _, _ := s.jobs.get(id)
			out := decodeOutput(job.EndpointID, res.Data)
			s.jobs.end(id, ledger.End{Status: StatusCompleted, Result: out}, outputFiles(out))
			fs.ended(id)
			return
		}
		if ctx.Err() != nil {
			return
		}
		var ae *falqueue.APIError
		switch {
		case errors.Is(err, falqueue.ErrNotFound):
			s.jobs.end(id, ledger.End{Status: StatusFailed, FetchFailed: true, Error: "fal reported the job completed, but its result " +
				"could not be fetched before fal's retention ended (fal answered 404: it no longer has the result)"}, nil)
			return
		case modelAnswer(err):
			s.jobs.end(id, ledger.End{Status: StatusFailed, Error: failureDetail(st, err)}, nil)
			return
		case falAnswer(err) && errors.As(err, &ae):
			// fal's own 5xx: the model's answer if it stays the same.
			sig := fmt.Sprintf("%d %s", ae.StatusCode, ae.Body)
			if sig != same {
				same, sameCount, sameSince = sig, 0, s.now()
			}
			sameCount++
			if sameCount >= sameAnswers && s.now().Sub(sameSince) >= sameAnswerIn && fs.stillCompleted(ctx, h) {
				s.jobs.end(id, ledger.End{Status: StatusFailed, Error: failureDetail(st, err)}, nil)
				return
			}
		default:
			same, sameCount = "", 0
		}
		if !s.now().Before(deadline) {
			s.jobs.end(id, ledger.End{Status: StatusFailed, FetchFailed: true, Error: fmt.Sprintf("fal reported the job completed, but "+
				"its result could not be fetched before fal's retention ended (%v)", err)}, nil)
			return
		}
		s.jobs.note(id, fmt.Sprintf(`fal reports the job finished, but its output could not be fetched just now (%v); the server `+
			`keeps trying: call job_result with {"request_id": %q} again in a while`, err, id))
		f.markFresh()
		s.opts.Logger.Warn("could not fetch a finished job's output; will retry", "request_id", id, "in", delay, "err", err)
		if !sleep(ctx, delay, f.poke) {
			return
		}
		delay = min(delay*2, maxBackoff)
	}
}

// stillCompleted reads the status once: a job whose result keeps failing
// the same way is failed only while fal still says it completed.
func (fs *followers) stillCompleted(ctx context.Context, h *falqueue.Handle) bool {
	st, err := fs.s.opts.Fal.Status(ctx, h, false)
	return err == nil && st.Done() && !st.Failed()
}

// ended runs what follows a job's end: saving its outputs with --download.
func (fs *followers) ended(id string) {
	s := fs.s
	if !s.opts.DownloadAlways || s.opts.Output == nil {
		return
	}
	job, _, _ := s.jobs.get(id)
	if job.Status != StatusCompleted {
		return
	}
	if err := s.saveOutputs(fs.ctx, &job); err != nil {
		s.opts.Logger.Warn("saving a job's outputs failed", "request_id", id, "err", err)
	}
}

// modelAnswer reports whether a result error is the model's own answer:
// a 4xx with a detail, other than those about the key, the account, a
// lost request or the rate.
func modelAnswer(err error) bool {
	var ae *falqueue.APIError
	if !errors.As(err, &ae) || ae.StatusCode < 400 || ae.StatusCode >= 500 || len(ae.Body) == 0 {
		return false
	}
	switch ae.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusRequestTimeout, http.StatusTooManyRequests:
		return false
	}
	return true
}

// falAnswer reports whether a result error is a 5xx answer of fal's own (a
// JSON body; the ingress answers with an HTML page or nothing).
func falAnswer(err error) bool {
	var ae *falqueue.APIError
	return errors.As(err, &ae) && ae.StatusCode >= 500 && len(ae.Body) > 0 && !ae.UserTimeout()
}

// sleep waits d, or less if poked; it reports false when ctx ended.
func sleep(ctx context.Context, d time.Duration, poke <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-poke:
	}
	return true
}

// decodeOutput keeps the output as the endpoint's output struct describes
// it, so the result matches the tool's output schema; an output the struct
// cannot hold (a seed beyond int64, a field of a surprising type) is pruned
// to the schema instead. An endpoint outside the catalog keeps fal's JSON
// as it is.
func decodeOutput(endpointID string, data json.RawMessage) json.RawMessage {
	row, ok := schemas.Lookup(endpointID)
	if !ok {
		return data
	}
	out := row.NewOutput()
	if err := json.Unmarshal(data, out); err != nil {
		return conformOutput(data, row.Output)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return data
	}
	return b
}

// failureDetail is fal's own words for a failure: the result's detail when
// fal replayed one (a validation error's fields as "field: message"
// lines), else the status's error.
func failureDetail(st *falqueue.Status, resErr error) string {
	var ve *falqueue.ValidationError
	var ae *falqueue.APIError
	switch {
	case errors.As(resErr, &ve) && len(ve.Fields) > 0:
		var b []byte
		for i, f := range ve.Fields {
			if i > 0 {
				b = append(b, '\n')
			}
			b = append(b, f.String()...)
		}
		return string(b)
	case errors.As(resErr, &ae) && len(ae.Body) > 0:
		var body struct {
			Detail json.RawMessage `json:"detail"`
		}
		if json.Unmarshal(ae.Body, &body) == nil && len(body.Detail) > 0 {
			var text string
			if json.Unmarshal(body.Detail, &text) == nil {
				return text
			}
			return string(body.Detail)
		}
		return ae.Message
	case st != nil && st.Error != "":
		return st.Error
	case resErr != nil:
		return resErr.Error()
	}
	return "the job failed without a reason from fal"
}
