package tools

import (
	"sync"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
)

// record is what the server knows of one job.
type record struct {
	job    Job
	handle *falqueue.Handle
	logs   []string // every line seen, oldest first (the Job carries the last few)
}

// jobStore holds the jobs this server knows, in memory.
type jobStore struct {
	mu    sync.Mutex
	byID  map[string]*record
	order []*record
}

func newJobStore() *jobStore { return &jobStore{byID: map[string]*record{}} }

// add records a job; a job already known is kept as it is.
func (s *jobStore) add(j Job, h *falqueue.Handle) Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.byID[j.RequestID]; ok {
		return r.job
	}
	r := &record{job: j, handle: h}
	s.byID[j.RequestID] = r
	s.order = append(s.order, r)
	return j
}

// get returns a copy of a job and its handle.
func (s *jobStore) get(id string) (Job, *falqueue.Handle, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.byID[id]
	if !ok {
		return Job{}, nil, false
	}
	return r.job, r.handle, true
}

// update changes a job under the lock; an ended job keeps its end.
func (s *jobStore) update(id string, fn func(j *Job, logs *[]string)) Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.byID[id]
	if !ok {
		return Job{}
	}
	if !finished(r.job.Status) {
		fn(&r.job, &r.logs)
		if n := len(r.logs); n > recentLogs {
			r.job.Logs = append([]string(nil), r.logs[n-recentLogs:]...)
		} else {
			r.job.Logs = append([]string(nil), r.logs...)
		}
		r.job.UpdatedAt = time.Now().UTC()
	}
	return r.job
}

// list returns jobs newest first, filtered.
func (s *jobStore) list(status, endpointID string, limit int) []Job {
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
