package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/fal-video-mcp/fal-video-mcp/tools/ledger"
	"github.com/fal-video-mcp/fal-video-mcp/tools/localfile"
	"github.com/fal-video-mcp/fal-video-mcp/tools/mediaprobe"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// The arguments every endpoint tool takes besides the endpoint's input.
const (
	estimateOnlyProperty = "estimate_only"
	forceNewProperty     = "force_new"
)

// spendArgs are estimate_only and force_new as a call gives them.
type spendArgs struct{ estimateOnly, forceNew bool }

func spendArgsOf(req mcp.CallToolRequest) spendArgs {
	args := req.GetArguments()
	eo, _ := args[estimateOnlyProperty].(bool)
	fn, _ := args[forceNewProperty].(bool)
	return spendArgs{estimateOnly: eo, forceNew: fn}
}

// jobCost is what the gates learn of a job before its submit: its
// estimate and its canonical input's hash (for dedupe).
type jobCost struct {
	est  schemas.Estimate
	hash string
	// files are the SHA-256 of the call's local files, taken for hash: the
	// upload sends the bytes they name (see canonicalHash).
	files map[string]string
	// dedupeSince makes the write-ahead return a job of the same input
	// submitted since then instead of writing (unset: force_new).
	dedupeSince time.Time
	// done ends this call's claim on its input (see spending.claim); the
	// handler calls it once the submit is over.
	done func()
}

// budgetCap is the budget the ledger checks as it writes the job ahead
// (nil: no budget). A job of unknown cost counts at unknownFigure.
func (s *toolset) budgetCap() *ledger.SpendCap {
	if s.opts.Budget == nil {
		return nil
	}
	return &ledger.SpendCap{USD: *s.opts.Budget, Since: time.Now().Add(-spendWindow), UnknownUSD: s.unknownFigure()}
}

// The policies of --unknown-cost: what happens to a job whose cost cannot
// be estimated.
const (
	UnknownCostRefuse = "refuse" // refused, saying why and how to change it
	UnknownCostAsk    = "ask"    // the user is asked, as above --confirm-above
	UnknownCostAllow  = "allow"  // submitted
)

// DefaultUnknownCost is the policy when none is chosen: ask when
// --confirm-above is set, else refuse when --max-job-cost or --budget is,
// else allow.
func DefaultUnknownCost(maxJobCost, budget, confirmAbove *float64) string {
	switch {
	case confirmAbove != nil:
		return UnknownCostAsk
	case maxJobCost != nil || budget != nil:
		return UnknownCostRefuse
	}
	return UnknownCostAllow
}

func (s *toolset) unknownCost() string {
	if s.opts.UnknownCost != "" {
		return s.opts.UnknownCost
	}
	return DefaultUnknownCost(s.opts.MaxJobCost, s.opts.Budget, s.opts.ConfirmAbove)
}

// unknownFigure is what --budget counts a job of unknown cost at (under
// ask or allow): --max-job-cost when set (and above 0), else the whole
// budget — so it is never counted as $0.
func (s *toolset) unknownFigure() float64 {
	if m := s.opts.MaxJobCost; m != nil && *m > 0 {
		return *m
	}
	if b := s.opts.Budget; b != nil {
		return *b
	}
	return 0
}

// unknownFigureSource says what unknownFigure is.
func (s *toolset) unknownFigureSource() string {
	if m := s.opts.MaxJobCost; m != nil && *m > 0 {
		return "--max-job-cost"
	}
	return "the whole --budget"
}

// overBudget explains a job the ledger refused as it was written ahead:
// another call (of this process or another) took the budget in between.
func (s *toolset) overBudget(ctx context.Context, row schemas.Endpoint, est schemas.Estimate, err error) error {
	if p := s.limitProblem(ctx, row, est); p != "" {
		return errors.New(p)
	}
	return fmt.Errorf("%s: over budget (%v). Nothing was sent to fal.", row.Tool, err)
}

// spendWindow is the window of --budget and of job_list's recent spend.
const spendWindow = 24 * time.Hour

