package tools

import (
	"context"
	"fmt"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/tools/ledger"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// freshWait bounds how long a call that does not wait gives a newly
// started follower to read the job's state.
const freshWait = 5 * time.Second

// await waits up to wait for the job to end and returns it as it then
// stands. It watches the job's one follower (started if need be) and never
// reads fal itself; progress notifications go to the client if it asked
// for them. When the client cancels the call the wait stops at once; the
// job keeps running on fal and its follower keeps following it.
func (s *toolset) await(ctx context.Context, req mcp.CallToolRequest, id string, wait time.Duration) Job {
	fresh := s.followers.ensure(id, true)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select { // a job just adopted: let its follower read it first
	case <-fresh:
	case <-timer.C:
	case <-ctx.Done():
	}
	p := newProgress(ctx, req)
	seen := -1 // the client has not seen any line yet: report only new ones
	for {
		s.jobs.get(id) // a job another process follows: read the ledger again
		job, lines, total, changed, ok := s.jobs.watch(id, seen)
		if !ok {
			return job
		}
		if seen >= 0 {
			p.report(job, lines)
		} else {
			p.report(job, nil)
		}
		seen = total
		if ledger.Settled(job.Status) {
			return job
		}
		poll := time.NewTimer(watchEvery)
		if s.jobs.isFollowed(id) || s.jobs.led == nil { // memory changes: no need to read the ledger
			poll.Stop()
		}
		select {
		case <-changed:
		case <-poll.C:
		case <-timer.C:
			poll.Stop()
			job, _, _ := s.jobs.get(id)
			return job
		case <-ctx.Done():
			poll.Stop()
			job, _, _ := s.jobs.get(id)
			return job
		}
		poll.Stop()
	}
}

// current returns the job as it stands, giving a follower just started a
// moment to read fal first.
func (s *toolset) current(ctx context.Context, id string) Job {
	fresh := s.followers.ensure(id, true)
	t := time.NewTimer(freshWait)
	defer t.Stop()
	select {
	case <-fresh:
	case <-t.C:
	case <-ctx.Done():
	}
	if job, _, _ := s.jobs.get(id); !ledger.Settled(job.Status) && job.Next != "" && s.jobs.isFollowed(id) {
		// The follower is waiting to try fal again: ask it to try now,
		// and give it a moment.
		_, _, _, changed, _ := s.jobs.watch(id, 0)
		s.followers.poke(id)
		select {
		case <-changed:
		case <-t.C:
		case <-ctx.Done():
		}
	}
	job, _, _ := s.jobs.get(id)
	return job
}

// answer renders a job, with the next step when it has not ended.
func (s *toolset) answer(job Job) *mcp.CallToolResult {
	if !ledger.Settled(job.Status) && job.Next == "" {
		job.Next = fmt.Sprintf(`call job_status with {"request_id": %q, "wait_seconds": %d} to wait for it, then job_result`,
			job.RequestID, int(s.opts.MaxWait/time.Second))
	}
	if job.Status == StatusCompleted {
		job.Next = ""
	}
	return s.result(job, job.Status == StatusFailed || job.Status == StatusUnknown)
}

// result renders a job as a tool result, with a first line saying so when
// job history is unavailable.
func (s *toolset) result(job Job, isError bool) *mcp.CallToolResult {
	res := job.toolResult(isError)
	if p := s.ledgerProblem(); p != "" {
		res.Content = append([]mcp.Content{mcp.NewTextContent("Job history is unavailable: " + p)}, res.Content...)
	}
	return res
}

// ledgerProblem says why job history is unavailable, or "".
func (s *toolset) ledgerProblem() string {
	if s.opts.LedgerProblem != "" {
		return s.opts.LedgerProblem
	}
	return s.jobs.ledgerProblem()
}

// progress sends MCP progress notifications for one call, if the client
// gave a progress token: the queue position, the start, each log line.
// progress only ever increases. The notifications go on the call's own
// stream (tools/clientlog.go, notifyCall), so they arrive in order.
type progress struct {
	ctx        context.Context
	token      mcp.ProgressToken
	n          int
	lastStatus string
}

func newProgress(ctx context.Context, req mcp.CallToolRequest) *progress {
	p := &progress{ctx: ctx}
	if req.Params.Meta != nil {
		p.token = req.Params.Meta.ProgressToken
	}
	return p
}

func (p *progress) report(job Job, newLogs []string) {
	if p.token == nil {
		return
	}
	status := job.Status
	if job.Status == StatusQueued && job.QueuePosition != nil {
		status = fmt.Sprintf("queued at position %d", *job.QueuePosition)
	}
	if status != p.lastStatus && !ledger.Settled(job.Status) { // the end is the call's answer
		p.lastStatus = status
		p.send(status)
	}
	for _, l := range newLogs {
		p.send("log: " + l)
	}
}

func (p *progress) send(message string) {
	p.n++
	params := map[string]any{"progressToken": p.token, "progress": p.n}
	if !before(server.RequestProtocolVersion(p.ctx), mcp.ProtocolVersion20250326) { // progress messages came with 2025-03-26
		params["message"] = message
	}
	notifyCall(p.ctx, string(mcp.MethodNotificationProgress), params)
}
