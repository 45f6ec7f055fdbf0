package tools

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/mark3labs/mcp-go/mcp"
)

// endpointTool is the tool of one catalog row; one generic handler serves
// them all.
type endpointTool struct {
	s         *toolset
	row       schemas.Endpoint
	tool      mcp.Tool
	validator *validator
	media     []string // paths of the media fields, for local files
}

const waitProperty = "wait_seconds"

func (s *toolset) newEndpointTool(row schemas.Endpoint) (*endpointTool, error) {
	out, err := jobSchema(row.Output)
	if err != nil {
		return nil, err
	}
	media := schemas.MediaPaths(row.Input)
	et := &endpointTool{s: s, row: row, media: media}
	st, v, err := s.build(toolSpec{
		name: row.Tool, title: row.Title, description: endpointDescription(row, media),
		input: row.Input, extra: s.endpointProperties(), output: out,
		idempotent: false, // every call is a new paid job
		serve:      et.handle,
	})
	if err != nil {
		return nil, err
	}
	et.tool, et.validator = st.Tool, v
	return et, nil
}

// endpointDescription is what is particular to one endpoint tool; what
// every endpoint tool shares (how jobs run and are followed, what media
// fields take) is in the server's instructions.
func endpointDescription(row schemas.Endpoint, media []string) string {
	d := fmt.Sprintf("%s\nRuns %s.", strings.TrimSpace(row.Purpose), row.ID)
	if len(media) > 0 {
		d += " Media fields: " + strings.ReplaceAll(strings.Join(media, ", "), "[]", "") + "."
	}
	return d
}

// handle validates, submits, and waits for the job.
func (et *endpointTool) handle(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	sa := spendArgsOf(req)
	args, input, wait, err := et.parse(req)
	if err != nil {
		return mcp.NewToolResultError(fmt.Sprintf("%s: %v\nNothing was sent to fal.", et.row.Tool, err)), nil
	}
	s := et.s
	cost, res := et.gate(ctx, req, sa, args, input, wait)
	if res != nil {
		return res, nil
	}
	defer cost.done()
	if s.opts.NoKey {
		return mcp.NewToolResultError("no fal key is set, so nothing was submitted: set FAL_KEY (or FAL_KEY_ID and FAL_KEY_SECRET) " +
			"in the server's environment, or start it with --dry-run to try the tools offline."), nil
	}
	if err := s.uploads.resolveMedia(ctx, args, et.media, cost.files); err != nil {
		return mcp.NewToolResultError(fmt.Sprintf("%s: %v\nNothing was submitted.", et.row.Tool, err)), nil
	}
	if input, err = et.decode(args); err != nil {
		return mcp.NewToolResultError(fmt.Sprintf("%s: %v\nNothing was submitted.", et.row.Tool, err)), nil
	}
	job, err := s.submit(ctx, et.row, input, cost)
	cost.done() // the job is in the ledger: an identical call now finds it
	// Another process wrote the same call ahead first: answer with its job.
	if dup, ok := s.duplicateOf(err); ok {
		return s.duplicateResult(ctx, req, dup, wait), nil
	}
	if err != nil {
		return mcp.NewToolResultError(err.Error()), nil
	}
	if job.Status == StatusUnknown {
		s.opts.Logger.Warn("a submit's outcome is unknown", "tool", et.row.Tool, "local_id", job.RequestID, "err", job.Error)
		return s.answer(job), nil
	}
	s.opts.Logger.Info("job submitted", "tool", et.row.Tool, "request_id", job.RequestID)
	clientLog(ctx, mcp.LoggingLevelInfo, "job submitted", map[string]any{"tool": et.row.Tool, "endpoint_id": et.row.ID, "request_id": job.RequestID})
	if wait > 0 {
		job = s.await(ctx, req, job.RequestID, wait)
	}
	if finished(job.Status) {
		level := mcp.LoggingLevelInfo
		if job.Status != StatusCompleted {
			level = mcp.LoggingLevelWarning
		}
		clientLog(ctx, level, "job "+job.Status, map[string]any{"tool": et.row.Tool, "request_id": job.RequestID, "status": job.Status})
	}
	return s.answer(job), nil
}