// gate runs before a submit: it estimates the job, answers estimate_only,
// returns a job already submitted for the same call, and applies the
// user's limits (--max-job-cost, --budget) and --confirm-above. A non-nil
// result is the answer, and nothing is submitted.
func (et *endpointTool) gate(ctx context.Context, req mcp.CallToolRequest, sa spendArgs, args map[string]any, input any,
	wait time.Duration) (jobCost, *mcp.CallToolResult) {
	s := et.s
	c := jobCost{est: s.estimate(ctx, et.row, input)}
	if sa.estimateOnly {
		if p := et.mediaProblems(ctx, args); p != "" {
			return c, mcp.NewToolResultError(fmt.Sprintf("%s: invalid arguments:\n- %s\nNothing was sent to fal.", et.row.Tool, p))
		}
		return c, s.estimateResult(ctx, et.row, c.est)
	}
	// An answer to our question is checked (and used up) before anything
	// else: a replayed or forged one never reaches dedupe or a submit.
	answered := len(req.Params.InputResponses) > 0 || req.Params.RequestState != ""
	if answered {
		if res := s.confirm(ctx, req, et.row, c.est); res != nil {
			return c, res
		}
	}
	if s.opts.DedupeWindow > 0 {
		c.hash, c.files = et.canonicalHash(ctx, args)
		if !sa.forceNew && c.hash != "" {
			c.dedupeSince = time.Now().Add(-s.opts.DedupeWindow)
			// An identical call of this process still on its way to fal
			// (uploading, say) is waited for; then the ledger is asked.
			for c.done == nil {
				busy, done := s.spend.claim(c.hash)
				if done != nil {
					c.done = done
					break
				}
				select {
				case <-busy:
				case <-ctx.Done():
					return c, mcp.NewToolResultError(fmt.Sprintf("%s: the call ended while an identical call was being submitted. Nothing was sent to fal.", et.row.Tool))
				}
			}
			if job, ok := s.findDuplicate(ctx, et.row.Tool, c.hash); ok {
				c.done()
				return c, s.duplicateResult(ctx, req, job, wait)
			}
		}
	}
	if c.done == nil {
		c.done = func() {}
	}
	if p := s.limitProblem(ctx, et.row, c.est); p != "" {
		s.opts.Logger.Info("job refused by a spend limit", "tool", et.row.Tool)
		c.done()
		return c, mcp.NewToolResultError(p)
	}
	if !answered {
		if res := s.confirm(ctx, req, et.row, c.est); res != nil {
			c.done()
			return c, res
		}
	}
	return c, nil
}

// mediaProblems checks the media fields as a submit would, without
// uploading: what is not acceptable, and local files that cannot be read.
func (et *endpointTool) mediaProblems(ctx context.Context, args map[string]any) string {
	var problems []string
	for _, p := range et.media {
		eachMedia(args, strings.Split(p, "."), "", func(field, v string, _ func(string)) {
			local, problem := classifyMedia(v)
			if problem != "" {
				problems = append(problems, fmt.Sprintf("%s: got %s — %s; allowed: %s", field, display(v), problem, mediaAccepted))
				return
			}
			if local {
				f, err := et.s.uploads.open(ctx, v)
				if err != nil {
					problems = append(problems, fmt.Sprintf("%s: %v", field, err))
					return
				}
				f.Close()
			}
		})
	}
	return strings.Join(problems, "\n- ")
}

// spending is the toolset's state for costs: prices and the media prober.
type spending struct {
	prices  *priceBook
	prober  *mediaprobe.Prober // ffprobe when installed, else the built-in reader
	builtin *mediaprobe.Prober // the built-in mp4/mov reader only

	consent *consents // the questions asked (consent.go)

	mu       sync.Mutex
	inFlight map[string]chan struct{} // canonical input → closed when its submit is over
}

// claim makes this call the one that submits an input, unless another
// call of this process is already on it: then busy is closed when that
// call's submit is over. done releases the claim.
func (sp *spending) claim(hash string) (busy <-chan struct{}, done func()) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if ch, ok := sp.inFlight[hash]; ok {
		return ch, nil
	}
	ch := make(chan struct{})
	sp.inFlight[hash] = ch
	var once sync.Once
	return nil, func() {
		once.Do(func() {
			sp.mu.Lock()
			delete(sp.inFlight, hash)
			sp.mu.Unlock()
			close(ch)
		})
	}
}

