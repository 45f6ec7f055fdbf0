package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/tools/ledger"
)

// record is what this process knows of one job.
type record struct {
	job     Job
	handle  *falqueue.Handle
	logs    []string      // every line seen, oldest first (the Job carries the last few)
	changed chan struct{} // closed and replaced on every change
	dirty   bool          // progress not yet written to the ledger
	saved   savedState    // what the ledger was last given
	// followed: this process's follower owns the job, so memory is the
	// truth; otherwise the ledger is, and get reads it again.
	followed bool
}

// jobStore holds the jobs this process knows, in memory, and writes them to
// the ledger when there is one, so they outlive the process and other
// processes see them. No lock is held across ledger I/O: progress is
// coalesced and written by one flusher; ends and submits are written by
// the goroutine that saw them.
type jobStore struct {
	mu    sync.Mutex
	byID  map[string]*record
	order []*record
	led   *ledger.Ledger   // nil: memory only
	fal   *falqueue.Client // rehomes the handles read from the ledger; nil: as stored
	log   *slog.Logger
	ended func(Job) // called once when a job ends, outside the lock
	kick  chan struct{}
	// answered maps the local ids of this process's submits to fal's
	// request ids, for the moment before the ledger has the answer.
	answered map[string]string

	problemMu sync.Mutex
	problem   string // why the ledger is failing now; "" while it works
}

// savedState is a job's progress as last written to the ledger.
type savedState struct {
	status   string
	position *int
	logs     int
}

func newJobStore(led *ledger.Ledger, log *slog.Logger, ended func(Job)) *jobStore {
	return &jobStore{byID: map[string]*record{}, answered: map[string]string{}, led: led, log: log, ended: ended, kick: make(chan struct{}, 1)}
}

// ledgerTimeout bounds one ledger write or read.
const ledgerTimeout = 15 * time.Second

// flushEvery is the longest a job's progress waits before it is written
// to the ledger: status changes and log lines in between are coalesced.
const flushEvery = 250 * time.Millisecond

func (s *jobStore) ledgerCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), ledgerTimeout)
}

