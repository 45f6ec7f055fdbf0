package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// follow waits up to wait for the job to end, following fal's status
// stream, and returns the job as it then stands. Progress notifications go
// to the client if it asked for them. When the client cancels the call the
// wait stops at once; the job itself keeps running on fal.
func (s *toolset) follow(ctx context.Context, req mcp.CallToolRequest, h *falqueue.Handle, wait time.Duration) Job {
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	p := newProgress(ctx, req)
	st, err := s.opts.Fal.Wait(wctx, h, func(u falqueue.Update) {
		job := s.apply(h.RequestID, u.Status, u.NewLogs)
		p.report(job, u.NewLogs)
	})
	switch {
	case err == nil:
		return s.finish(ctx, h, st)
	case ctx.Err() != nil, errors.Is(err, context.DeadlineExceeded):
		job, _, _ := s.jobs.get(h.RequestID)
		return job
	case errors.Is(err, falqueue.ErrNotFound):
		job, _, _ := s.jobs.get(h.RequestID)
		job.Next = statusError(h.RequestID, h.EndpointID, err).Error()
		return job
	default:
		s.opts.Logger.Warn("following a job failed", "request_id", h.RequestID, "err", err)
		job, _, _ := s.jobs.get(h.RequestID)
		job.Next = fmt.Sprintf("could not read the job's status just now (%v); call job_status again", err)
		return job
	}
}

// apply records a status seen on fal.
func (s *toolset) apply(id string, st *falqueue.Status, newLogs []falqueue.Log) Job {
	return s.jobs.update(id, func(j *Job, logs *[]string) {
		switch st.State {
		case falqueue.StateInQueue:
			j.Status, j.QueuePosition = StatusQueued, st.QueuePosition
		case falqueue.StateInProgress:
			j.Status, j.QueuePosition = StatusRunning, nil
		}
		for _, l := range newLogs {
			*logs = append(*logs, l.Message)
		}
	})
}

// applyWindow records a polled status, whose logs are a sliding window of
// recent lines: only the lines after the overlap with what is known are
// new.
func (s *toolset) applyWindow(id string, st *falqueue.Status) Job {
	var fresh []falqueue.Log
	s.jobs.update(id, func(_ *Job, logs *[]string) {
		fresh = falqueue.NewLogs(*logs, st.Logs, func(seen string, l falqueue.Log) bool { return seen == l.Message })
	})
	return s.apply(id, st, fresh)
}

// finish records a job that has ended: its output (decoded into the
// endpoint's output type) and files, or fal's error verbatim.
//
// A job fal reports as ended well whose output cannot be read just now (a
// dropped connection, the call cancelled, a key or rate-limit problem) has
// not ended here: recording it as failed would be final and wrong. It is
// returned as it stands, with a hint to fetch the result again; callers
// tell the two apart with finished(job.Status).
func (s *toolset) finish(ctx context.Context, h *falqueue.Handle, st *falqueue.Status) Job {
	res, resErr := s.opts.Fal.Result(ctx, h)
	if resErr != nil && !st.Failed() && !jobFailure(resErr) {
		level := slog.LevelWarn
		if ctx.Err() != nil {
			level = slog.LevelDebug
		}
		s.opts.Logger.Log(ctx, level, "could not fetch a finished job's output", "request_id", h.RequestID, "err", resErr)
		job, _, _ := s.jobs.get(h.RequestID)
		job.Next = fmt.Sprintf(`fal reports the job finished, but its output could not be fetched just now (%v): call job_result with {"request_id": %q}`,
			resErr, h.RequestID)
		return job
	}
	now := time.Now().UTC()
	return s.jobs.update(h.RequestID, func(j *Job, logs *[]string) {
		j.QueuePosition, j.CompletedAt = nil, &now
		if !st.Failed() && resErr == nil {
			j.Status = StatusCompleted
			j.Result = decodeOutput(j.EndpointID, res.Data)
			j.Files = outputFiles(j.Result)
			return
		}
		j.Status = StatusFailed
		if st.ErrorType == "client_cancelled" {
			j.Status = StatusCancelled
		}
		j.Error = failureDetail(st, resErr)
	})
}

// jobFailure reports whether an error of Result is the job's own answer —
// fal replays a failed model's status and body (§4.4) — rather than a
// failure to read the answer.
func jobFailure(err error) bool {
	var ae *falqueue.APIError
	switch {
	case !errors.As(err, &ae):
		return false // transport, context, an answer that is not JSON
	case errors.Is(err, falqueue.ErrUnauthorized), errors.Is(err, falqueue.ErrRateLimited):
		return false // about the key or the account, not the job
	case ae.StatusCode >= 502 && ae.StatusCode <= 504 && len(ae.Body) == 0:
		return false // the ingress's page: the model's answers are JSON
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
// fal replayed one, else the status's error.
func failureDetail(st *falqueue.Status, resErr error) string {
	var ae *falqueue.APIError
	switch {
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
	case st.Error != "":
		return st.Error
	case resErr != nil:
		return resErr.Error()
	}
	return "the job failed without a reason from fal"
}

// answer renders a job, with the next step when it has not ended.
func (s *toolset) answer(job Job) *mcp.CallToolResult {
	if !finished(job.Status) && job.Next == "" {
		job.Next = fmt.Sprintf(`call job_status with {"request_id": %q, "wait_seconds": %d} to wait for it, then job_result`,
			job.RequestID, int(s.opts.MaxWait/time.Second))
	}
	if job.Status == StatusCompleted {
		job.Next = ""
	}
	return job.toolResult(job.Status == StatusFailed)
}

// progress sends MCP progress notifications for one call, if the client
// gave a progress token: the queue position, the start, each log line.
// progress only ever increases.
type progress struct {
	ctx        context.Context
	srv        *server.MCPServer
	token      mcp.ProgressToken
	n          int
	lastStatus string
}

func newProgress(ctx context.Context, req mcp.CallToolRequest) *progress {
	p := &progress{ctx: ctx, srv: server.ServerFromContext(ctx)}
	if req.Params.Meta != nil {
		p.token = req.Params.Meta.ProgressToken
	}
	return p
}

func (p *progress) report(job Job, newLogs []falqueue.Log) {
	if p.token == nil || p.srv == nil {
		return
	}
	status := job.Status
	if job.Status == StatusQueued && job.QueuePosition != nil {
		status = fmt.Sprintf("queued at position %d", *job.QueuePosition)
	}
	if status != p.lastStatus {
		p.lastStatus = status
		p.send(status)
	}
	for _, l := range newLogs {
		p.send("log: " + l.Message)
	}
}

func (p *progress) send(message string) {
	p.n++
	_ = p.srv.SendNotificationToClient(p.ctx, "notifications/progress", map[string]any{
		"progressToken": p.token,
		"progress":      p.n,
		"message":       message,
	})
}
