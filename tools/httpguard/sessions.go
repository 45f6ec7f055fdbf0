package httpguard

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"time"
)

// Sessions is the session id manager of the streamable HTTP server
// (mcp-go's server.WithSessionIdManager): it knows the ids it issued and
// when each was last used. An id unknown to it, or idle longer than Idle,
// is refused (the transport answers 404, and the client starts a new
// session, as the MCP specification says). Wrap, given a Sessions, answers
// a request that would open a session beyond Max with 503 and Retry-After.
//
// mcp-go keeps its own state for each session; run its sweeper with the
// same idle time (server.WithSessionIdleTTL) so that state goes too: the
// sweeper calls Terminate.
type Sessions struct {
	max  int
	idle time.Duration
	now  func() time.Time

	mu       sync.Mutex
	live     map[string]time.Time // id → last use
	reserved int                  // requests under way that may open a session
	// streams ends each session's standing GET streams when the session
	// goes (mcp-go's sweeper forgets a session but leaves its streams
	// open).
	streams map[string]map[*int]context.CancelFunc
}

// NewSessions allows at most max live sessions, each dropped after idle
// without a request.
func NewSessions(max int, idle time.Duration) *Sessions {
	return &Sessions{max: max, idle: idle, now: time.Now, live: map[string]time.Time{}, streams: map[string]map[*int]context.CancelFunc{}}
}

const sessionPrefix = "mcp-session-"

var (
	errUnknownSession = errors.New("unknown session")
	errExpiredSession = errors.New("session expired")
)

// Generate issues a new session id. Wrap reserves a place for it first;
// should a session be opened beyond Max anyway, its id is issued but not
// kept, so its next request gets 404.
func (s *Sessions) Generate() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	id := sessionPrefix + hex.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.live) < s.max {
		s.live[id] = s.now()
	}
	return id
}

// Validate accepts a live session id and records its use.
func (s *Sessions) Validate(id string) (isTerminated bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	last, ok := s.live[id]
	if !ok {
		return false, errUnknownSession
	}
	now := s.now()
	if now.Sub(last) > s.idle {
		s.forget(id)
		return false, errExpiredSession
	}
	s.live[id] = now
	return false, nil
}

// Terminate forgets a session (DELETE, or mcp-go's idle sweeper).
func (s *Sessions) Terminate(id string) (isNotAllowed bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forget(id)
	return false, nil
}

// forget drops a session and ends its streams. Called with s.mu held.
func (s *Sessions) forget(id string) {
	delete(s.live, id)
	for _, end := range s.streams[id] {
		end()
	}
	delete(s.streams, id)
}

// stream ties a standing GET stream of session id to it: end is called
// when the session goes. ok is false if the session is not live; done
// unties the stream when it ends by itself.
func (s *Sessions) stream(id string, end context.CancelFunc) (done func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, live := s.live[id]; !live {
		return nil, false
	}
	key := new(int)
	if s.streams[id] == nil {
		s.streams[id] = map[*int]context.CancelFunc{}
	}
	s.streams[id][key] = end
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.streams[id], key)
		if len(s.streams[id]) == 0 {
			delete(s.streams, id)
		}
	}, true
}

// Live returns how many sessions are live.
func (s *Sessions) Live() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropIdle()
	return len(s.live)
}

// reserve takes a place for a session a request may open; ok is false
// when every place is taken, and retry then says when one frees up at the
// latest. Called with a reservation held, release gives it back.
func (s *Sessions) reserve() (ok bool, retry time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.live)+s.reserved >= s.max {
		s.dropIdle()
	}
	if len(s.live)+s.reserved < s.max {
		s.reserved++
		return true, 0
	}
	retry = s.idle
	now := s.now()
	for _, last := range s.live {
		retry = min(retry, last.Add(s.idle).Sub(now))
	}
	return false, max(retry, time.Second)
}

func (s *Sessions) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reserved--
}

// dropIdle forgets the sessions idle longer than s.idle. Called with s.mu
// held.
func (s *Sessions) dropIdle() {
	now := s.now()
	for id, last := range s.live {
		if now.Sub(last) > s.idle {
			s.forget(id)
		}
	}
}