// noteLedger records how the last ledger operation went: a failure makes
// every job tool say that job history is unavailable, until a write works
// again.
func (s *jobStore) noteLedger(what string, err error) {
	s.problemMu.Lock()
	defer s.problemMu.Unlock()
	if err == nil {
		s.problem = ""
		return
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	s.problem = fmt.Sprintf("the job ledger %s failed: %v", what, err)
	s.log.Warn("job ledger: "+what+" failed", "err", err)
}

// ledgerProblem says why job history is unavailable right now, or "":
// the ledger's file is gone or replaced (ledger.Health), or its last
// operation failed.
func (s *jobStore) ledgerProblem() string {
	if s.led != nil {
		if err := s.led.Health(); err != nil {
			return err.Error()
		}
	}
	s.problemMu.Lock()
	defer s.problemMu.Unlock()
	return s.problem
}

func (s *jobStore) put(j Job, h *falqueue.Handle, followed bool) *record {
	r := &record{job: j, handle: h, changed: make(chan struct{}), followed: followed}
	s.byID[j.RequestID] = r
	s.order = append(s.order, r)
	return r
}

// prepare records a job before its submit leaves the process: under its
// local id, with status unknown, in memory and in the ledger. With a cap
// (--budget), a job the ledger finds over it is not recorded and the
// error matches ledger.ErrOverBudget; other ledger failures are noted.
func (s *jobStore) prepare(j Job, input json.RawMessage, budget *ledger.SpendCap) error {
	s.mu.Lock()
	s.put(j, nil, true)
	s.mu.Unlock()
	if s.led == nil {
		return nil
	}
	ctx, cancel := s.ledgerCtx()
	defer cancel()
	err := s.led.Prepare(ctx, ledger.Job{LocalID: j.RequestID, EndpointID: j.EndpointID, Tool: j.Tool, Input: input,
		DryRun: j.DryRun, SubmittedAt: j.SubmittedAt, EstimatedCostUSD: j.EstimatedCostUSD, CostBasis: j.CostBasis, InputHash: j.inputHash,
		DedupeSince: j.dedupeSince, Cap: budget})
	var dup *ledger.DuplicateError
	if errors.Is(err, ledger.ErrOverBudget) || errors.As(err, &dup) {
		s.mu.Lock()
		s.forget(j.RequestID)
		s.mu.Unlock()
		return err
	}
	s.noteLedger("write", err)
	return nil
}

// submitted records fal's answer to a prepared submit: the job takes fal's
// request id, is queued, and is leased to owner (this process's followers).
// The caller goes on at once; started gets a channel closed once the answer
// is durable in the ledger, and the job's follower waits for it before it
// follows (so a job is never followed, nor its end written, before its
// request id is recorded). A crash before then leaves the job unknown, its
// row and input kept.
func (s *jobStore) submitted(localID string, h *falqueue.Handle, owner string, started func(id string, durable <-chan struct{})) Job {
	s.mu.Lock()
	r := s.byID[localID]
	delete(s.byID, localID)
	r.job.RequestID, r.job.Status, r.job.Input = h.RequestID, StatusQueued, nil
	r.job.UpdatedAt = time.Now().UTC()
	r.handle = h
	s.byID[h.RequestID] = r
	s.answered[localID] = h.RequestID
	job := r.job
	s.mu.Unlock()
	durable := make(chan struct{})
	if s.led == nil {
		close(durable)
	} else {
		go func() {
			defer close(durable)
			ctx, cancel := s.ledgerCtx()
			defer cancel()
			s.noteLedger("write", s.led.Submitted(ctx, localID, ledger.Job{RequestID: h.RequestID, StatusURL: h.StatusURL,
				ResponseURL: h.ResponseURL, CancelURL: h.CancelURL}, owner, leaseTTL))
		}()
	}
	started(job.RequestID, durable)
	return job
}

// lost records why a prepared submit's outcome is unknown.
func (s *jobStore) lost(localID, reason string) Job {
	s.mu.Lock()
	r := s.byID[localID]
	r.job.Error = reason
	job := r.job
	s.mu.Unlock()
	if s.led != nil {
		ctx, cancel := s.ledgerCtx()
		defer cancel()
		s.noteLedger("write", s.led.SubmitLost(ctx, localID, reason))
	}
	return job
}

// discard forgets a prepared submit that fal refused for certain.
func (s *jobStore) discard(localID string) {
	s.mu.Lock()
	s.forget(localID)
	s.mu.Unlock()
	if s.led != nil {
		ctx, cancel := s.ledgerCtx()
		defer cancel()
		s.noteLedger("write", s.led.Discard(ctx, localID))
	}
}

// forget drops a job from memory; the caller holds s.mu.
func (s *jobStore) forget(id string) {
	delete(s.byID, id)
	for i, r := range s.order {
		if r.job.RequestID == id {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
}

// adopt records a job found on fal by its endpoint id (submitted elsewhere)
// and returns it as recorded: a job already known is kept as it is.
func (s *jobStore) adopt(j Job, h *falqueue.Handle) Job {
	s.mu.Lock()
	if r, ok := s.byID[j.RequestID]; ok {
		defer s.mu.Unlock()
		return r.job
	}
	s.put(j, h, false)
	s.mu.Unlock()
	if s.led != nil {
		ctx, cancel := s.ledgerCtx()
		defer cancel()
		err := s.led.Insert(ctx, ledger.Job{RequestID: j.RequestID, EndpointID: j.EndpointID, Tool: j.Tool, Status: j.Status,
			Input: json.RawMessage(`{}`), StatusURL: h.StatusURL, ResponseURL: h.ResponseURL, CancelURL: h.CancelURL,
			DryRun: j.DryRun, SubmittedAt: j.SubmittedAt})
		s.noteLedger("write", err)
	}
	return j
}

// get returns a copy of a job and its handle. A job this process follows
// is answered from memory; any other is read from the ledger again, since
// another process may have moved it on.
func (s *jobStore) get(id string) (Job, *falqueue.Handle, bool) {
	s.mu.Lock()
	if rid, ok := s.answered[id]; ok { // a local id whose answer came here: the ledger may not have it yet
		id = rid
	}
	r, ok := s.byID[id]
	if ok && (r.followed || s.led == nil || ledger.Settled(r.job.Status)) {
		defer s.mu.Unlock()
		return r.job, r.handle, true
	}
	s.mu.Unlock()
	if s.led == nil {
		return Job{}, nil, false
	}
	ctx, cancel := s.ledgerCtx()
	defer cancel()
	lj, err := s.led.Get(ctx, id)
	if err != nil {
		if !errors.Is(err, ledger.ErrNotFound) {
			s.noteLedger("read", err)
		}
		if ok { // known here: answer what is known
			s.mu.Lock()
			defer s.mu.Unlock()
			return r.job, r.handle, true
		}
		return Job{}, nil, false
	}
	return s.refreshFrom(lj)
}

// refreshFrom brings this process's copy of a job up to the ledger's,
// unless this process follows it (then memory is newer).
func (s *jobStore) refreshFrom(lj ledger.Job) (Job, *falqueue.Handle, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.byID[lj.RequestID]
	if ok && r.followed {
		return r.job, r.handle, true
	}
	job := fromLedger(lj)
	h := &falqueue.Handle{EndpointID: lj.EndpointID, RequestID: lj.RequestID,
		StatusURL: lj.StatusURL, ResponseURL: lj.ResponseURL, CancelURL: lj.CancelURL}
	if s.fal != nil && lj.StatusURL != "" {
		// The queue may have moved since (another FAL_QUEUE_URL): the job
		// is followed wherever the configured queue is now. (A job with
		// no URLs never had fal's answer: it has nothing to follow.)
		var moved bool
		if h, moved = s.fal.Rehome(h); moved && !ok {
			s.log.Info("the job's URLs are on a queue host no longer configured; following it on the configured one",
				"request_id", lj.RequestID, "stored_status_url", lj.StatusURL, "now", h.StatusURL)
		}
	}
	if !ok {
		r = s.put(job, h, false)
		r.logs = lj.Logs
		return job, h, true
	}
	if changedFrom(r.job, job) {
		r.job, r.logs = job, lj.Logs
		close(r.changed)
		r.changed = make(chan struct{})
	}
	return r.job, r.handle, true
}

func changedFrom(a, b Job) bool {
	return a.Status != b.Status || !a.UpdatedAt.Equal(b.UpdatedAt) || len(a.Logs) != len(b.Logs) ||
		!ptrEqual(a.QueuePosition, b.QueuePosition)
}

func ptrEqual(a, b *int) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }

func fromLedger(lj ledger.Job) Job {
	j := Job{RequestID: lj.RequestID, EndpointID: lj.EndpointID, Tool: lj.Tool, Status: lj.Status, QueuePosition: lj.QueuePosition,
		SubmittedAt: lj.SubmittedAt.UTC(), UpdatedAt: lj.UpdatedAt.UTC(), Error: lj.Error, Result: lj.Result, DryRun: lj.DryRun,
		fetchFailed: lj.FetchFailed, EstimatedCostUSD: lj.EstimatedCostUSD, CostBasis: lj.CostBasis, inputHash: lj.InputHash}
	j.Logs = lastLogs(lj.Logs)
	if !lj.CompletedAt.IsZero() {
		t := lj.CompletedAt.UTC()
		j.CompletedAt = &t
	}
	if len(j.Result) > 0 {
		j.Files = outputFiles(j.Result)
		for i := range j.Files {
			j.Files[i].LocalPath = lj.Saved[j.Files[i].URL]
		}
	}
	if lj.Status == StatusUnknown {
		j.Input = lj.Input
	}
	return j
}

func lastLogs(logs []string) []string {
	if n := len(logs); n > recentLogs {
		logs = logs[n-recentLogs:]
	}
	if len(logs) == 0 {
		return nil
	}
	return append([]string(nil), logs...)
}

// watch returns a job as this process knows it, the log lines after the
// first seen, how many lines there are in all, and a channel closed at its
// next change.
func (s *jobStore) watch(id string, seen int) (job Job, fresh []string, total int, changed <-chan struct{}, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.byID[id]
	if !ok {
		return Job{}, nil, 0, nil, false
	}
	if seen < len(r.logs) {
		fresh = append([]string(nil), r.logs[max(seen, 0):]...)
	}
	return r.job, fresh, len(r.logs), r.changed, true
}

// isFollowed reports whether this process's follower owns the job.
func (s *jobStore) isFollowed(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.byID[id]
	return ok && r.followed
}

// setFollowed marks whether this process's follower owns the job.
func (s *jobStore) setFollowed(id string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.byID[id]; ok {
		r.followed = on
	}
}

// update changes a running job in memory; the ledger gets the change with
// the next flush. A job that has ended keeps its end (see end).
func (s *jobStore) update(id string, fn func(j *Job, logs *[]string)) Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.byID[id]
	if !ok {
		return Job{}
	}
	if ledger.Settled(r.job.Status) {
		return r.job
	}
	fn(&r.job, &r.logs)
	r.job.Logs = lastLogs(r.logs)
	r.job.UpdatedAt = time.Now().UTC()
	r.dirty = true
	close(r.changed)
	r.changed = make(chan struct{})
	select {
	case s.kick <- struct{}{}:
	default:
	}
	return r.job
}

// note sets the job's hint of what happens next (not written anywhere).
func (s *jobStore) note(id, next string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.byID[id]; ok {
		r.job.Next = next
		close(r.changed)
		r.changed = make(chan struct{})
	}
}

// end records how a job ended, in memory and (synchronously) in the
// ledger. The first end wins, except that a captured result replaces a
// failure recorded only because the result could not be fetched.
func (s *jobStore) end(id string, e ledger.End, files []OutputFile) Job {
	now := time.Now().UTC()
	s.mu.Lock()
	r, ok := s.byID[id]
	if !ok {
		s.mu.Unlock()
		return Job{}
	}
	replace := r.job.Status == StatusFailed && r.job.fetchFailed && e.Status == StatusCompleted
	if ledger.Settled(r.job.Status) && !replace {
		defer s.mu.Unlock()
		return r.job
	}
	j := &r.job
	j.Status, j.QueuePosition, j.CompletedAt, j.UpdatedAt = e.Status, nil, &now, now
	j.Result, j.Error, j.Files, j.Next, j.fetchFailed = e.Result, e.Error, files, "", e.FetchFailed
	j.Logs = lastLogs(r.logs)
	e.Logs = append([]string(nil), r.logs...)
	r.dirty = false
	close(r.changed)
	r.changed = make(chan struct{})
	job := r.job
	s.mu.Unlock()

	// Callers waiting on the job have seen the end (memory); the ledger
	// makes it durable right after, and then OnJobEnd hears of it.
	if s.led != nil {
		ctx, cancel := s.ledgerCtx()
		defer cancel()
		s.noteLedger("write", s.led.Finish(ctx, id, e))
	}
	if s.ended != nil && !replace {
		s.ended(job)
	}
	return job
}

// saved records where a job's output files were saved.
func (s *jobStore) saved(id string, files []OutputFile) {
	paths := map[string]string{}
	s.mu.Lock()
	if r, ok := s.byID[id]; ok {
		r.job.Files = files
	}
	s.mu.Unlock()
	for _, f := range files {
		if f.LocalPath != "" {
			paths[f.URL] = f.LocalPath
		}
	}
	if s.led != nil && len(paths) > 0 {
		ctx, cancel := s.ledgerCtx()
		defer cancel()
		s.noteLedger("write", s.led.SaveFiles(ctx, id, paths))
	}
}

// flush runs until ctx ends: it writes the progress of running jobs to the
// ledger, at most once per flushEvery, all jobs in one transaction.
func (s *jobStore) flush(ctx context.Context) {
	if s.led == nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			s.flushOnce()
			return
		case <-s.kick:
		}
		t := time.NewTimer(flushEvery) // let more changes gather
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		s.flushOnce()
	}
}

