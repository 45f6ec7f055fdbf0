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
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Arguments of the job tools; their schemas are reflected like the
// endpoints' and validated the same way.
type (
	jobRef struct {
		RequestID  string `json:"request_id" jsonschema:"required,minLength=1" jsonschema_description:"The request_id an endpoint tool returned."`
		EndpointID string `json:"endpoint_id,omitempty" jsonschema_description:"The job's fal endpoint id, e.g. fal-ai/wan-vace-14b. Needed only for jobs this server did not submit."`
	}
	jobStatusArgs struct {
		jobRef
		WaitSeconds *int `json:"wait_seconds,omitempty"`
	}
	jobResultArgs struct {
		jobRef
		Download *bool `json:"download,omitempty" jsonschema_description:"Also save every output file into the server's output folder and return the local paths."`
	}
	jobListArgs struct {
		Status     string `json:"status,omitempty" jsonschema:"enum=queued,enum=running,enum=completed,enum=failed,enum=cancelled" jsonschema_description:"Only jobs with this status."`
		EndpointID string `json:"endpoint_id,omitempty" jsonschema_description:"Only jobs of this fal endpoint."`
		Limit      int    `json:"limit,omitempty" jsonschema:"minimum=1,maximum=1000,default=20" jsonschema_description:"At most this many jobs, newest first."`
	}
)

type jobToolSpec struct {
	name, title, description string
	args                     reflect.Type
	readOnly, destructive    bool
	output                   func() (json.RawMessage, error)
	handle                   func(s *toolset, ctx context.Context, req mcp.CallToolRequest, raw json.RawMessage) *mcp.CallToolResult
}

func (s *toolset) jobTools() ([]server.ServerTool, error) {
	one := func() (json.RawMessage, error) { return jobSchema(nil) }
	specs := []jobToolSpec{
		{name: "job_status", title: "Job status", readOnly: true, args: reflect.TypeFor[jobStatusArgs](), output: one, handle: (*toolset).jobStatus,
			description: "Returns a fal job as it stands: status (queued, running, completed, failed, cancelled), queue position, recent logs, and the output once completed. With wait_seconds it follows fal's status stream and returns as soon as the job ends, or when the wait is over."},
		{name: "job_result", title: "Job result", readOnly: true, args: reflect.TypeFor[jobResultArgs](), output: one, handle: (*toolset).jobResult,
			description: "Returns the output of a finished fal job: the endpoint's result and every output file (url, content type, name, size). A failed job is an error carrying fal's detail; a job still running is an error that says to call job_status with wait_seconds."},
		{name: "job_cancel", title: "Cancel job", destructive: true, args: reflect.TypeFor[jobRef](), output: one, handle: (*toolset).jobCancel,
			description: "Asks fal to cancel a job: a queued job is removed; a running one is asked to stop (the model may still finish). Returns the job as it stands after the request."},
		{name: "job_list", title: "List jobs", readOnly: true, args: reflect.TypeFor[jobListArgs](), output: listSchema, handle: (*toolset).jobList,
			description: "Lists the jobs this server knows, newest first, optionally only those with one status or of one endpoint."},
	}
	var out []server.ServerTool
	for _, spec := range specs {
		in, err := schemas.InputSchema(spec.args)
		if err != nil {
			return nil, err
		}
		if spec.name == "job_status" {
			var doc map[string]any
			_ = json.Unmarshal(in, &doc)
			w := waitSchema(s.opts.MaxWait, "How long to wait for the job to end")
			w["default"] = 0
			doc["properties"].(map[string]any)[waitProperty] = w
			in, _ = json.Marshal(doc)
		}
		outSchema, err := spec.output()
		if err != nil {
			return nil, err
		}
		v, err := newValidator(spec.name, in)
		if err != nil {
			return nil, err
		}
		tool := mcp.Tool{
			Name: spec.name, Title: spec.title, Description: spec.description,
			RawInputSchema: in, RawOutputSchema: outSchema,
			Annotations: mcp.ToolAnnotation{
				Title:           spec.title,
				ReadOnlyHint:    mcp.ToBoolPtr(spec.readOnly),
				DestructiveHint: mcp.ToBoolPtr(spec.destructive),
				IdempotentHint:  mcp.ToBoolPtr(true),
				OpenWorldHint:   mcp.ToBoolPtr(true),
			},
		}
		handle := spec.handle
		name := spec.name
		out = append(out, server.ServerTool{Tool: tool, Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			raw, _ := json.Marshal(orEmpty(req.GetArguments()))
			if err := v.check(raw); err != nil {
				return mcp.NewToolResultError(fmt.Sprintf("%s: %v", name, err)), nil
			}
			return handle(s, ctx, req, raw), nil
		}})
	}
	return out, nil
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func listSchema() (json.RawMessage, error) {
	one, err := jobSchema(nil)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"type": "object",
		"properties": map[string]any{
			"jobs": map[string]any{"type": "array", "items": json.RawMessage(one)},
		},
		"required":             []string{"jobs"},
		"additionalProperties": false,
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
		return Job{}, nil, fmt.Errorf("this server has no record of request %s: pass endpoint_id too (the fal endpoint it was submitted to, e.g. fal-ai/wan-vace-14b)", ref.RequestID)
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
		status = StatusRunning // or ended: the caller's refresh or wait records the end
	}
	tool := ""
	if row, ok := schemas.Lookup(ref.EndpointID); ok {
		tool = row.Tool
	}
	now := time.Now().UTC()
	job := s.jobs.add(Job{RequestID: ref.RequestID, EndpointID: h.EndpointID, Tool: tool, Status: status,
		SubmittedAt: now, UpdatedAt: now, DryRun: s.opts.DryRun}, h, nil)
	return job, h, nil
}