// parse validates the arguments against the advertised schema, then the
// endpoint's cross-field rules, and returns them (without wait_seconds),
// the input and the wait.
func (et *endpointTool) parse(req mcp.CallToolRequest) (map[string]any, any, time.Duration, error) {
	// The arguments are the caller's: they are copied, never changed in
	// place (a call may be handled again with the same request).
	args := map[string]any{}
	if raw, err := json.Marshal(req.GetArguments()); err == nil {
		_ = json.Unmarshal(raw, &args)
	}
	if args == nil {
		args = map[string]any{}
	}
	if err := et.validator.check(args); err != nil {
		return nil, nil, 0, err
	}
	wait := et.s.waitFrom(args)
	delete(args, waitProperty)
	delete(args, estimateOnlyProperty)
	delete(args, forceNewProperty)
	input, err := et.decode(args)
	if err != nil {
		return nil, nil, 0, err
	}
	if err := schemas.Check(input); err != nil {
		var msgs []string
		for _, fe := range schemas.FieldErrors(err) {
			msgs = append(msgs, fe.Error())
		}
		if len(msgs) == 0 {
			msgs = []string{err.Error()}
		}
		return nil, nil, 0, fmt.Errorf("invalid arguments:\n- %s", strings.Join(msgs, "\n- "))
	}
	return args, input, wait, nil
}

// decode turns arguments into the endpoint's input struct.
func (et *endpointTool) decode(args map[string]any) (any, error) {
	raw, _ := json.Marshal(args)
	input := et.row.NewInput()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(input); err != nil {
		return nil, fmt.Errorf("arguments: %v", err)
	}
	return input, nil
}

// waitFrom reads wait_seconds (default 20 s), capped by the server's max.
func (s *toolset) waitFrom(args map[string]any) time.Duration {
	wait := DefaultWait
	if v, ok := args[waitProperty].(float64); ok {
		wait = time.Duration(v * float64(time.Second))
	}
	return min(max(wait, 0), s.opts.MaxWait)
}

// submit sends one job to fal, written ahead to the ledger: the job's row
// (under a local id, status unknown) exists before the request leaves the
// process, and fal's answer fills in the request id. A submit whose answer
// never comes stays unknown — shown, never dropped, never resubmitted. A
// submit fal refused for certain leaves no job, and the error says why.
//
// The submit does not end with the client's call: once sent, its answer
// is awaited (within the request timeout) even if the client cancels.
func (s *toolset) submit(ctx context.Context, row schemas.Endpoint, input any, c jobCost) (Job, error) {
	sent, err := json.Marshal(input)
	if err != nil {
		return Job{}, fmt.Errorf("%s: the input does not encode as JSON: %v", row.Tool, err)
	}
	now := time.Now().UTC()
	localID := newLocalID()
	if err := s.jobs.prepare(Job{RequestID: localID, EndpointID: row.ID, Tool: row.Tool, Status: StatusUnknown,
		SubmittedAt: now, UpdatedAt: now, DryRun: s.opts.DryRun, Input: sent,
		EstimatedCostUSD: c.est.USD, CostBasis: c.est.Basis, inputHash: c.hash, dedupeSince: c.dedupeSince}, sent, s.budgetCap()); err != nil {
		if isDuplicate(err) {
			return Job{}, err
		}
		return Job{}, s.overBudget(ctx, row, c.est, err)
	}
	h, err := s.opts.Fal.Submit(context.WithoutCancel(ctx), row.ID, json.RawMessage(sent), falqueue.SubmitOptions{})
	if err != nil {
		if mayHaveQueued(err) {
			return s.jobs.lost(localID, err.Error()), nil
		}
		s.jobs.discard(localID)
		return Job{}, errors.New(submitError(row.ID, err))
	}
	job := s.jobs.submitted(localID, h, s.followers.owner, s.followers.ensureOwn)
	return job, nil
}

// newLocalID names a job before fal has answered its submit.
func newLocalID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "local-" + hex.EncodeToString(b)
}

// mayHaveQueued reports whether a failed submit may have created a job:
// the answer was lost, or fal's queue itself answered 500 or timed out.
func mayHaveQueued(err error) bool {
	var ae *falqueue.APIError
	if errors.Is(err, falqueue.ErrSubmitUnknown) {
		return true
	}
	return errors.As(err, &ae) && (ae.StatusCode == http.StatusInternalServerError ||
		ae.StatusCode == http.StatusGatewayTimeout && !ae.UserTimeout())
}

// submitError explains a failed submit to the model and the user.
func submitError(endpointID string, err error) string {
	var ve *falqueue.ValidationError
	var ae *falqueue.APIError
	switch {
	case errors.As(err, &ve):
		var msgs []string
		for _, f := range ve.Fields {
			msgs = append(msgs, f.String())
		}
		return fmt.Sprintf("fal refused the input for %s:\n- %s\nNothing was queued.", endpointID, strings.Join(msgs, "\n- "))
	case errors.Is(err, falqueue.ErrUnauthorized):
		return fmt.Sprintf("fal refused the key (%v): check FAL_KEY in the server's environment. Nothing was queued.", err)
	case errors.As(err, &ae):
		return fmt.Sprintf("fal did not accept the job for %s: %v\nNothing was queued.", endpointID, err)
	}
	return fmt.Sprintf("could not submit to %s: %v\nNothing was queued.", endpointID, err)
}
