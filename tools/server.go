// Package tools is the MCP face of fal-video-mcp: it builds the MCP server,
// registers one tool per catalog endpoint plus the job tools, validates
// arguments, waits on jobs and shapes their results. With main.go it is the
// only place that speaks MCP; below it, falqueue speaks fal.
package tools

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/fal-video-mcp/fal-video-mcp/tools/ledger"
	"github.com/fal-video-mcp/fal-video-mcp/tools/localfile"
	"github.com/mark3labs/mcp-go/server"
)

// Name is the server's name in the MCP handshake.
const Name = "fal-video-mcp"

// Default waits.
const (
	DefaultWait    = 20 * time.Second
	DefaultMaxWait = 50 * time.Second
)

// Options are what the server is built from. Dependencies are injected;
// the package keeps no globals.
type Options struct {
	// Version is reported in the MCP handshake.
	Version string
	// Fal is the one queue client every tool shares.
	Fal *falqueue.Client
	// Logger receives the server's own log lines (stderr in production).
	Logger *slog.Logger
	// MaxWait caps every wait_seconds (default 50 s): clients time calls
	// out, so a call never blocks longer than this.
	MaxWait time.Duration
	// DryRun marks every job as run against the offline emulator.
	DryRun bool
	// NoKey makes every submit fail with instructions: no fal key is set
	// and the server is not in dry-run mode.
	NoKey bool
	// Ledger, if set, keeps every job across restarts and processes.
	Ledger *ledger.Ledger
	// LedgerProblem says why there is no ledger (it could not be opened);
	// the job tools tell the user.
	LedgerProblem string
	// Context, with a Ledger, runs the followers that capture every
	// unfinished job's result until it ends (the server's lifetime).
	Context context.Context
	// OnJobEnd, if set, is called once when a job this server follows ends.
	OnJobEnd func(Job)
	// Files decides which local files media inputs and upload_file may
	// read. Nil allows none (a local path gets an error saying how to
	// allow a folder).
	Files *localfile.Policy
	// ClientRoots lets media inputs and upload_file also read the folders
	// the client shares as MCP roots. Set it only when the client is the
	// user's own application (stdio), never for remote clients (HTTP, SSE).
	ClientRoots bool
	// Output is where job_result saves output files when asked to
	// (download: true) or always with DownloadAlways. Nil: no downloads.
	Output         *localfile.OutputDir
	DownloadAlways bool
	// MaxDownloadSize caps each downloaded output file, in bytes; 0:
	// DefaultMaxDownloadSize.
	MaxDownloadSize int64
	// Tools, if set, exposes only these tools: tool names or endpoint ids
	// (an endpoint id names its tool). The job tools and upload_file are
	// always kept.
	Tools []string
	// ReadOnly exposes only the tools that spend nothing: job_status,
	// job_result, job_list and probe_media.
	ReadOnly bool
	// MediaOrigins are origins besides fal's media hosts that the player
	// view may load media from (the emulator's CDN in dry-run).
	MediaOrigins []string
	// Background, if set, counts the followers' goroutine: wait on it
	// after Context ends and before closing the Ledger.
	Background *sync.WaitGroup
	// RetryBackoff is the first delay before a follower tries fal again
	// (default 1 s, doubling up to a minute); tests shorten it.
	RetryBackoff time.Duration
	// Now is the clock of result retention and repeated answers (default
	// time.Now); tests move it.
	Now func() time.Time
	// Spend control (tools/cost.go). MaxJobCost refuses a job estimated
	// above it; Budget refuses a job that would take the estimated spend
	// of the last 24 h (every process of the ledger) above it;
	// ConfirmAbove asks the user, through elicitation, before a job
	// estimated above it (of unknown cost: see UnknownCost). Nil: no limit.
	MaxJobCost, Budget, ConfirmAbove *float64
	// UnknownCost is what happens to a job whose cost cannot be estimated:
	// UnknownCostRefuse, UnknownCostAsk (the user is asked, as above
	// ConfirmAbove) or UnknownCostAllow. "" is DefaultUnknownCost of the
	// limits set. Under ask and allow, the budget counts such a job at
	// MaxJobCost when set, else at the whole Budget — never at $0.
	UnknownCost string
	// DedupeWindow answers a call identical to one submitted this long ago
	// or less (not failed or cancelled) with that job. 0: off.
	DedupeWindow time.Duration
	// LivePrices asks fal's pricing API (cached in the ledger for a day)
	// before the built-in table of published prices.
	LivePrices bool
	// ProbeInputURLs lets estimates read the headers of media URLs given
	// as inputs (range requests, public hosts only) to learn their length;
	// off, only local files are probed and such costs may stay unknown.
	ProbeInputURLs bool
}