func newSpending(opts Options) *spending {
	hc := http.Client{}
	if opts.Fal != nil {
		hc = *opts.Fal.PublicHTTPClient()
	}
	hc.Timeout = 10 * time.Second
	return &spending{
		prices:   &priceBook{fal: opts.Fal, led: opts.Ledger, live: opts.LivePrices, log: opts.Logger, mem: map[string]apiPrice{}},
		prober:   &mediaprobe.Prober{HTTP: &hc, NoRemoteFFprobe: true, Timeout: 10 * time.Second},
		builtin:  &mediaprobe.Prober{FFprobe: "-", Timeout: 10 * time.Second},
		inFlight: map[string]chan struct{}{},
		consent:  newConsents(),
	}
}

// estimate is a job's estimated cost from its endpoint's price and its
// input (local files and URLs probed where the amount follows them).
func (s *toolset) estimate(ctx context.Context, row schemas.Endpoint, input any) schemas.Estimate {
	p, src, ok := s.spend.prices.lookup(ctx, row.ID)
	if !ok {
		return schemas.Estimate{Basis: "unknown: fal publishes no price for " + row.ID}
	}
	e := schemas.EstimateCost(p, input, s.mediaFacts(ctx))
	if e.USD != nil {
		e.Basis += " (" + src + ")"
	}
	return e
}

// mediaFacts probes an input media file: a local file the policy allows,
// or a public URL (mp4/mov headers by range requests).
func (s *toolset) mediaFacts(ctx context.Context) func(string) (schemas.MediaFacts, bool) {
	return func(src string) (schemas.MediaFacts, bool) {
		var info mediaprobe.Info
		var err error
		lower := strings.ToLower(src)
		switch {
		case src == "":
			return schemas.MediaFacts{}, false
		case localfile.IsLocal(src):
			f, oerr := s.uploads.open(ctx, src)
			if oerr != nil {
				return schemas.MediaFacts{}, false
			}
			// The built-in mp4/mov reader answers in well under a
			// millisecond; ffprobe (hundreds) only for other containers.
			if info, err = s.spend.builtin.ProbeFile(ctx, f.File, f.Size); errors.Is(err, mediaprobe.ErrNeedFFprobe) {
				info, err = s.spend.prober.ProbeFile(ctx, f.File, f.Size)
			}
			f.Close()
		case (strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "http://")) && s.opts.ProbeInputURLs && s.opts.Fal != nil:
			info, err = s.spend.prober.ProbeURL(ctx, src)
		default:
			return schemas.MediaFacts{}, false
		}
		if err != nil {
			s.opts.Logger.Debug("estimate: cannot probe an input", "err", err)
			return schemas.MediaFacts{}, false
		}
		return schemas.MediaFacts{Seconds: info.DurationSeconds, Frames: float64(info.FrameCount), Width: info.Width, Height: info.Height}, true
	}
}

// money formats dollars for messages: up to 4 decimals, no trailing zeros.
func money(f float64) string {
	s := strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", f), "0"), ".")
	return "$" + s
}

// costLine adds the estimate to a job's summary, when one was made.
func (j *Job) costLine(b *strings.Builder) {
	switch {
	case j.EstimatedCostUSD != nil:
		fmt.Fprintf(b, "\nEstimated cost: %s (%s)", money(*j.EstimatedCostUSD), j.CostBasis)
	case j.CostBasis != "":
		fmt.Fprintf(b, "\nEstimated cost: %s", j.CostBasis)
	}
}

