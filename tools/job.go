package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/fal-video-mcp/fal-video-mcp/tools/ledger"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Job statuses as the tools report them (and the ledger stores them).
const (
	StatusQueued    = ledger.StatusQueued
	StatusRunning   = ledger.StatusRunning
	StatusCompleted = ledger.StatusCompleted
	StatusFailed    = ledger.StatusFailed
	StatusCancelled = ledger.StatusCancelled
	StatusUnknown   = ledger.StatusUnknown
)

// finished reports whether a status is an end.
func finished(status string) bool { return ledger.Final(status) }

// Job is the one shape every tool result has: a fal job as it stands.
type Job struct {
	RequestID     string          `json:"request_id" jsonschema:"required" jsonschema_description:"fal's id of the job; pass it to job_status, job_result and job_cancel."`
	EndpointID    string          `json:"endpoint_id" jsonschema:"required" jsonschema_description:"The fal endpoint the job runs on."`
	Tool          string          `json:"tool" jsonschema:"required" jsonschema_description:"The tool that submitted the job."`
	Status        string          `json:"status" jsonschema:"required,enum=queued,enum=running,enum=completed,enum=failed,enum=cancelled,enum=unknown,enum=estimate" jsonschema_description:"Where the job stands; unknown: the submit's answer never came back, so fal may have queued (and billed) it; it was not resubmitted. estimate: estimate_only was set, nothing was submitted."`
	QueuePosition *int            `json:"queue_position,omitempty" jsonschema_description:"Requests ahead of this one in fal's queue, while queued."`
	Logs          []string        `json:"logs,omitempty" jsonschema_description:"The most recent log lines of the job."`
	SubmittedAt   time.Time       `json:"submitted_at" jsonschema:"required"`
	UpdatedAt     time.Time       `json:"updated_at" jsonschema:"required"`
	CompletedAt   *time.Time      `json:"completed_at,omitempty"`
	Error         string          `json:"error,omitempty" jsonschema_description:"fal's error detail, verbatim, when the job failed."`
	Result        json.RawMessage `json:"result,omitempty" jsonschema_description:"The endpoint's output, once completed."`
	Files         []OutputFile    `json:"files,omitempty" jsonschema_description:"Every output file of a completed job."`
	DryRun        bool            `json:"dry_run,omitempty" jsonschema_description:"True when the server runs against its offline fal emulator: nothing was sent to fal and nothing was billed."`
	Next          string          `json:"next,omitempty" jsonschema_description:"What to call next."`
	Input         json.RawMessage `json:"input,omitempty" jsonschema_description:"The input as sent, for a job whose status is unknown."`
	// EstimatedCostUSD is always present: null when the cost is unknown.
	EstimatedCostUSD *float64 `json:"estimated_cost_usd" jsonschema:"oneof_type=number;null" jsonschema_description:"The job's cost in USD as estimated before it was submitted, from fal's price and the input; null when it is not known."`
	CostBasis        string   `json:"cost_basis,omitempty" jsonschema_description:"How the estimate was reached (5 s × $0.08/s at 720p), or why the cost is unknown."`
	// Reused marks a call answered with an earlier job instead of a new one
	// (the dedupe window): ReusedReason says why, and Next how to get a new
	// job instead.
	Reused       bool   `json:"reused,omitempty" jsonschema_description:"True when this call was answered with an earlier job of the same call instead of submitting a new one; next says how to submit a new one."`
	ReusedReason string `json:"reused_reason,omitempty" jsonschema_description:"Why the earlier job was returned, when reused."`

	fetchFailed bool      // failed only because the result could not be fetched
	inputHash   string    // the tool's canonical input, for dedupe
	dedupeSince time.Time // set: the write-ahead returns a job of the same input since then (ledger.Job.DedupeSince)
}

// OutputFile is one file of a job's output.
type OutputFile struct {
	URL         string `json:"url" jsonschema:"required"`
	ContentType string `json:"content_type,omitempty"`
	FileName    string `json:"file_name,omitempty"`
	FileSize    *int64 `json:"file_size,omitempty"`
	LocalPath   string `json:"local_path,omitempty" jsonschema_description:"Where the file was saved, when job_result downloaded it."`
}

// recentLogs is how many log lines a Job carries.
const recentLogs = 20

// envelopeFields are the Job fields the output schema types: what an
// agent acts on. The envelope is open: the Job's other fields — listed
// once, with what they mean, in the server's instructions — are in the
// structured content too.
var envelopeFields = []string{"request_id", "status", "result", "files"}