// toolset is the state the tools of one MCP server share.
type toolset struct {
	opts      Options
	jobs      *jobStore
	endpoints map[string]*endpointTool // by endpoint id
	// validators check each tool's arguments, by tool name.
	validators map[string]*validator
	followers  *followers
	uploads    *uploads
	spend      *spending

	savingMu sync.Mutex
	saving   map[string]*sync.Mutex // per job: its outputs are being saved
}

func (s *toolset) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now()
	}
	return time.Now()
}

// NewServer builds the MCP server with every tool registered. A tool whose
// schema cannot be built is a programming error: it fails here, at start-up,
// never at call time.
func NewServer(opts Options) (*server.MCPServer, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = DefaultMaxWait
	}
	switch opts.UnknownCost {
	case "", UnknownCostRefuse, UnknownCostAsk, UnknownCostAllow:
	default:
		return nil, fmt.Errorf("unknown-cost policy %q: want refuse, ask or allow", opts.UnknownCost)
	}
	s := &toolset{opts: opts, endpoints: map[string]*endpointTool{}}
	s.jobs = newJobStore(opts.Ledger, opts.Logger, opts.OnJobEnd)
	s.jobs.fal = opts.Fal
	life := opts.Context
	if life == nil {
		life = context.Background()
	}
	s.followers = newFollowers(s, life)
	if opts.Files == nil {
		opts.Files, _ = localfile.NewPolicy(nil, 0)
		s.opts.Files = opts.Files
	}
	s.spend = newSpending(opts)
	s.uploads = &uploads{policy: opts.Files, roots: opts.ClientRoots, log: opts.Logger, fal: opts.Fal, led: opts.Ledger, dryRun: opts.MediaOrigins, done: map[uploadKey]uploaded{}}
	all, err := s.allTools()
	if err != nil {
		return nil, err
	}
	enabled, err := selectTools(all, opts.Tools, opts.ReadOnly)
	if err != nil {
		return nil, err
	}
	mcp := server.NewMCPServer(Name, opts.Version, append([]server.ServerOption{
		server.WithInstructions(instructions(enabled)),
		server.WithToolCapabilities(true),
		server.WithLogging(),
		server.WithRecovery(),
		server.WithLogger(opts.Logger), // one line per request and per tool call
		server.WithToolHandlerMiddleware(fitResults), server.WithToolFilter(fitTools),
	}, append(s.appOptions(), s.spendOptions()...)...)...)
	mcp.AddTools(enabled...)
	s.addApp(mcp)
	if opts.Context != nil {
		// The followers adopt the ledger's unfinished jobs and stop with
		// the context; the flusher writes their progress. Both are done
		// before Background is.
		if opts.Background != nil {
			opts.Background.Add(1)
		}
		go func() {
			if opts.Background != nil {
				defer opts.Background.Done()
			}
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); s.jobs.flush(opts.Context) }()
			s.followers.adoptLoop()
			wg.Wait()
			s.jobs.flushOnce()
		}()
	}
	return mcp, nil
}

// allTools builds every tool (tools/build.go says how a tool is made):
// one per catalog endpoint, the job tools, upload_file and probe_media.
func (s *toolset) allTools() ([]server.ServerTool, error) {
	prereflect()
	var all []server.ServerTool
	for _, row := range schemas.Catalog {
		et, err := s.newEndpointTool(row)
		if err != nil {
			return nil, err
		}
		s.endpoints[row.ID] = et
		all = append(all, server.ServerTool{Tool: et.tool, Handler: et.handle})
	}
	jobTools, err := s.jobTools()
	if err != nil {
		return nil, err
	}
	upload, err := s.uploadTool()
	if err != nil {
		return nil, err
	}
	probe, err := s.probeTool()
	if err != nil {
		return nil, err
	}
	return append(append(all, jobTools...), upload, probe), nil
}

