package tools

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/tools/ledger"
)

// record is what the server knows of one job.
type record struct {
	job    Job
	handle *falqueue.Handle
	logs   []string // every line seen, oldest first (the Job carries the last few)
}

// jobStore holds the jobs this server knows: in memory, written through
// to the ledger when there is one, so they outlive the process.
type jobStore struct {
	mu    sync.Mutex
	byID  map[string]*record
	order []*record
	led   *ledger.Ledger // nil: memory only
	log   *slog.Logger
	ended func(Job) // called once when a job ends, outside the lock
}

func newJobStore(led *ledger.Ledger, log *slog.Logger, ended func(Job)) *jobStore {
	return &jobStore{byID: map[string]*record{}, led: led, log: log, ended: ended}
}

// ledgerTimeout bounds one ledger write or read.
const ledgerTimeout = 15 * time.Second

func (s *jobStore) ledgerCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), ledgerTimeout)
}

// add records a job; a job already known is kept as it is.
func (s *jobStore) add(j Job, h *falqueue.Handle, input json.RawMessage) Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.byID[j.RequestID]; ok {
		return r.job
	}
	r := &record{job: j, handle: h}
	s.byID[j.RequestID] = r
	s.order = append(s.order, r)
	if s.led != nil {
		if input == nil {
			input = json.RawMessage(`{}`)
		}
		ctx, cancel := s.ledgerCtx()
		defer cancel()
		err := s.led.Insert(ctx, ledger.Job{RequestID: j.RequestID, EndpointID: j.EndpointID, Tool: j.Tool, Status: j.Status,
			Input: input, StatusURL: h.StatusURL, ResponseURL: h.ResponseURL, CancelURL: h.CancelURL, DryRun: j.DryRun, SubmittedAt: j.SubmittedAt})
		if err != nil {
			s.log.Warn("job ledger: could not record the job", "request_id", j.RequestID, "err", err)
		}
	}
	return j
}

// get returns a copy of a job and its handle, from memory or the ledger.
func (s *jobStore) get(id string) (Job, *falqueue.Handle, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.byID[id]; ok {
		return r.job, r.handle, true
	}
	if s.led == nil {
		return Job{}, nil, false
	}
	ctx, cancel := s.ledgerCtx()
	defer cancel()
	lj, err := s.led.Get(ctx, id)
	if err != nil {
		if !errors.Is(err, ledger.ErrNotFound) {
			s.log.Warn("job ledger: read failed", "request_id", id, "err", err)
		}
		return Job{}, nil, false
	}
	r := &record{job: fromLedger(lj), handle: &falqueue.Handle{EndpointID: lj.EndpointID, RequestID: lj.RequestID,
		StatusURL: lj.StatusURL, ResponseURL: lj.ResponseURL, CancelURL: lj.CancelURL}}
	s.byID[id] = r
	return r.job, r.handle, true
}

func fromLedger(lj ledger.Job) Job {
	j := Job{RequestID: lj.RequestID, EndpointID: lj.EndpointID, Tool: lj.Tool, Status: lj.Status, QueuePosition: lj.QueuePosition,
		SubmittedAt: lj.SubmittedAt.UTC(), UpdatedAt: lj.UpdatedAt.UTC(), Error: lj.Error, Result: lj.Result, DryRun: lj.DryRun}
	if !lj.CompletedAt.IsZero() {
		t := lj.CompletedAt.UTC()
		j.CompletedAt = &t
	}
	if len(j.Result) > 0 {
		j.Files = outputFiles(j.Result)
	}
	return j
}

// update changes a job; an ended job keeps its end. The change is written
// to the ledger; the first end recorded there wins.
func (s *jobStore) update(id string, fn func(j *Job, logs *[]string)) Job {
	if _, _, ok := s.get(id); !ok {
		return Job{}
	}
	s.mu.Lock()
	r := s.byID[id]
	if finished(r.job.Status) {
		defer s.mu.Unlock()
		return r.job
	}
	before := len(r.logs)
	fn(&r.job, &r.logs)
	if n := len(r.logs); n > recentLogs {
		r.job.Logs = append([]string(nil), r.logs[n-recentLogs:]...)
	} else {
		r.job.Logs = append([]string(nil), r.logs...)
	}
	r.job.UpdatedAt = time.Now().UTC()
	job := r.job
	var detail string
	if len(r.logs) > before {
		detail = r.logs[len(r.logs)-1]
	}
	s.mu.Unlock()

	if s.led != nil {
		ctx, cancel := s.ledgerCtx()
		defer cancel()
		var err error
		if finished(job.Status) {
			err = s.led.Finish(ctx, id, job.Status, job.Result, job.Error)
		} else {
			err = s.led.Update(ctx, id, job.Status, job.QueuePosition, detail)
		}
		if err != nil {
			s.log.Warn("job ledger: could not record a status", "request_id", id, "err", err)
		}
	}
	if finished(job.Status) && s.ended != nil {
		s.ended(job)
	}
	return job
}

// list returns jobs newest first, filtered: the ledger's view when there
// is one (every process's jobs), else this process's.
func (s *jobStore) list(status, endpointID string, limit int) []Job {
	if s.led != nil {
		ctx, cancel := s.ledgerCtx()
		defer cancel()
		ljs, err := s.led.List(ctx, ledger.Filter{Status: status, EndpointID: endpointID, Limit: limit})
		if err == nil {
			out := make([]Job, 0, len(ljs))
			for _, lj := range ljs {
				out = append(out, fromLedger(lj))
			}
			return out
		}
		s.log.Warn("job ledger: list failed; answering from memory", "err", err)
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
	return out
}

// unfinished lists the ledger's jobs that have not ended (any process's).
func (s *jobStore) unfinished(ctx context.Context) ([]ledger.Job, error) {
	if s.led == nil {
		return nil, nil
	}
	return s.led.List(ctx, ledger.Filter{Unfinished: true, Limit: 1000})
}
