package tools

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
)

// Result capture: while the server runs it follows every unfinished job in
// the ledger — its own, a previous run's, another process's — and stores
// the result the moment the job completes, so job_result can answer after
// fal has dropped it (1 h, 6 min for large results).
const (
	maxFollowers = 4                // jobs followed at once
	rescanEvery  = 15 * time.Second // look for other processes' jobs
	maxBackoff   = time.Minute      // between tries while fal is unreachable
)

func (s *toolset) wakeFollowers() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// runFollowers runs until ctx ends, then waits for its followers.
func (s *toolset) runFollowers(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, maxFollowers)
	var mu sync.Mutex
	following := map[string]bool{}
	ticker := time.NewTicker(rescanEvery)
	defer ticker.Stop()
	for {
		jobs, err := s.jobs.unfinished(ctx)
		if err != nil && ctx.Err() == nil {
			s.opts.Logger.Warn("job ledger: cannot list unfinished jobs", "err", err)
		}
		s.opts.Logger.Debug("job followers: unfinished jobs in the ledger", "count", len(jobs))
		for _, lj := range jobs {
			mu.Lock()
			busy := following[lj.RequestID]
			following[lj.RequestID] = true
			mu.Unlock()
			if busy {
				continue
			}
			wg.Add(1)
			go func(id string) {
				defer wg.Done()
				defer func() { mu.Lock(); delete(following, id); mu.Unlock() }()
				select {
				case slots <- struct{}{}:
				case <-ctx.Done():
					return
				}
				defer func() { <-slots }()
				s.capture(ctx, id)
			}(lj.RequestID)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-ticker.C:
		}
	}
}

// capture follows one job to its end and records it, retrying with
// backoff while fal cannot be reached.
func (s *toolset) capture(ctx context.Context, id string) {
	job, h, ok := s.jobs.get(id)
	if !ok || finished(job.Status) {
		return
	}
	s.opts.Logger.Debug("following a job until it ends", "request_id", id, "endpoint_id", job.EndpointID)
	delay := time.Second
	for ctx.Err() == nil {
		st, err := s.opts.Fal.Wait(ctx, h, func(u falqueue.Update) { s.apply(id, u.Status, u.NewLogs) })
		if err == nil {
			if job := s.finish(ctx, h, st); finished(job.Status) || ctx.Err() != nil {
				return
			}
			err = errors.New("the job ended but its output could not be fetched")
		}
		if errors.Is(err, falqueue.ErrNotFound) {
			s.jobs.update(id, func(j *Job, _ *[]string) {
				j.Status = StatusFailed
				j.Error = "fal no longer knows this request (it may have expired before its result was captured)"
			})
			return
		}
		if ctx.Err() != nil {
			return
		}
		s.opts.Logger.Warn("following a job: fal unreachable; will retry", "request_id", id, "in", delay, "err", err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(delay*2, maxBackoff)
	}
}
