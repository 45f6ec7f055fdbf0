package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/fal-video-mcp/fal-video-mcp/tools/ledger"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Arguments of the job tools; their schemas are reflected like the
// endpoints' and validated the same way.
type (
	jobRef struct {
		RequestID  string `json:"request_id" jsonschema:"required,minLength=1" jsonschema_description:"The request_id an endpoint tool returned."`
		EndpointID string `json:"endpoint_id,omitempty" jsonschema_description:"Only for a job this server did not submit: its fal endpoint id."`
	}
	jobStatusArgs struct {
		jobRef
		WaitSeconds *int `json:"wait_seconds,omitempty" jsonschema:"-"` // its schema: toolset.waitSeconds
	}
	jobResultArgs struct {
		jobRef
		Download *bool `json:"download,omitempty" jsonschema_description:"Also save every output file into the server's output folder and return the local paths."`
	}
	jobListArgs struct {
		Status     string `json:"status,omitempty" jsonschema:"enum=queued,enum=running,enum=completed,enum=failed,enum=cancelled,enum=unknown" jsonschema_description:"Only jobs with this status."`
		EndpointID string `json:"endpoint_id,omitempty" jsonschema_description:"Only jobs of this fal endpoint."`
		Limit      int    `json:"limit,omitempty" jsonschema:"minimum=1,maximum=1000,default=20" jsonschema_description:"At most this many jobs, newest first."`
		Detail     bool   `json:"detail,omitempty" jsonschema_description:"true: whole jobs (logs, result, files); else one short line each."`
	}
)

func (s *toolset) jobTools() ([]server.ServerTool, error) {
	one, err := jobSchema(nil)
	if err != nil {
		return nil, err
	}
	list, err := listSchema()
	if err != nil {
		return nil, err
	}
	specs := []toolSpec{
		{name: "job_status", title: "Job status", readOnly: true, input: reflect.TypeFor[jobStatusArgs](), output: one, handle: s.jobStatus,
			extra:       []property{s.waitSeconds(0, "Seconds to wait for the job to end (0: return at once).")},
			description: "Returns a fal job as it stands: status, queue position, recent logs, the output once completed. With wait_seconds it returns when the job ends or the wait is over."},
		{name: "job_result", title: "Job result", readOnly: true, input: reflect.TypeFor[jobResultArgs](), output: one, handle: s.jobResult,
			description: "Returns a finished fal job's output: the endpoint's result and every output file. A failed job, or one still running, is an error saying why and what to do."},
		{name: "job_cancel", title: "Cancel job", destructive: true, input: reflect.TypeFor[jobRef](), output: one, handle: s.jobCancel,
			description: "Asks fal to cancel a job: a queued job is removed; a running one is asked to stop (it may still finish). Returns the job as it then stands."},
		{name: "job_list", title: "List jobs", readOnly: true, input: reflect.TypeFor[jobListArgs](), output: list, handle: s.jobList,
			description: "Lists the jobs this server knows, newest first, one short line each, optionally only those with one status or of one endpoint."},
	}
	var out []server.ServerTool
	for _, spec := range specs {
		spec.idempotent = true
		st, _, err := s.build(spec)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// listSchema is job_list's output: the jobs, each in the Job envelope.
func listSchema() (json.RawMessage, error) {
	one, err := jobSchema(nil)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"type": "object",
		"properties": map[string]any{
			"jobs":  map[string]any{"type": "array", "items": one},
			"spend": spendSchema,
		},
		"required": []string{"jobs"},
	})
}

// lookup finds a job: in the store, or on fal by endpoint id. A job found
// on fal is recorded only once fal has confirmed it: a mistyped id never
// becomes a job of the store (or the ledger).
func (s *toolset) lookup(ctx context.Context, ref jobRef) (Job, *falqueue.Handle, error) {
	if job, h, ok := s.jobs.get(ref.RequestID); ok {
		if ref.EndpointID != "" && ref.EndpointID != job.EndpointID {
			return Job{}, nil, fmt.Errorf("request %s belongs to %s, not %s", ref.RequestID, job.EndpointID, ref.EndpointID)
		}
		return job, h, nil
	}
	if ref.EndpointID == "" {
		msg := fmt.Sprintf("this server has no record of request %s. Call job_list to see the jobs it knows", ref.RequestID)
		if recent := s.jobs.recentIDs(5); recent != "" {
			msg += "; the most recent: " + recent
		}
		return Job{}, nil, fmt.Errorf("%s. For a job submitted elsewhere, pass endpoint_id too (the fal endpoint it ran on, e.g. fal-ai/wan-vace-14b)", msg)
	}
	h, err := s.opts.Fal.Reattach(ref.EndpointID, ref.RequestID)
	if err != nil {
		return Job{}, nil, err
	}
	st, err := s.opts.Fal.Status(ctx, h, false)
	if err != nil {
		return Job{}, nil, statusError(ref.RequestID, ref.EndpointID, err)
	}
	status := StatusQueued
	if st.State != falqueue.StateInQueue {
		status = StatusRunning // or ended: its follower records the end
	}
	tool := ""
	if row, ok := schemas.Lookup(ref.EndpointID); ok {
		tool = row.Tool
	}
	now := time.Now().UTC()
	job := s.jobs.adopt(Job{RequestID: ref.RequestID, EndpointID: h.EndpointID, Tool: tool, Status: status,
		SubmittedAt: now, UpdatedAt: now, DryRun: s.opts.DryRun}, h)
	return job, h, nil
}