// estimateResult answers estimate_only: the estimate, and which limit the
// job would meet.
func (s *toolset) estimateResult(ctx context.Context, row schemas.Endpoint, est schemas.Estimate) *mcp.CallToolResult {
	now := time.Now().UTC()
	job := Job{EndpointID: row.ID, Tool: row.Tool, Status: "estimate", SubmittedAt: now, UpdatedAt: now, DryRun: s.opts.DryRun,
		EstimatedCostUSD: est.USD, CostBasis: est.Basis,
		Next: "call " + row.Tool + " again without estimate_only to submit it"}
	var b strings.Builder
	fmt.Fprintf(&b, "Estimate for %s on %s: ", row.Tool, row.ID)
	if est.USD != nil {
		fmt.Fprintf(&b, "%s (%s).", money(*est.USD), est.Basis)
	} else {
		fmt.Fprintf(&b, "%s.", est.Basis)
	}
	b.WriteString(" Nothing was submitted (estimate_only).")
	if p := s.limitProblem(ctx, row, est); p != "" {
		b.WriteString("\nSubmitted, it would be refused: " + p)
	} else if what, ok := s.needsOK(est); ok {
		fmt.Fprintf(&b, "\nSubmitted, it would first need the user's OK: it is %s.", what)
	}
	fmt.Fprintf(&b, "\nNext: %s", job.Next)
	// An estimate is no job: its answer carries no request_id at all.
	var structured map[string]any
	raw, _ := json.Marshal(job)
	_ = json.Unmarshal(raw, &structured)
	delete(structured, "request_id")
	return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(b.String())}, StructuredContent: structured}
}

// limitProblem says why --max-job-cost, --budget or --unknown-cost
// refuses a job, or "".
func (s *toolset) limitProblem(ctx context.Context, row schemas.Endpoint, est schemas.Estimate) string {
	if est.USD == nil && s.unknownCost() == UnknownCostRefuse {
		why := "the default while --max-job-cost or --budget is set"
		if s.opts.UnknownCost != "" {
			why = "as the server was started"
		}
		return fmt.Sprintf("%s: the cost of this job on %s cannot be estimated (%s), and jobs of unknown cost are refused "+
			"(--unknown-cost refuse, %s; env FAL_VIDEO_MCP_UNKNOWN_COST). Nothing was sent to fal. To run it, the user can restart "+
			"the server with --unknown-cost ask (the user is asked each time) or --unknown-cost allow; or make the cost knowable "+
			"(where it follows an input's length, a local file or a fal media URL from upload_file can be measured; "+
			"estimate_only: true shows the estimate).", row.Tool, row.ID, strings.TrimPrefix(est.Basis, "unknown: "), why)
	}
	if m := s.opts.MaxJobCost; m != nil && est.USD != nil && *est.USD > *m {
		return fmt.Sprintf("%s: the job is estimated at %s (%s), above the limit of %s per job (--max-job-cost, FAL_VIDEO_MCP_MAX_JOB_COST). "+
			"Nothing was sent to fal. To run it, the user can raise --max-job-cost; or make the job smaller "+
			"(fewer frames or seconds, a lower resolution or scale).", row.Tool, money(*est.USD), est.Basis, money(*m))
	}
	if b := s.opts.Budget; b != nil {
		spent, err := s.spent(ctx, time.Now().Add(-spendWindow))
		if err != nil {
			return fmt.Sprintf("%s: the budget (--budget %s) cannot be checked, since the job ledger cannot be read (%v). Nothing was sent to fal.",
				row.Tool, money(*b), err)
		}
		fig := s.unknownFigure()
		total := spent.USD + float64(spent.Unknown)*fig
		counted := money(total)
		if spent.Unknown > 0 {
			counted += fmt.Sprintf(" (%d job(s) of unknown cost counted at %s each, %s)", spent.Unknown, money(fig), s.unknownFigureSource())
		}
		cost, this := valueOr(est.USD), fmt.Sprintf("estimated at %s (%s)", money(valueOr(est.USD)), est.Basis)
		if est.USD == nil {
			cost, this = fig, fmt.Sprintf("of unknown cost (%s), counted at %s (%s)", strings.TrimPrefix(est.Basis, "unknown: "), money(fig), s.unknownFigureSource())
		}
		if total+cost > *b+1e-9 {
			return fmt.Sprintf("%s: over budget. Estimated spend in the last 24 h is %s of the %s budget (--budget, FAL_VIDEO_MCP_BUDGET); "+
				"this job is %s, which would bring it to %s. Nothing was sent to fal. "+
				"Wait for older jobs to leave the 24 h window, ask the user to raise --budget, or make the job smaller.",
				row.Tool, counted, money(*b), this, money(total+cost))
		}
	}
	return ""
}