// statusError explains a status read that failed.
func statusError(requestID, endpointID string, err error) error {
	if errors.Is(err, falqueue.ErrNotFound) {
		return fmt.Errorf("fal does not know request %s on %s: a wrong request_id or endpoint_id, or fal already forgot it (it keeps results 1 h, 6 min for large ones)", requestID, endpointID)
	}
	return fmt.Errorf("could not read the status of %s: %v", requestID, err)
}

// refresh reads the job's status once and records it (and its end).
func (s *toolset) refresh(ctx context.Context, job Job, h *falqueue.Handle) (Job, error) {
	st, err := s.opts.Fal.Status(ctx, h, true)
	if err != nil {
		return job, statusError(job.RequestID, job.EndpointID, err)
	}
	if st.Done() {
		return s.finish(ctx, h, st), nil
	}
	return s.applyWindow(h.RequestID, st), nil
}

func decodeArgs[T any](raw json.RawMessage) T {
	var v T
	_ = json.Unmarshal(raw, &v) // already validated against the schema
	return v
}

func (s *toolset) jobStatus(ctx context.Context, req mcp.CallToolRequest, raw json.RawMessage) *mcp.CallToolResult {
	args := decodeArgs[jobStatusArgs](raw)
	job, h, err := s.lookup(ctx, args.jobRef)
	if err != nil {
		return mcp.NewToolResultError("job_status: " + err.Error())
	}
	if finished(job.Status) {
		return s.answer(job)
	}
	wait := time.Duration(0)
	if args.WaitSeconds != nil {
		wait = min(time.Duration(*args.WaitSeconds)*time.Second, s.opts.MaxWait)
	}
	if wait > 0 {
		return s.answer(s.follow(ctx, req, h, wait))
	}
	if job, err = s.refresh(ctx, job, h); err != nil {
		return mcp.NewToolResultError("job_status: " + err.Error())
	}
	return s.answer(job)
}

func (s *toolset) jobResult(ctx context.Context, _ mcp.CallToolRequest, raw json.RawMessage) *mcp.CallToolResult {
	args := decodeArgs[jobResultArgs](raw)
	job, h, err := s.lookup(ctx, args.jobRef)
	if err != nil {
		return mcp.NewToolResultError("job_result: " + err.Error())
	}
	if !finished(job.Status) {
		if job, err = s.refresh(ctx, job, h); err != nil {
			return mcp.NewToolResultError("job_result: " + err.Error())
		}
	}
	if !finished(job.Status) {
		if job.Next == "" { // else: why the output could not be fetched
			job.Next = fmt.Sprintf(`the job is still %s: call job_status with {"request_id": %q, "wait_seconds": %d}, then job_result again`,
				job.Status, job.RequestID, int(s.opts.MaxWait/time.Second))
		}
		return job.toolResult(true)
	}
	if job.Status == StatusCompleted && (s.opts.DownloadAlways || args.Download != nil && *args.Download) {
		if err := s.download(ctx, &job); err != nil {
			res := job.toolResult(true)
			res.Content = append([]mcp.Content{mcp.NewTextContent("job_result: saving the outputs failed: " + err.Error())}, res.Content...)
			return res
		}
	}
	return job.toolResult(job.Status != StatusCompleted)
}

func (s *toolset) jobCancel(ctx context.Context, _ mcp.CallToolRequest, raw json.RawMessage) *mcp.CallToolResult {
	args := decodeArgs[jobRef](raw)
	job, h, err := s.lookup(ctx, args)
	if err != nil {
		return mcp.NewToolResultError("job_cancel: " + err.Error())
	}
	if finished(job.Status) {
		job.Next = "the job had already ended; nothing to cancel"
		return job.toolResult(false)
	}
	outcome, err := s.opts.Fal.Cancel(ctx, h)
	if err != nil {
		return mcp.NewToolResultError(fmt.Sprintf("job_cancel: fal did not take the cancel: %v", err))
	}
	if outcome == falqueue.CancelNotFound {
		return mcp.NewToolResultError(fmt.Sprintf("job_cancel: fal does not know request %s on %s", job.RequestID, job.EndpointID))
	}
	job, err = s.refresh(ctx, job, h)
	if err != nil {
		return mcp.NewToolResultError("job_cancel: " + err.Error())
	}
	if !finished(job.Status) {
		job.Next = "fal asked the model to stop; a running job may still finish: check with job_status"
	}
	return job.toolResult(false)
}

func (s *toolset) jobList(_ context.Context, _ mcp.CallToolRequest, raw json.RawMessage) *mcp.CallToolResult {
	args := decodeArgs[jobListArgs](raw)
	if args.Limit == 0 {
		args.Limit = 20
	}
	jobs := s.jobs.list(args.Status, args.EndpointID, args.Limit)
	if jobs == nil {
		jobs = []Job{}
	}
	text := fmt.Sprintf("%d job(s)", len(jobs))
	if s.opts.LedgerProblem != "" {
		text = "Job history is unavailable (" + s.opts.LedgerProblem + "); only this session's jobs are listed.\n" + text
	}
	for _, j := range jobs {
		text += fmt.Sprintf("\n- %s %s %s (%s)", j.RequestID, j.Tool, j.Status, j.SubmittedAt.Format(time.RFC3339))
	}
	return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(text)}, StructuredContent: map[string]any{"jobs": jobs}}
}