// statusError explains a status read that failed.
func statusError(requestID, endpointID string, err error) error {
	if errors.Is(err, falqueue.ErrNotFound) {
		return fmt.Errorf("fal does not know request %s on %s: a wrong request_id or endpoint_id, or fal already forgot it (it keeps results 1 h, 6 min for large ones)", requestID, endpointID)
	}
	return fmt.Errorf("could not read the status of %s: %v", requestID, err)
}

func decodeArgs[T any](raw json.RawMessage) T {
	var v T
	_ = json.Unmarshal(raw, &v) // already validated against the schema
	return v
}

func (s *toolset) jobStatus(ctx context.Context, req mcp.CallToolRequest, raw json.RawMessage) *mcp.CallToolResult {
	args := decodeArgs[jobStatusArgs](raw)
	job, _, err := s.lookup(ctx, args.jobRef)
	if err != nil {
		return mcp.NewToolResultError("job_status: " + err.Error())
	}
	if ledger.Settled(job.Status) {
		return s.answer(job)
	}
	if args.WaitSeconds != nil && *args.WaitSeconds > 0 {
		wait := min(time.Duration(*args.WaitSeconds)*time.Second, s.opts.MaxWait)
		return s.answer(s.await(ctx, req, job.RequestID, wait))
	}
	return s.answer(s.peek(ctx, job.RequestID))
}

// peek answers job_status without a wait: the job as its follower knows it,
// brought up to date by one status read from fal when fal is ahead (a
// follower's stream runs a moment behind). The read records nothing: the
// job's follower alone records its changes and fetches its result.
func (s *toolset) peek(ctx context.Context, id string) Job {
	job := s.current(ctx, id)
	_, h, ok := s.jobs.get(id)
	if !ok || ledger.Settled(job.Status) || h == nil {
		return job
	}
	st, err := s.opts.Fal.Status(ctx, h, true)
	if err != nil || st.Done() { // a done job: its follower records the end
		return job
	}
	switch st.State {
	case falqueue.StateInQueue:
		if job.Status == StatusQueued {
			job.QueuePosition = st.QueuePosition
		}
	case falqueue.StateInProgress:
		job.Status, job.QueuePosition = StatusRunning, nil
	}
	fresh := falqueue.NewLogs(job.Logs, st.Logs, func(seen string, l falqueue.Log) bool { return seen == l.Message })
	for _, l := range fresh {
		job.Logs = append(job.Logs, l.Message)
	}
	job.Logs = lastLogs(job.Logs)
	return job
}

func (s *toolset) jobResult(ctx context.Context, _ mcp.CallToolRequest, raw json.RawMessage) *mcp.CallToolResult {
	args := decodeArgs[jobResultArgs](raw)
	job, h, err := s.lookup(ctx, args.jobRef)
	if err != nil {
		return mcp.NewToolResultError("job_result: " + err.Error())
	}
	if !ledger.Settled(job.Status) {
		job = s.current(ctx, job.RequestID)
	}
	if job.Status == StatusFailed && job.fetchFailed {
		// Failed only because its result could not be fetched: try once
		// more; a result replaces the failure.
		if res, err := s.opts.Fal.Result(ctx, h); err == nil {
			out := decodeOutput(job.EndpointID, res.Data)
			job = s.jobs.end(job.RequestID, ledger.End{Status: StatusCompleted, Result: out}, outputFiles(out))
		}
	}
	if !ledger.Settled(job.Status) {
		if job.Next == "" { // else: why the output could not be fetched
			job.Next = fmt.Sprintf(`the job is still %s: call job_status with {"request_id": %q, "wait_seconds": %d}, then job_result again`,
				job.Status, job.RequestID, int(s.opts.MaxWait/time.Second))
		}
		return s.result(job, true)
	}
	if job.Status == StatusCompleted && (s.opts.DownloadAlways || args.Download != nil && *args.Download) {
		if err := s.saveOutputs(ctx, &job); err != nil {
			res := s.result(job, true)
			res.Content = append([]mcp.Content{mcp.NewTextContent("job_result: saving the outputs failed: " + err.Error())}, res.Content...)
			return res
		}
	}
	return s.result(job, job.Status != StatusCompleted)
}

// cancelSettle is how long job_cancel waits for fal to report the end.
const cancelSettle = 5 * time.Second