// spent sums the estimated cost of the jobs submitted since the given
// time that fal may bill (all but failed ones): every process's, from the
// ledger; else this process's.
func (s *toolset) spent(ctx context.Context, since time.Time) (ledger.Spend, error) {
	if led := s.jobs.led; led != nil {
		lctx, cancel := context.WithTimeout(ctx, ledgerTimeout)
		defer cancel()
		sp, err := led.Spent(lctx, since, s.opts.DryRun)
		s.jobs.noteLedger("read", err)
		return sp, err
	}
	s.jobs.mu.Lock()
	defer s.jobs.mu.Unlock()
	var sp ledger.Spend
	for _, r := range s.jobs.order {
		j := r.job
		if j.SubmittedAt.Before(since) || j.Status == StatusFailed {
			continue
		}
		sp.Jobs++
		if j.EstimatedCostUSD == nil {
			sp.Unknown++
			continue
		}
		sp.USD += *j.EstimatedCostUSD
	}
	return sp, nil
}

// confirmInput is the id of the confirmation asked through elicitation.
const confirmInput = "confirm_cost"

// needsOK says whether a job needs the user's OK, and why: an estimate
// above --confirm-above, or an unknown cost under --unknown-cost ask.
func (s *toolset) needsOK(est schemas.Estimate) (string, bool) {
	if est.USD == nil {
		if s.unknownCost() != UnknownCostAsk {
			return "", false
		}
		return fmt.Sprintf("of unknown cost (%s), and jobs of unknown cost need the user's OK (--unknown-cost ask)",
			strings.TrimPrefix(est.Basis, "unknown: ")), true
	}
	if ca := s.opts.ConfirmAbove; ca != nil && *est.USD > *ca {
		return fmt.Sprintf("estimated at %s, above the %s that needs the user's OK (--confirm-above)", money(*est.USD), money(*ca)), true
	}
	return "", false
}

