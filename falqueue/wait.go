package falqueue

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// errStreamEnded is a stream that closed before a final status.
var errStreamEnded = errors.New("status stream ended before the job completed")

// StreamStatus follows the job's SSE status stream (§4.3) and calls fn with
// every status event until the stream ends. It returns the last status; the
// stream ends normally right after the COMPLETED event. It returns an error
// when the stream is refused, breaks, carries something that is not a
// status, stays silent longer than the idle timeout, or fn fails.
func (c *Client) StreamStatus(ctx context.Context, h *Handle, logs bool, fn func(*Status) error) (*Status, error) {
	su, err := c.parseJobURL(streamPolicy.op, h.StatusURL)
	if err != nil {
		return nil, err
	}
	u := joinURL(su, "stream")
	u.RawQuery = su.RawQuery
	u = withQuery(u, "logs", logsParam(logs))

	// The idle timer breaks a stream that does not answer or falls silent:
	// fal sends a keep-alive comment every 15 s, so silence well beyond
	// that is a dead connection.
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errIdle := fmt.Errorf("status stream silent for %v", c.streamIdleTimeout)
	idle := time.AfterFunc(c.streamIdleTimeout, func() { cancel(errIdle) })
	defer idle.Stop()

	resp, err := c.do(sctx, streamPolicy, request{method: http.MethodGet, url: u,
		header: http.Header{"Accept": {"text/event-stream"}}})
	if err != nil {
		if cause := context.Cause(sctx); cause == errIdle {
			return nil, cause
		}
		return nil, withRequestID(err, h.RequestID)
	}
	defer resp.Body.Close()

	var last *Status
	var data bytes.Buffer
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), maxBody)
	for sc.Scan() {
		idle.Reset(c.streamIdleTimeout)
		line := sc.Bytes()
		switch {
		case len(line) == 0: // end of an event
			if data.Len() == 0 {
				continue
			}
			st, err := decodeStatus(c.key.redactBytes(data.Bytes()), h.RequestID) // as attempt does for whole bodies
			data.Reset()
			if err != nil {
				return last, err
			}
			last = st
			if err := fn(st); err != nil {
				return last, err
			}
			if st.Done() {
				return last, nil
			}
		case line[0] == ':': // a comment: keep-alive
		default:
			field, value, _ := bytes.Cut(line, []byte(":"))
			value = bytes.TrimPrefix(value, []byte(" "))
			if string(field) == "data" {
				if data.Len() > 0 {
					data.WriteByte('\n')
				}
				data.Write(value)
			} // event:, id: and retry: carry nothing fal uses (§10.6)
		}
	}
	if ctx.Err() != nil {
		return last, ctx.Err()
	}
	if cause := context.Cause(sctx); cause != nil {
		return last, cause
	}
	if err := sc.Err(); err != nil {
		return last, fmt.Errorf("status stream of %s: %w", h.RequestID, errors.New(c.key.redactFrom(err.Error())))
	}
	if last != nil && last.Done() {
		return last, nil
	}
	return last, errStreamEnded
}

// Update is one change seen while waiting for a job.
type Update struct {
	// Status is the latest status; its Logs are every line seen so far.
	Status *Status
	// NewLogs are the lines that arrived with this update (never repeated,
	// although fal's status returns a sliding window of recent lines).
	NewLogs []Log
}

// Wait follows the job until it ends and returns its final status, whose
// Logs hold every log line seen. It follows fal's status stream and, if the
// stream is refused or breaks, polls instead, carrying on where the stream
// left off. onUpdate (may be nil) is called on every change of state, queue
// position or logs, from the calling goroutine. A failed job is not an
// error here (see Status.Failed; Result replays fal's error). Wait returns
// ctx.Err() as soon as ctx ends.
func (c *Client) Wait(ctx context.Context, h *Handle, onUpdate func(Update)) (*Status, error) {
	t := tracker{onUpdate: onUpdate}
	if !c.disableStream {
		last, err := c.StreamStatus(ctx, h, true, func(st *Status) error { t.observe(st); return nil })
		switch {
		case err == nil && last != nil && last.Done():
			return t.final(), nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		}
		c.log.LogAttrs(ctx, slog.LevelDebug, "fal status stream unavailable; polling",
			slog.String("request_id", h.RequestID), slog.String("reason", c.key.redactFrom(fmt.Sprint(err))))
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timer.C:
		}
		st, err := c.Status(ctx, h, true)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		t.observe(st)
		if st.Done() {
			return t.final(), nil
		}
		timer.Reset(c.pollInterval)
	}
}

// tracker turns a series of statuses into changes: it keeps every log line
// once, although each status carries only a sliding window of recent lines
// (§4.2), and reports state and queue-position changes.
type tracker struct {
	mu       sync.Mutex
	onUpdate func(Update)
	last     *Status
	logs     []Log
}

// maxKeptLogs bounds the lines a wait remembers (the oldest are dropped).
const maxKeptLogs = 10000

func (t *tracker) observe(st *Status) {
	t.mu.Lock()
	fresh := t.merge(st.Logs)
	changed := len(fresh) > 0 || t.last == nil || t.last.State != st.State ||
		!samePosition(t.last.QueuePosition, st.QueuePosition) || st.Done()
	cur := *st
	cur.Logs = t.logs
	t.last = &cur
	t.mu.Unlock()
	if changed && t.onUpdate != nil {
		t.onUpdate(Update{Status: &cur, NewLogs: fresh})
	}
}

// merge appends the part of window not seen yet. The window is a run of
// recent lines, so it overlaps the end of what was seen: the longest suffix
// of the seen lines that is a prefix of the window is the overlap.
func (t *tracker) merge(window []Log) []Log {
	fresh := NewLogs(t.logs, window, Log.same)
	if len(fresh) == 0 {
		return nil
	}
	fresh = append([]Log(nil), fresh...)
	t.logs = append(t.logs, fresh...)
	if over := len(t.logs) - maxKeptLogs; over > 0 {
		t.logs = append([]Log(nil), t.logs[over:]...)
	}
	return fresh
}

func (t *tracker) final() *Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

// NewLogs returns the lines of a status's log window that were not seen
// yet. fal's status carries a sliding window of recent lines, not the
// whole log (§4.2), so the window overlaps the end of what was seen: the
// longest suffix of seen that is a prefix of window is the overlap, and
// what follows it is new. same compares a seen line with a window line.
func NewLogs[S any](seen []S, window []Log, same func(S, Log) bool) []Log {
	for k := min(len(window), len(seen)); k > 0; k-- {
		match := true
		for i := 0; i < k && match; i++ {
			match = same(seen[len(seen)-k+i], window[i])
		}
		if match {
			return window[k:]
		}
	}
	return window
}

func samePosition(a, b *int) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}