func (s *toolset) jobCancel(ctx context.Context, req mcp.CallToolRequest, raw json.RawMessage) *mcp.CallToolResult {
	args := decodeArgs[jobRef](raw)
	job, h, err := s.lookup(ctx, args)
	if err != nil {
		return mcp.NewToolResultError("job_cancel: " + err.Error())
	}
	if ledger.Settled(job.Status) {
		if job.Status == StatusUnknown {
			job.Next = "the job's request id is unknown, so it cannot be cancelled here: look for it on " + falRequests
		} else {
			job.Next = "the job had already ended; nothing to cancel"
		}
		return s.result(job, false)
	}
	outcome, err := s.opts.Fal.Cancel(ctx, h)
	if err != nil {
		return mcp.NewToolResultError(fmt.Sprintf("job_cancel: fal did not take the cancel: %v", err))
	}
	if outcome == falqueue.CancelNotFound {
		return mcp.NewToolResultError(fmt.Sprintf("job_cancel: fal does not know request %s on %s", job.RequestID, job.EndpointID))
	}
	job = s.await(ctx, mcp.CallToolRequest{}, job.RequestID, min(cancelSettle, s.opts.MaxWait))
	if job.Status == StatusCancelled {
		return s.cancelled(job)
	}
	if !ledger.Settled(job.Status) {
		job.Next = "fal asked the model to stop; a running job may still finish: check with job_status"
	}
	return s.result(job, false)
}

// cancelled answers a cancel that worked, in plain words: fal's own
// answer to a cancel ("Request cancelled by the client") is its record of
// the cancel, not a failure, so it is not passed on as an error.
func (s *toolset) cancelled(job Job) *mcp.CallToolResult {
	job.Error, job.Next = "", ""
	res := s.result(job, false)
	plain := fmt.Sprintf("Cancelled: job %s (%s on %s) was cancelled; fal will not run it any further and it has no output.",
		job.RequestID, job.Tool, job.EndpointID)
	if job.DryRun {
		plain += " (dry run: fal's emulator, nothing billed)"
	}
	summary := job.summary()
	for i, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok && tc.Text == summary {
			res.Content[i] = mcp.NewTextContent(plain)
		}
	}
	return res
}

func (s *toolset) jobList(ctx context.Context, _ mcp.CallToolRequest, raw json.RawMessage) *mcp.CallToolResult {
	args := decodeArgs[jobListArgs](raw)
	if args.Limit == 0 {
		args.Limit = 20
	}
	jobs, lerr := s.jobs.list(args.Status, args.EndpointID, args.Limit)
	if jobs == nil {
		jobs = []Job{}
	}
	text := fmt.Sprintf("%d job(s)", len(jobs))
	switch p := s.ledgerProblem(); {
	case lerr != nil:
		text = fmt.Sprintf("Job history is unavailable (the job ledger cannot be read: %v); only this session's jobs are listed.\n%s", lerr, text)
	case p != "":
		text = "Job history is unavailable (" + p + "); only this session's jobs may be listed.\n" + text
	}
	for _, j := range jobs {
		text += fmt.Sprintf("\n- %s %s %s (%s)", j.RequestID, j.Tool, j.Status, j.SubmittedAt.Format(time.RFC3339))
		if j.Status == StatusUnknown {
			text += " — sent, but fal's answer never came back: it may have been queued and billed; not resubmitted"
		}
	}
	spend, line := s.listSpend(ctx, jobs)
	text += "\n" + line
	var listed any = jobs
	if !args.Detail {
		lines := make([]jobLine, len(jobs))
		for i, j := range jobs {
			lines[i] = lineOf(j)
		}
		listed = lines
		if len(jobs) > 0 {
			text += "\nOne line per job: job_list with detail: true, or job_status/job_result with a request_id, gives logs, results and files."
		}
	}
	return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(text)}, StructuredContent: map[string]any{"jobs": listed, "spend": spend}}
}

// jobLine is a job as job_list lists it by default: what tells the jobs
// apart and where each stands — the Job's own field names, without its
// logs, input, result or files (a listing of 20 whole jobs ran to tens of
// kilobytes an agent pays for in tokens).
type jobLine struct {
	RequestID        string   `json:"request_id"`
	EndpointID       string   `json:"endpoint_id"`
	Tool             string   `json:"tool"`
	Status           string   `json:"status"`
	SubmittedAt      string   `json:"submitted_at"`
	CompletedAt      string   `json:"completed_at,omitempty"`
	Error            string   `json:"error,omitempty"`
	DryRun           bool     `json:"dry_run,omitempty"`
	EstimatedCostUSD *float64 `json:"estimated_cost_usd"`
}

// lineErrorRunes is how much of fal's error a job line keeps.
const lineErrorRunes = 60

func lineOf(j Job) jobLine {
	l := jobLine{RequestID: j.RequestID, EndpointID: j.EndpointID, Tool: j.Tool, Status: j.Status,
		SubmittedAt: j.SubmittedAt.UTC().Format(time.RFC3339), DryRun: j.DryRun, EstimatedCostUSD: j.EstimatedCostUSD}
	if j.CompletedAt != nil {
		l.CompletedAt = j.CompletedAt.UTC().Format(time.RFC3339)
	}
	if r := []rune(j.Error); len(r) > lineErrorRunes {
		l.Error = string(r[:lineErrorRunes-1]) + "…"
	} else {
		l.Error = j.Error
	}
	return l
}