// confirm asks a person, through MCP elicitation, to accept a job that
// needs their OK (needsOK). It returns nil once accepted, else the answer
// that ends the call: the question itself (from 2026-07-28, the client
// asks and calls again with the answer and the request state), or a
// refusal. An acceptance counts only as the answer to a question this
// server asked for this call (see consent.go); any other inputResponses is
// refused.
func (s *toolset) confirm(ctx context.Context, req mcp.CallToolRequest, row schemas.Endpoint, est schemas.Estimate) *mcp.CallToolResult {
	answered := len(req.Params.InputResponses) > 0 || req.Params.RequestState != ""
	what, needed := s.needsOK(est)
	if !needed {
		if answered {
			return mcp.NewToolResultError(fmt.Sprintf("%s: the call carries an answer (inputResponses) to a question this server did not ask "+
				"for it. Nothing was sent to fal. Call again without inputResponses.", row.Tool))
		}
		return nil
	}
	if !canElicit(ctx, req) {
		how := "the user can raise --confirm-above (FAL_VIDEO_MCP_CONFIRM_ABOVE), or run with a smaller input " +
			"(fewer frames or seconds, a lower resolution); estimate_only: true shows the cost first"
		if est.USD == nil {
			how = "the user can start the server with --unknown-cost allow (FAL_VIDEO_MCP_UNKNOWN_COST), or make the cost knowable " +
				"(estimate_only: true shows the estimate)"
		}
		return mcp.NewToolResultError(fmt.Sprintf("%s: the job is %s, but this client cannot ask the user (it does not support MCP elicitation). "+
			"Nothing was sent to fal. To proceed, %s.", row.Tool, what, how))
	}
	params := mcp.ElicitationParams{
		Mode:    mcp.ElicitationModeForm,
		Message: fmt.Sprintf("Run %s: about $%.2f (%s)?", row.Tool, valueOr(est.USD), est.Basis),
		RequestedSchema: map[string]any{
			"type": "object",
			"properties": map[string]any{
				"run": map[string]any{"type": "boolean", "title": "Run it", "description": "Submit the job to fal (it is billed to your fal account).", "default": true},
			},
		},
	}
	if est.USD == nil {
		params.Message = fmt.Sprintf("Run %s? Its cost is unknown: %s.", row.Tool, strings.TrimPrefix(est.Basis, "unknown: "))
	}
	call, session, cost := callHash(req), sessionOf(ctx), costKey(est)
	if answered {
		// From 2026-07-28: the client's answer to our question, with its
		// state. Earlier eras never get a state, so this refuses theirs.
		var others []string
		for k := range req.Params.InputResponses {
			if k != confirmInput {
				others = append(others, k)
			}
		}
		if len(others) > 0 {
			return mcp.NewToolResultError(fmt.Sprintf("%s: the call carries answers this server did not ask for (inputResponses %s). "+
				"Nothing was sent to fal.", row.Tool, strings.Join(others, ", ")))
		}
		if err := s.spend.consent.redeem(time.Now(), req.Params.RequestState, session, call, cost); err != nil {
			return mcp.NewToolResultError(fmt.Sprintf("%s: the job is %s, and the answer in this call does not count: %v. "+
				"Nothing was sent to fal. Call again without inputResponses, and the user will be asked.", row.Tool, what, err))
		}
		return s.decided(row, what, server.ElicitationResponse(req.Params.InputResponses, confirmInput))
	}
	if !mcp.IsModernProtocol(server.RequestProtocolVersion(ctx)) {
		// Before 2026-07-28 the server asks itself, while the call waits:
		// the answer cannot come from anywhere but the client's reply.
		srv := server.ServerFromContext(ctx)
		if srv == nil {
			return mcp.NewToolResultError(fmt.Sprintf("%s: the job is %s, and the user cannot be asked here. Nothing was sent to fal.", row.Tool, what))
		}
		ans, err := srv.RequestElicitation(ctx, mcp.ElicitationRequest{Request: mcp.Request{Method: string(mcp.MethodElicitationCreate)}, Params: params})
		if err != nil {
			s.opts.Logger.Info("the user could not be asked to accept a job", "tool", row.Tool, "err", err)
			return mcp.NewToolResultError(fmt.Sprintf("%s: the job is %s, and the user could not be asked: the client answered the question "+
				"with an error (%s). Nothing was sent to fal; do not retry it unless the user asks.", row.Tool, what, plainError(err)))
		}
		return s.decided(row, what, ans)
	}
	return server.NewInputRequestBuilder(s.spend.consent.issue(time.Now(), session, call, cost)).Elicit(confirmInput, params).ToolResult()
}

// decided turns the user's answer into nil (accepted) or a refusal.
func (s *toolset) decided(row schemas.Endpoint, what string, ans *mcp.ElicitationResult) *mcp.CallToolResult {
	if ans == nil {
		return mcp.NewToolResultError(fmt.Sprintf("%s: the job is %s, and the answer is not one to the question asked (no confirm_cost answer). "+
			"Nothing was sent to fal.", row.Tool, what))
	}
	if run, ok := contentBool(ans.Content, "run"); ans.Action == mcp.ElicitationResponseActionAccept && (!ok || run) {
		s.opts.Logger.Info("a job needing the user's OK was accepted", "tool", row.Tool)
		return nil
	}
	action := string(ans.Action)
	if ans.Action == mcp.ElicitationResponseActionAccept {
		action = "accept, without run"
	}
	return mcp.NewToolResultError(fmt.Sprintf("%s: the user did not accept the job (%s), %s. Nothing was sent to fal; do not retry it unless the user asks.",
		row.Tool, action, what))
}

// plainError is an error's last clause: what went wrong, without the
// library's layers of context.
func plainError(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && i+2 < len(msg) {
		msg = msg[i+2:]
	}
	return msg
}