func (s *jobStore) flushOnce() {
	if s.led == nil {
		return
	}
	var ps []ledger.Progress
	s.mu.Lock()
	for _, r := range s.byID {
		if !r.dirty {
			continue
		}
		r.dirty = false
		p := ledger.Progress{RequestID: r.job.RequestID, Status: r.job.Status, QueuePosition: r.job.QueuePosition,
			StatusChanged: r.saved.status != r.job.Status || !ptrEqual(r.saved.position, r.job.QueuePosition)}
		if len(r.logs) != r.saved.logs {
			p.Logs = append([]string(nil), r.logs...)
		}
		r.saved = savedState{r.job.Status, r.job.QueuePosition, len(r.logs)}
		ps = append(ps, p)
	}
	s.mu.Unlock()
	if len(ps) == 0 {
		return
	}
	ctx, cancel := s.ledgerCtx()
	defer cancel()
	s.noteLedger("write", s.led.SaveProgress(ctx, ps))
}

// list returns jobs newest first, filtered: the ledger's view when there
// is one (every process's jobs), else this process's. The error says why
// the ledger could not answer (the list is then this process's).
func (s *jobStore) list(status, endpointID string, limit int) ([]Job, error) {
	var lerr error
	if s.led != nil {
		ctx, cancel := s.ledgerCtx()
		defer cancel()
		ljs, err := s.led.List(ctx, ledger.Filter{Status: status, EndpointID: endpointID, Limit: limit})
		if err == nil {
			out := make([]Job, 0, len(ljs))
			for _, lj := range ljs {
				out = append(out, fromLedger(lj))
			}
			return out, nil
		}
		s.noteLedger("read", err)
		lerr = err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Job
	for i := len(s.order) - 1; i >= 0 && len(out) < limit; i-- {
		j := s.order[i].job
		if (status == "" || j.Status == status) && (endpointID == "" || j.EndpointID == endpointID) {
			out = append(out, j)
		}
	}
	return out, lerr
}

// recentIDs lists the request ids of the newest few jobs.
func (s *jobStore) recentIDs(n int) string {
	jobs, _ := s.list("", "", n)
	var ids []string
	for _, j := range jobs {
		ids = append(ids, fmt.Sprintf("%s (%s, %s)", j.RequestID, j.Tool, j.Status))
	}
	return strings.Join(ids, ", ")
}

// adoptable lists the ledger's jobs that can still change on fal and that
// no live process follows: those other processes submitted, a previous run
// left, or a process of this machine that died was following.
func (s *jobStore) adoptable(ctx context.Context) ([]ledger.Job, error) {
	if s.led == nil {
		return nil, nil
	}
	jobs, err := s.led.List(ctx, ledger.Filter{Unfinished: true, Limit: 1000})
	now := time.Now()
	out := jobs[:0]
	for _, j := range jobs {
		if j.LeaseOwner == "" || now.After(j.LeaseUntil) || deadHere(j.LeaseOwner) {
			out = append(out, j)
		}
	}
	return out, err
}
