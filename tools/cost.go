package tools

import (
	"context"
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

// budgetCap is the budget the ledger checks as it writes the job ahead (nil:
// no budget, or the estimate is unknown).
func (c jobCost) budgetCap(budget *float64) *ledger.SpendCap {
	if budget == nil || c.est.USD == nil {
		return nil
	}
	return &ledger.SpendCap{USD: *budget, Since: time.Now().Add(-spendWindow)}
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
	if res := s.confirm(ctx, req, et.row, c.est); res != nil {
		c.done()
		return c, res
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
	} else if ca := s.opts.ConfirmAbove; ca != nil && (est.USD == nil || *est.USD > *ca) {
		fmt.Fprintf(&b, "\nSubmitted, it would first need the user's OK (above --confirm-above %s).", money(*ca))
	}
	fmt.Fprintf(&b, "\nNext: %s", job.Next)
	return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(b.String())}, StructuredContent: job}
}

// limitProblem says why --max-job-cost or --budget refuses a job, or "".
func (s *toolset) limitProblem(ctx context.Context, row schemas.Endpoint, est schemas.Estimate) string {
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
		switch {
		case est.USD != nil && spent.USD+*est.USD > *b+1e-9:
			return fmt.Sprintf("%s: over budget. Estimated spend in the last 24 h is %s of the %s budget (--budget, FAL_VIDEO_MCP_BUDGET); "+
				"this job is estimated at %s (%s), which would bring it to %s. Nothing was sent to fal. "+
				"Wait for older jobs to leave the 24 h window, ask the user to raise --budget, or make the job smaller.",
				row.Tool, money(spent.USD), money(*b), money(*est.USD), est.Basis, money(spent.USD+*est.USD))
		case est.USD == nil && spent.USD >= *b:
			return fmt.Sprintf("%s: over budget. Estimated spend in the last 24 h is %s of the %s budget (--budget, FAL_VIDEO_MCP_BUDGET), "+
				"and this job's cost is unknown (%s). Nothing was sent to fal. Ask the user to raise --budget, or wait.",
				row.Tool, money(spent.USD), money(*b), est.Basis)
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

// confirm asks a person, through MCP elicitation, to accept a job
// estimated above --confirm-above (or of unknown cost while it is set).
// It returns nil once accepted, else the answer that ends the call: the
// elicitation request itself (mcp-go sends it in either protocol era),
// a refusal when declined, or when the client cannot ask.
func (s *toolset) confirm(ctx context.Context, req mcp.CallToolRequest, row schemas.Endpoint, est schemas.Estimate) *mcp.CallToolResult {
	ca := s.opts.ConfirmAbove
	if ca == nil || est.USD != nil && *est.USD <= *ca {
		return nil
	}
	what := fmt.Sprintf("estimated at %s, above the %s that needs the user's OK (--confirm-above)", money(valueOr(est.USD)), money(*ca))
	if est.USD == nil {
		what = fmt.Sprintf("of unknown cost (%s), and --confirm-above %s needs the user's OK for such jobs", est.Basis, money(*ca))
	}
	if ans := server.ElicitationResponse(req.Params.InputResponses, confirmInput); ans != nil {
		if run, ok := contentBool(ans.Content, "run"); ans.Action == mcp.ElicitationResponseActionAccept && (!ok || run) {
			s.opts.Logger.Info("expensive job accepted by the user", "tool", row.Tool)
			return nil
		}
		return mcp.NewToolResultError(fmt.Sprintf("%s: the user did not accept the job (%s), %s. Nothing was sent to fal; do not retry it unless the user asks.",
			row.Tool, ans.Action, what))
	}
	if !canElicit(ctx, req) {
		return mcp.NewToolResultError(fmt.Sprintf("%s: the job is %s, but this client cannot ask the user (it does not support MCP elicitation). "+
			"Nothing was sent to fal. To proceed, the user can raise --confirm-above (FAL_VIDEO_MCP_CONFIRM_ABOVE), or run with a smaller input "+
			"(fewer frames or seconds, a lower resolution); estimate_only: true shows the cost first.", row.Tool, what))
	}
	msg := fmt.Sprintf("Run %s: about $%.2f (%s)?", row.Tool, valueOr(est.USD), est.Basis)
	if est.USD == nil {
		msg = fmt.Sprintf("Run %s? Its cost is unknown: %s.", row.Tool, strings.TrimPrefix(est.Basis, "unknown: "))
	}
	return server.NewInputRequestBuilder("").Elicit(confirmInput, mcp.ElicitationParams{
		Mode:    mcp.ElicitationModeForm,
		Message: msg,
		RequestedSchema: map[string]any{
			"type": "object",
			"properties": map[string]any{
				"run": map[string]any{"type": "boolean", "title": "Run it", "description": "Submit the job to fal (it is billed to your fal account).", "default": true},
			},
		},
	}).ToolResult()
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
	if s.opts.ConfirmAbove == nil {
		return nil
	}
	return []server.ServerOption{server.WithElicitation()}
}

// listSpend is job_list's view of spend: the estimated spend of the last
// 24 h (every job of the ledger that fal may bill) and the total of the
// listed jobs.
type listSpend struct {
	Last24hUSD     *float64 `json:"last_24h_usd"`
	Last24hUnknown int      `json:"last_24h_unknown"`
	ListedUSD      float64  `json:"listed_usd"`
	ListedUnknown  int      `json:"listed_unknown"`
}

var spendSchema = map[string]any{
	"type":        "object",
	"description": "Estimated USD spent in 24 h and by the listed jobs (failed ones left out); *_unknown: jobs of unknown cost.",
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
		case j.Status == StatusFailed:
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
	b.WriteString(". Failed jobs are not counted.")
	return ls, b.String()
}

// roundCents drops float noise from sums (to a millionth of a cent).
func roundCents(f float64) float64 { return math.Round(f*1e8) / 1e8 }