func valueOr(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

func contentBool(content any, key string) (bool, bool) {
	m, ok := content.(map[string]any)
	if !ok {
		return false, false
	}
	v, ok := m[key].(bool)
	return v, ok
}

// canElicit reports whether the client declared the elicitation
// capability: per request (2026-07-28) or at initialize (earlier eras).
func canElicit(ctx context.Context, req mcp.CallToolRequest) bool {
	if caps := req.Params.Meta.ClientCapabilities(); caps != nil {
		return caps.Elicitation != nil
	}
	if sess, ok := server.ClientSessionFromContext(ctx).(server.SessionWithClientInfo); ok {
		return sess.GetClientCapabilities().Elicitation != nil
	}
	return false
}

// priceBook finds an endpoint's price: fal's pricing API (when live),
// cached in the ledger for a day; else the built-in table of prices fal
// publishes on its model pages.
type priceBook struct {
	fal  *falqueue.Client
	led  *ledger.Ledger
	live bool
	log  *slog.Logger

	mu  sync.Mutex
	mem map[string]apiPrice // by endpoint id
}

// apiPrice is what the pricing API said of one endpoint, and when.
type apiPrice struct {
	price *falqueue.Price // nil: fal gave none, or could not be asked
	at    time.Time
}

// priceFresh is how long a price from the API is used; priceRetry how
// long after a failure the API is not asked again.
const (
	priceFresh = 24 * time.Hour
	priceRetry = 5 * time.Minute
)

// lookup returns the price to estimate with and where it comes from.
func (pb *priceBook) lookup(ctx context.Context, endpointID string) (schemas.Price, string, bool) {
	table, inTable := schemas.PriceOf(endpointID)
	if pb.live {
		if ap := pb.fromAPI(ctx, endpointID); ap != nil && strings.EqualFold(ap.Currency, "USD") {
			unit := schemas.UnitOf(ap.Unit)
			switch {
			case unit == "":
			case inTable && (table.ByResolution != nil || table.Unit != unit):
				// The API's one price cannot say what the table's tiers do.
			default:
				p := schemas.Price{EndpointID: endpointID, Unit: unit, USD: ap.UnitPrice, Source: "fal's pricing API"}
				if inTable {
					p.FramesPerSecond, p.TextUSDPer100Chars = table.FramesPerSecond, table.TextUSDPer100Chars
				}
				return p, "fal's pricing API", true
			}
		}
	}
	if inTable {
		return table, "fal's published price", true
	}
	return schemas.Price{}, "", false
}

// fromAPI asks fal's pricing API, through the ledger's cache.
func (pb *priceBook) fromAPI(ctx context.Context, endpointID string) *falqueue.Price {
	now := time.Now()
	pb.mu.Lock()
	m, ok := pb.mem[endpointID]
	pb.mu.Unlock()
	if ok && (m.price != nil && now.Sub(m.at) < priceFresh || m.price == nil && now.Sub(m.at) < priceRetry) {
		return m.price
	}
	if pb.led != nil {
		lctx, cancel := context.WithTimeout(ctx, ledgerTimeout)
		c, ok, err := pb.led.CachedPrice(lctx, endpointID, now.Add(-priceFresh))
		cancel()
		if err == nil && ok {
			p := &falqueue.Price{EndpointID: endpointID, UnitPrice: c.UnitPrice, Unit: c.Unit, Currency: c.Currency}
			pb.remember(endpointID, p, c.FetchedAt)
			return p
		}
	}
	// One request asks for every endpoint of the catalog at once.
	ids := []string{endpointID}
	for _, row := range schemas.Catalog {
		if row.ID != endpointID {
			ids = append(ids, row.ID)
		}
	}
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	prices, err := pb.fal.Prices(actx, ids...)
	if err != nil {
		pb.log.Info("fal's pricing API cannot be reached; estimating from the built-in price table", "err", err)
		pb.remember(endpointID, nil, now)
		return nil
	}
	var found *falqueue.Price
	var save []ledger.Price
	for _, id := range ids {
		pb.remember(id, nil, now) // fal publishes none, unless listed
	}
	for i := range prices {
		p := &prices[i]
		pb.remember(p.EndpointID, p, now)
		save = append(save, ledger.Price{EndpointID: p.EndpointID, UnitPrice: p.UnitPrice, Unit: p.Unit, Currency: p.Currency, FetchedAt: now})
		if p.EndpointID == endpointID {
			found = p
		}
	}
	if pb.led != nil && len(save) > 0 {
		lctx, cancel := context.WithTimeout(ctx, ledgerTimeout)
		_ = pb.led.SavePrices(lctx, save)
		cancel()
	}
	return found
}

func (pb *priceBook) remember(endpointID string, p *falqueue.Price, at time.Time) {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	pb.mem[endpointID] = apiPrice{price: p, at: at}
}

// spendOptions are the server options spend control needs: elicitation,
// when jobs above a cost are confirmed.
func (s *toolset) spendOptions() []server.ServerOption {
	if s.opts.ConfirmAbove == nil && s.unknownCost() != UnknownCostAsk {
		return nil
	}
	return []server.ServerOption{server.WithElicitation()}
}

// listSpend is job_list's view of spend: the estimated spend of the last
// 24 h (every job of the ledger that fal may bill) and the total of the
// listed jobs, by one definition: a job counts unless it failed or belongs
// to the other world (dry run in a real server, real in a dry-run one).
type listSpend struct {
	Last24hUSD     *float64 `json:"last_24h_usd"`
	Last24hUnknown int      `json:"last_24h_unknown"`
	ListedUSD      float64  `json:"listed_usd"`
	ListedUnknown  int      `json:"listed_unknown"`
}

var spendSchema = map[string]any{
	"type":        "object",
	"description": "Estimated USD spent in 24 h and by the listed jobs (failed and dry-run jobs left out; in dry-run mode, only dry-run jobs counted); *_unknown: jobs of unknown cost.",
	"properties": map[string]any{
		"last_24h_usd":     map[string]any{"type": []string{"number", "null"}},
		"last_24h_unknown": map[string]any{"type": "integer"},
		"listed_usd":       map[string]any{"type": "number"},
		"listed_unknown":   map[string]any{"type": "integer"},
	},
}

func (s *toolset) listSpend(ctx context.Context, jobs []Job) (listSpend, string) {
	var ls listSpend
	for _, j := range jobs {
		switch {
		case j.Status == StatusFailed || j.DryRun != s.opts.DryRun: // as spent counts
		case j.EstimatedCostUSD == nil:
			ls.ListedUnknown++
		default:
			ls.ListedUSD += *j.EstimatedCostUSD
		}
	}
	ls.ListedUSD = roundCents(ls.ListedUSD)
	var b strings.Builder
	b.WriteString("Estimated spend: ")
	if sp, err := s.spent(ctx, time.Now().Add(-spendWindow)); err == nil {
		v := roundCents(sp.USD)
		ls.Last24hUSD, ls.Last24hUnknown = &v, sp.Unknown
		fmt.Fprintf(&b, "%s in the last 24 h", money(v))
		if sp.Unknown > 0 {
			fmt.Fprintf(&b, " (and %d job(s) of unknown cost)", sp.Unknown)
		}
	} else {
		b.WriteString("unknown for the last 24 h (the job ledger cannot be read)")
	}
	fmt.Fprintf(&b, "; %s for the %d job(s) listed", money(ls.ListedUSD), len(jobs))
	if ls.ListedUnknown > 0 {
		fmt.Fprintf(&b, " (%d of unknown cost)", ls.ListedUnknown)
	}
	if s.opts.Budget != nil {
		fmt.Fprintf(&b, ". Budget: %s per 24 h", money(*s.opts.Budget))
	}
	if s.opts.DryRun {
		b.WriteString(". Both count only dry-run jobs (this server's world: nothing is billed), and no failed job.")
	} else {
		b.WriteString(". Both count the jobs fal may bill: failed jobs and dry-run jobs are not counted.")
	}
	return ls, b.String()
}

// roundCents drops float noise from sums (to a millionth of a cent).
func roundCents(f float64) float64 { return math.Round(f*1e8) / 1e8 }