// envelope is the Job envelope of every output schema, built once from
// the Job struct's reflected schema: its fields' types, no descriptions,
// no required list (the instructions say them once).
var envelope = sync.OnceValues(func() (map[string]any, error) {
	doc, err := schemas.SchemaDoc(reflect.TypeFor[Job]())
	if err != nil {
		return nil, err
	}
	all, _ := doc["properties"].(map[string]any)
	props := map[string]any{}
	for _, name := range envelopeFields {
		p, ok := all[name]
		if !ok {
			return nil, fmt.Errorf("job schema: Job has no field %s", name)
		}
		props[name] = terse(p, 0)
	}
	delete(props["status"].(map[string]any), "enum") // the instructions list the statuses
	delete(props["files"].(map[string]any), "items") // and what a file has
	return map[string]any{"type": "object", "properties": props}, nil
})

// terse is a schema without descriptions, required lists or
// additionalProperties (open: the content may carry more fields), its
// objects' properties kept to depth levels (-1: all), deeper objects
// only typed.
func terse(schema any, depth int) any {
	m, ok := schema.(map[string]any)
	if !ok {
		return schema
	}
	out := map[string]any{}
	for k, v := range m {
		switch k {
		case "description", "additionalProperties":
		case "properties":
			if depth == 0 {
				continue
			}
			props := map[string]any{}
			for name, p := range v.(map[string]any) {
				props[name] = terse(p, depth-1)
			}
			out[k] = props
		case "required":
		case "items":
			out[k] = terse(v, depth)
		default:
			out[k] = v
		}
	}
	return out
}

// jobSchema is the output schema of a tool that returns a Job: the
// envelope with result typed as the endpoint's output — its fields and
// their types, one level deep — or any object (the job tools: output
// nil).
func jobSchema(output reflect.Type) (json.RawMessage, error) {
	env, err := envelope()
	if err != nil {
		return nil, err
	}
	if output == nil {
		return json.Marshal(env)
	}
	out, err := schemas.SchemaDoc(output)
	if err != nil {
		return nil, err
	}
	props := maps.Clone(env["properties"].(map[string]any))
	props["result"] = terse(out, 1)
	return json.Marshal(map[string]any{"type": "object", "properties": props})
}

// summary is the one-paragraph text beside the structured Job.
func (j *Job) summary() string {
	var b strings.Builder
	if j.Status == StatusUnknown {
		j.unknownSummary(&b)
		return b.String()
	}
	fmt.Fprintf(&b, "Job %s on %s is %s", j.RequestID, j.EndpointID, j.Status)
	if j.QueuePosition != nil && j.Status == StatusQueued {
		fmt.Fprintf(&b, " (position %d in the queue)", *j.QueuePosition)
	}
	b.WriteString(".")
	if j.DryRun {
		b.WriteString(" (dry run: fal's emulator, nothing billed)")
	}
	if j.Error != "" {
		fmt.Fprintf(&b, "\nError from fal: %s", j.Error)
	}
	j.costLine(&b)
	for _, f := range j.Files {
		fmt.Fprintf(&b, "\nOutput: %s", f.URL)
		if f.ContentType != "" {
			fmt.Fprintf(&b, " (%s)", f.ContentType)
		}
		if f.LocalPath != "" {
			fmt.Fprintf(&b, "\nSaved to: %s", f.LocalPath)
		}
	}
	if n := len(j.Logs); n > 0 {
		fmt.Fprintf(&b, "\nLast log line: %s", j.Logs[n-1])
	}
	if j.Next != "" {
		fmt.Fprintf(&b, "\nNext: %s", j.Next)
	}
	return b.String()
}

// falRequests is where a user finds the requests fal ran for their account.
const falRequests = "https://fal.ai/dashboard/requests"

// unknownSummary explains a job whose submit's answer never came back.
func (j *Job) unknownSummary(b *strings.Builder) {
	fmt.Fprintf(b, "Job %s (%s on %s) is unknown: it was sent to fal at %s, but fal's answer never reached this server",
		j.RequestID, j.Tool, j.EndpointID, j.SubmittedAt.Format(time.RFC3339))
	if j.Error != "" {
		fmt.Fprintf(b, " (%s)", j.Error)
	}
	b.WriteString(".\nfal may have queued it, and billed it; this server did not resubmit it and never will. ")
	fmt.Fprintf(b, "Look for a request to %s at that time on %s before running it again.", j.EndpointID, falRequests)
	if j.DryRun {
		b.WriteString(" (dry run: fal's emulator, nothing billed)")
	}
	j.costLine(b)
	if len(j.Input) > 0 {
		fmt.Fprintf(b, "\nInput as sent: %s", j.Input)
	}
}