// readOnlyTools spend nothing and change nothing on fal.
var readOnlyTools = map[string]bool{"job_status": true, "job_result": true, "job_list": true, "probe_media": true}

// selectTools applies --tools and --read-only. An unknown name is an
// error that lists the valid ones.
func selectTools(all []server.ServerTool, names []string, readOnly bool) ([]server.ServerTool, error) {
	want := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if row, ok := schemas.Lookup(n); ok {
			n = row.Tool
		}
		found := false
		for _, t := range all {
			found = found || t.Tool.Name == n
		}
		if !found {
			var valid []string
			for _, t := range all {
				valid = append(valid, t.Tool.Name)
			}
			return nil, fmt.Errorf("--tools: unknown tool %q; valid tools (or their endpoint ids): %s", n, strings.Join(valid, ", "))
		}
		want[n] = true
	}
	var out []server.ServerTool
	for _, t := range all {
		name := t.Tool.Name
		switch {
		case readOnly && !readOnlyTools[name]:
		case len(want) > 0 && !want[name] && !strings.HasPrefix(name, "job_") && name != "upload_file" && name != "probe_media":
		default:
			out = append(out, t)
		}
	}
	return out, nil
}

// instructions tell the model what the server is for and how to drive the
// tools it has: what every tool shares is said here, once, and each tool's
// description keeps what is particular to it.
func instructions(enabled []server.ServerTool) string {
	has := map[string]bool{}
	for _, t := range enabled {
		has[t.Tool.Name] = true
	}
	var b strings.Builder
	b.WriteString("fal-video-mcp edits and generates video with fal.ai's video-to-video models.\n")
	var endpoints []string
	for _, row := range schemas.Catalog {
		if has[row.Tool] {
			endpoints = append(endpoints, fmt.Sprintf("- %s: %s", row.Tool, row.Title))
		}
	}
	if len(endpoints) > 0 {
		b.WriteString(`How jobs run: each endpoint tool submits one job to fal's queue, where GPU work can take minutes, waits up to wait_seconds and returns the job as it stands. Every job costs money on the user's fal account: submit only what the user asked for; never submit again to "retry" a job that is still queued or running, nor one whose submit outcome was reported unknown.
Media fields take ` + mediaAccepted + `; a local file is uploaded to fal first.
Costs: each job carries estimated_cost_usd (null when fal publishes no price) and cost_basis. estimate_only: true validates and estimates, and submits nothing. A call identical to one submitted within the last minutes returns that job instead of paying again; force_new: true submits anyway. The server may refuse a job over the user's limits, or ask the user first.
Endpoint tools:
`)
		b.WriteString(strings.Join(endpoints, "\n"))
		b.WriteString("\n")
	} else {
		b.WriteString("This server runs read-only: it submits nothing and spends nothing; it reports on jobs already submitted.\n")
	}
	b.WriteString("Statuses: queued, running, completed, failed, cancelled, unknown, estimate (see status below).\n")
	b.WriteString("The endpoint and job tools return a job (structured content) with: " + jobFields() + ".\n")
	var jobs []string
	for _, name := range []string{"job_status", "job_result", "job_cancel", "job_list", "upload_file"} {
		if has[name] {
			jobs = append(jobs, name)
		}
	}
	fmt.Fprintf(&b, "Job tools: %s. Follow an unfinished job (queued or running) with job_status and its request_id (its wait_seconds waits for the end), then fetch the output with job_result (download: true also saves the files).", strings.Join(jobs, ", "))
	if has["probe_media"] {
		b.WriteString("\nprobe_media tells a video's duration, frame rate and frame count: probe an input before choosing frame numbers or frame rates.")
	}
	return b.String()
}

// jobFields lists the Job's fields as its struct says them: the JSON name
// and, where the field has one, its description (and a list's items'
// fields).
func jobFields() string { return fieldsOf(reflect.TypeFor[Job]()) }

func fieldsOf(t reflect.Type) string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		d := strings.TrimSuffix(f.Tag.Get("jsonschema_description"), ".")
		if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct {
			d += ": " + strings.ReplaceAll(fieldsOf(f.Type.Elem()), "; ", ", ")
		}
		if d != "" {
			name += " (" + d + ")"
		}
		out = append(out, name)
	}
	return strings.Join(out, "; ")
}