// toolResult renders a Job as a tool result: structured content, a text
// summary and a resource link per output file.
func (j *Job) toolResult(isError bool) *mcp.CallToolResult {
	content := []mcp.Content{mcp.NewTextContent(j.summary())}
	for _, f := range j.Files {
		name := f.FileName
		if name == "" {
			name = f.URL[strings.LastIndex(f.URL, "/")+1:]
		}
		content = append(content, mcp.NewResourceLink(f.URL, name, "output of "+j.Tool+" job "+j.RequestID, f.ContentType))
		if f.LocalPath != "" {
			content = append(content, mcp.NewResourceLink((&url.URL{Scheme: "file", Path: f.LocalPath}).String(),
				filepath.Base(f.LocalPath), "saved output of "+j.Tool+" job "+j.RequestID, f.ContentType))
		}
	}
	return &mcp.CallToolResult{Content: content, StructuredContent: j, IsError: isError}
}

// outputFiles finds every fal File object in an output: an object whose
// "url" is an http(s) URL (fal's File has url, and optionally
// content_type, file_name and file_size).
func outputFiles(output json.RawMessage) []OutputFile {
	var v any
	if json.Unmarshal(output, &v) != nil {
		return nil
	}
	var files []OutputFile
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if u, ok := v["url"].(string); ok && (strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) {
				f := OutputFile{URL: u}
				f.ContentType, _ = v["content_type"].(string)
				f.FileName, _ = v["file_name"].(string)
				if n, ok := v["file_size"].(float64); ok {
					size := int64(n)
					f.FileSize = &size
				}
				files = append(files, f)
				return
			}
			for _, k := range sortedKeys(v) {
				walk(v[k])
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	return files
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// fitResults is the tool middleware that shapes every tool result for the
// protocol version the client negotiated (fitResult).
func fitResults(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		res, err := next(ctx, req)
		if err != nil || res == nil {
			return res, err
		}
		return fitResult(res, server.RequestProtocolVersion(ctx)), nil
	}
}

// before reports whether the negotiated version is older than v; an
// unknown version counts as the newest.
func before(version, v string) bool { return version != "" && version < v }

// fitResult keeps a tool result within what the client's protocol
// version defines. Before 2025-06-18 there is neither structuredContent
// nor resource_link content: the links become text (unless the text
// already names their URL), the structured Job is left out (its summary
// is in the text).
func fitResult(res *mcp.CallToolResult, version string) *mcp.CallToolResult {
	if !before(version, mcp.ProtocolVersion20250618) {
		return res
	}
	out := *res
	out.StructuredContent, out.RawStructuredContent, out.Content = nil, nil, nil
	var texts, links []string
	for _, c := range res.Content {
		if t, ok := c.(mcp.TextContent); ok {
			texts = append(texts, t.Text)
		}
	}
	for _, c := range res.Content {
		l, ok := c.(mcp.ResourceLink)
		if !ok {
			out.Content = append(out.Content, c)
			continue
		}
		if slices.ContainsFunc(texts, func(t string) bool { return strings.Contains(t, l.URI) }) {
			continue
		}
		line := fmt.Sprintf("%s: %s", l.Description, l.URI)
		if l.MIMEType != "" {
			line += " (" + l.MIMEType + ")"
		}
		links = append(links, line)
	}
	if len(links) > 0 {
		out.Content = append(out.Content, mcp.NewTextContent(strings.Join(links, "\n")))
	}
	return &out
}

// fitTools is the tools/list filter that leaves out the tool fields the
// client's protocol version does not define: title and outputSchema
// arrived in 2025-06-18, icons and execution in 2025-11-25. (mcp-go always
// sends annotations, which arrived in 2025-03-26.)
func fitTools(ctx context.Context, tools []mcp.Tool) []mcp.Tool {
	version := server.RequestProtocolVersion(ctx)
	if !before(version, mcp.ProtocolVersion20251125) {
		return tools
	}
	out := make([]mcp.Tool, len(tools))
	for i, t := range tools {
		t.Icons, t.Execution = nil, nil
		if before(version, mcp.ProtocolVersion20250618) {
			t.Title, t.OutputSchema, t.RawOutputSchema = "", mcp.ToolOutputSchema{}, nil
		}
		out[i] = t
	}
	return out
}
