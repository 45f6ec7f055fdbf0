package tools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

func usd(f float64) *float64 { return &f }

// video10 copies a known video (1 s, 10 frames of 64×48) into dir.
func video10(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("mediaprobe", "testdata", "video10.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// submits counts the submits that reached the emulator's queue.
func submits(emu *faltest.Server) int {
	n := 0
	for _, r := range emu.Requests() {
		if r.Op == faltest.OpSubmit {
			n++
		}
	}
	return n
}

// estimated decodes a result's estimate; the field must be present.
func estimated(t *testing.T, res *mcp.CallToolResult) (*float64, string) {
	t.Helper()
	b, _ := json.Marshal(res.StructuredContent)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("no structured content: %s", text(res))
	}
	v, ok := raw["estimated_cost_usd"]
	if !ok {
		t.Fatalf("estimated_cost_usd is missing: %s", b)
	}
	var f *float64
	_ = json.Unmarshal(v, &f)
	var basis string
	_ = json.Unmarshal(raw["cost_basis"], &basis)
	return f, basis
}

// TestEstimates: for every endpoint with a published price, estimate_only
// gives the figure computed by hand from fal's published price, and
// submits nothing; the others are null.
func TestEstimates(t *testing.T) {
	dir := t.TempDir()
	clip := video10(t, dir, "clip.mp4") // 1 s, 10 frames, 64×48
	h := newHarness(t, mcp.ProtocolVersion20260728, allowing(t, dir))
	ctx := ctxT(t)
	cases := []struct {
		tool string
		args map[string]any
		want *float64
	}{
		{"wan_vace_video", map[string]any{"prompt": "p", "video_url": clip, "num_frames": 241}, usd(241.0 / 16 * 0.08)},
		{"wan_vace_video", map[string]any{"prompt": "p", "video_url": clip, "resolution": "480p"}, usd(81.0 / 16 * 0.04)},
		{"wan_vace_video", map[string]any{"prompt": "p", "video_url": clip, "match_input_num_frames": true, "resolution": "580p"}, usd(10.0 / 16 * 0.06)},
		{"ltx_multiconditioning_video", map[string]any{"prompt": "p"}, usd(0.04)},
		{"pixverse_lipsync", map[string]any{"video_url": clip, "audio_url": "https://v3.fal.media/files/a.mp3"}, usd(1 * 0.04)},
		{"pixverse_lipsync", map[string]any{"video_url": clip, "text": strings.Repeat("x", 101)}, usd(1*0.04 + 2*0.24)},
		{"merge_audio_video", map[string]any{"video_url": clip, "audio_url": "https://v3.fal.media/files/a.mp3"}, usd(1 * 0.0002)},
		{"pixverse_extend_video_fast", map[string]any{"video_url": clip, "prompt": "p", "resolution": "540p"}, usd(0.3)},
		{"pixverse_extend_video_fast", map[string]any{"video_url": clip, "prompt": "p"}, usd(0.4)},
		{"upscale_video", map[string]any{"video_url": clip, "scale": 4}, usd(64 * 4 * 48 * 4 * 10 / 1e6 * 0.0008)},
		{"interpolate_video_frames", map[string]any{"video_url": clip}, nil},              // priced per compute second: never free
		{"upscale_video", map[string]any{"video_url": "https://example.com/in.mp4"}, nil}, // its size is not known
		{"magi_extend_video", map[string]any{"video_url": clip, "prompt": "p"}, nil},      // fal publishes no price
		{"ray2_modify_video", map[string]any{"video_url": clip, "prompt": "a prompt"}, nil},
		{"animatediff_video_to_video", map[string]any{"video_url": clip, "prompt": "p"}, nil},
	}
	for _, c := range cases {
		c.args["estimate_only"] = true
		res := h.call(t, ctx, c.tool, c.args)
		if res.IsError {
			t.Fatalf("%s: %s", c.tool, text(res))
		}
		got, basis := estimated(t, res)
		switch {
		case c.want == nil && got != nil:
			t.Errorf("%s %v: estimated $%v, want null (%s)", c.tool, c.args, *got, basis)
		case c.want != nil && got == nil:
			t.Errorf("%s %v: unknown (%s), want $%v", c.tool, c.args, basis, *c.want)
		case c.want != nil && (*got-*c.want > 1e-9 || *c.want-*got > 1e-9):
			t.Errorf("%s %v: estimated $%v, want $%v (%s)", c.tool, c.args, *got, *c.want, basis)
		}
		if basis == "" || !strings.Contains(text(res), "Nothing was submitted") {
			t.Errorf("%s: basis %q, text %q", c.tool, basis, text(res))
		}
		conformsToOutputSchema(t, c.tool, res)
		// An estimate is no job: no request_id, not even an empty one.
		var raw map[string]any
		b, _ := json.Marshal(res.StructuredContent)
		_ = json.Unmarshal(b, &raw)
		if _, ok := raw["request_id"]; ok || strings.Contains(text(res), "request_id") {
			t.Errorf("%s: an estimate answers with a request_id: %s / %s", c.tool, b, text(res))
		}
	}
	if n := len(h.emu.Requests()); n != 0 {
		t.Errorf("estimate_only sent %d requests to fal", n)
	}
}

// TestEveryJobCarriesItsEstimate: a submitted job and the job tools carry
// the estimate, from memory and from the ledger.
func TestEveryJobCarriesItsEstimate(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{Key: testKey, DefaultScript: &faltest.Script{Output: map[string]any{}}})
	t.Cleanup(emu.Close)
	opt, _ := withLedger(t, t.TempDir(), make(chan tools.Job, 10))
	h := newHarnessOn(t, emu, mcp.ProtocolVersion20260728, opt)
	ctx := ctxT(t)
	res := h.call(t, ctx, "ltx_multiconditioning_video", map[string]any{"prompt": "p", "wait_seconds": 0})
	job := jobOf(t, res)
	if job.EstimatedCostUSD == nil || *job.EstimatedCostUSD != 0.04 || !strings.Contains(job.CostBasis, "1 video × $0.04") {
		t.Errorf("job estimate %v %q", job.EstimatedCostUSD, job.CostBasis)
	}
	if !strings.Contains(text(res), "Estimated cost: $0.04") {
		t.Errorf("summary has no estimate: %s", text(res))
	}
	st := jobOf(t, h.call(t, ctx, "job_status", map[string]any{"request_id": job.RequestID}))
	if st.EstimatedCostUSD == nil || *st.EstimatedCostUSD != 0.04 {
		t.Errorf("job_status estimate %v", st.EstimatedCostUSD)
	}
	list := h.call(t, ctx, "job_list", map[string]any{})
	if !strings.Contains(text(list), "Estimated spend: $0.04 in the last 24 h") || !strings.Contains(text(list), "$0.04 for the 1 job(s) listed") {
		t.Errorf("job_list text: %s", text(list))
	}
	conformsToOutputSchema(t, "job_list", list)
}

// TestMaxJobCost: a job estimated above --max-job-cost is refused with
// nothing sent; one below it is submitted.
func TestMaxJobCost(t *testing.T) {
	h := newHarness(t, mcp.ProtocolVersion20251125, func(o *tools.Options) { o.MaxJobCost = usd(1) })
	h.emu.SetScript("fal-ai/wan-vace-14b", schemasScript())
	ctx := ctxT(t)
	res := h.call(t, ctx, "wan_vace_video", map[string]any{"prompt": "p", "video_url": "https://v3.fal.media/files/in.mp4", "num_frames": 241})
	if !res.IsError {
		t.Fatalf("not refused: %s", text(res))
	}
	for _, want := range []string{"$1.205", "$1 per job", "--max-job-cost", "Nothing was sent"} {
		if !strings.Contains(text(res), want) {
			t.Errorf("refusal does not say %q: %s", want, text(res))
		}
	}
	if n := len(h.emu.Requests()); n != 0 {
		t.Errorf("%d requests reached the emulator", n)
	}
	res = h.call(t, ctx, "wan_vace_video", map[string]any{"prompt": "p", "video_url": "https://v3.fal.media/files/in.mp4", "wait_seconds": 0})
	if res.IsError || submits(h.emu) != 1 {
		t.Errorf("a job of $0.405 was not submitted: %s", text(res))
	}
}

// TestBudget: two servers sharing a ledger share the budget.
func TestBudget(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{Key: testKey, DefaultScript: &faltest.Script{Output: map[string]any{}}})
	t.Cleanup(emu.Close)
	dir := t.TempDir()
	budget := func(o *tools.Options) { o.Budget = usd(0.5) }
	opt1, _ := withLedger(t, dir, make(chan tools.Job, 10))
	opt2, _ := withLedger(t, dir, make(chan tools.Job, 10))
	a := newHarnessOn(t, emu, mcp.ProtocolVersion20260728, opt1, budget)
	b := newHarnessOn(t, emu, mcp.ProtocolVersion20251125, opt2, budget)
	ctx := ctxT(t)
	in := map[string]any{"prompt": "p", "video_url": "https://v3.fal.media/files/in.mp4", "wait_seconds": 0}
	if res := a.call(t, ctx, "wan_vace_video", in); res.IsError { // $0.405
		t.Fatal(text(res))
	}
	in["resolution"] = "480p" // $0.2025: over the budget with the first
	res := b.call(t, ctx, "wan_vace_video", in)
	if !res.IsError {
		t.Fatalf("not refused: %s", text(res))
	}
	for _, want := range []string{"$0.405 of the $0.5 budget", "estimated at $0.2025", "--budget", "Nothing was sent"} {
		if !strings.Contains(text(res), want) {
			t.Errorf("refusal does not say %q: %s", want, text(res))
		}
	}
	if n := submits(emu); n != 1 {
		t.Errorf("%d submits reached the emulator, want 1", n)
	}
	if res := b.call(t, ctx, "ltx_multiconditioning_video", map[string]any{"prompt": "p", "wait_seconds": 0}); res.IsError { // $0.04 fits
		t.Errorf("a job within the budget was refused: %s", text(res))
	}
}

// TestDedupe: the same call twice, and once more after a restart, enqueues
// one job and returns its request id; force_new enqueues a second. Local
// files count by their bytes, defaults as if given.
func TestDedupe(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{Key: testKey})
	t.Cleanup(emu.Close)
	emu.SetScript("fal-ai/video-upscaler", faltest.Script{Manual: true})
	files, state := t.TempDir(), t.TempDir()
	a, b := video10(t, files, "a.mp4"), video10(t, files, "b.mp4") // same bytes, two names
	dedupe := func(o *tools.Options) { o.DedupeWindow = tools.DefaultDedupeWindow }
	opt, stop := withLedger(t, state, make(chan tools.Job, 10))
	h := newHarnessOn(t, emu, mcp.ProtocolVersion20260728, opt, dedupe, allowing(t, files))
	ctx := ctxT(t)
	first := jobOf(t, h.call(t, ctx, "upscale_video", map[string]any{"video_url": a, "wait_seconds": 0}))
	res := h.call(t, ctx, "upscale_video", map[string]any{"scale": 2, "video_url": b, "wait_seconds": 0})
	if again := jobOf(t, res); again.RequestID != first.RequestID || !strings.Contains(text(res), "Not submitted again") {
		t.Errorf("second call: %s, want job %s", text(res), first.RequestID)
	}
	if n := submits(emu); n != 1 {
		t.Errorf("%d submits, want 1", n)
	}
	stop() // restart: a new server on the same ledger
	opt2, _ := withLedger(t, state, make(chan tools.Job, 10))
	h2 := newHarnessOn(t, emu, mcp.ProtocolVersion20251125, opt2, dedupe, allowing(t, files))
	if again := jobOf(t, h2.call(t, ctx, "upscale_video", map[string]any{"video_url": a, "wait_seconds": 0})); again.RequestID != first.RequestID {
		t.Errorf("after a restart: job %s, want %s", again.RequestID, first.RequestID)
	}
	if n := submits(emu); n != 1 {
		t.Errorf("%d submits after the restart, want 1", n)
	}
	other := jobOf(t, h2.call(t, ctx, "upscale_video", map[string]any{"video_url": a, "scale": 3, "wait_seconds": 0}))
	forced := jobOf(t, h2.call(t, ctx, "upscale_video", map[string]any{"video_url": a, "force_new": true, "wait_seconds": 0}))
	if other.RequestID == first.RequestID || forced.RequestID == first.RequestID || submits(emu) != 3 {
		t.Errorf("another input or force_new did not submit: %s %s, %d submits", other.RequestID, forced.RequestID, submits(emu))
	}
}

// TestPricesFromFal: with live prices, fal's pricing API is asked with the
// key on the configured API host only, once a day through the ledger; when
// it cannot be reached, the built-in table answers.
func TestPricesFromFal(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{Key: testKey})
	t.Cleanup(emu.Close)
	emu.SetPrice(faltest.Price{EndpointID: "fal-ai/ltx-video-13b-distilled/multiconditioning", UnitPrice: 0.05, Unit: "video"})
	state := t.TempDir()
	live := func(o *tools.Options) {
		fal, err := falqueue.New(falqueue.Config{Key: testKey, QueueURL: emu.QueueURL, RestURL: emu.RestURL, APIURL: emu.APIURL,
			BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		o.Fal, o.LivePrices = fal, true
	}
	ctx := ctxT(t)
	estimate := func(h *harness) (float64, string) {
		res := h.call(t, ctx, "ltx_multiconditioning_video", map[string]any{"prompt": "p", "estimate_only": true})
		f, basis := estimated(t, res)
		if f == nil {
			t.Fatalf("unknown: %s", basis)
		}
		return *f, basis
	}
	prices := func() []faltest.Request {
		var out []faltest.Request
		for _, r := range emu.Requests() {
			if r.Op == faltest.OpPrices {
				out = append(out, r)
			}
		}
		return out
	}
	opt, stop := withLedger(t, state, make(chan tools.Job, 1))
	h := newHarnessOn(t, emu, mcp.ProtocolVersion20260728, opt, live)
	for range 2 {
		if f, basis := estimate(h); f != 0.05 || !strings.Contains(basis, "fal's pricing API") {
			t.Errorf("estimate $%v (%s), want $0.05 from fal's pricing API", f, basis)
		}
	}
	if got := prices(); len(got) != 1 || got[0].Host != "api" || got[0].Header.Get("Authorization") != "Key "+testKey {
		t.Fatalf("pricing requests: %+v", got)
	}
	stop()
	opt2, _ := withLedger(t, state, make(chan tools.Job, 1))
	h2 := newHarnessOn(t, emu, mcp.ProtocolVersion20260728, opt2, live)
	if f, _ := estimate(h2); f != 0.05 || len(prices()) != 1 {
		t.Errorf("after a restart: $%v, %d pricing requests (want the ledger's cached $0.05, no new request)", f, len(prices()))
	}
	// Without a reachable API (another ledger, no cache): the table.
	emu.Inject(faltest.Fault{Op: faltest.OpPrices, Status: 503, Times: 10})
	opt3, _ := withLedger(t, t.TempDir(), make(chan tools.Job, 1))
	h3 := newHarnessOn(t, emu, mcp.ProtocolVersion20260728, opt3, live)
	if f, basis := estimate(h3); f != 0.04 || !strings.Contains(basis, "fal's published price") {
		t.Errorf("API down: $%v (%s), want the table's $0.04", f, basis)
	}
	for _, r := range emu.Requests() {
		if r.Host != "api" && r.Op != faltest.OpUnknown {
			t.Errorf("estimates made a %s request to the %s host", r.Op, r.Host)
		}
	}
}

// elicitHarness is a server with --confirm-above, driven by an in-process
// client whose user answers action (none: the client cannot elicit).
func elicitHarness(t *testing.T, version string, action mcp.ElicitationResponseAction, asked *[]string) *harness {
	t.Helper()
	var answer elicitFunc
	if action != "" {
		answer = func(_ context.Context, r mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
			*asked = append(*asked, r.Params.Message)
			return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: action, Content: map[string]any{"run": true}}}, nil
		}
	}
	return elicitHarnessWith(t, version, nil, answer)
}

// elicitHarnessWith is a server with --confirm-above 1 (and opts) on an
// emulator whose jobs run as script (nil: they finish at once), driven by
// an in-process client that answers elicitation with answer (nil: it
// cannot elicit).
func elicitHarnessWith(t *testing.T, version string, script *faltest.Script, answer elicitFunc, opts ...func(*tools.Options)) *harness {
	t.Helper()
	if script == nil {
		script = &faltest.Script{Output: map[string]any{}}
	}
	emu := faltest.NewServer(faltest.Options{Key: testKey, DefaultScript: script})
	t.Cleanup(emu.Close)
	return elicitHarnessOn(t, emu, version, answer, opts...)
}

// elicitHarnessOn is elicitHarnessWith on an existing emulator.
func elicitHarnessOn(t *testing.T, emu *faltest.Server, version string, answer elicitFunc, opts ...func(*tools.Options)) *harness {
	t.Helper()
	fal, err := falqueue.New(falqueue.Config{Key: testKey, QueueURL: emu.QueueURL, RestURL: emu.RestURL, PollInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	o := tools.Options{Version: "test", Fal: fal, ConfirmAbove: usd(1)}
	for _, f := range opts {
		f(&o)
	}
	srv, err := tools.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	var copts []client.ClientOption
	if answer != nil {
		copts = append(copts, client.WithElicitationHandler(answer))
	}
	c, err := client.NewInProcessClientWithOptions(srv, copts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = version
	init.Params.ClientInfo = mcp.Implementation{Name: "tools-test", Version: "1"}
	if answer != nil {
		init.Params.Capabilities.Elicitation = &mcp.ElicitationCapability{}
	}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	return &harness{emu: emu, client: c}
}

type elicitFunc func(context.Context, mcp.ElicitationRequest) (*mcp.ElicitationResult, error)

func (f elicitFunc) Elicit(ctx context.Context, r mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	return f(ctx, r)
}

// TestConfirmAbove: a job above --confirm-above runs only once a person
// accepts it; declined or cancelled, nothing is sent; a client that cannot
// ask gets a refusal saying how to proceed. Both protocol eras.
func TestConfirmAbove(t *testing.T) {
	big := map[string]any{"prompt": "p", "video_url": "https://v3.fal.media/files/in.mp4", "num_frames": 241, "wait_seconds": 0}
	for _, era := range eras {
		for _, c := range []struct {
			action  mcp.ElicitationResponseAction
			submits int
			want    string
		}{
			{mcp.ElicitationResponseActionAccept, 1, "Estimated cost: $1.205"},
			{mcp.ElicitationResponseActionDecline, 0, "the user did not accept the job (decline)"},
			{mcp.ElicitationResponseActionCancel, 0, "the user did not accept the job (cancel)"},
			{"", 0, "this client cannot ask the user"},
		} {
			t.Run(era+"/"+string(c.action), func(t *testing.T) {
				var asked []string
				h := elicitHarness(t, era, c.action, &asked)
				ctx := ctxT(t)
				res := h.call(t, ctx, "wan_vace_video", big)
				if !strings.Contains(text(res), c.want) || res.IsError != (c.submits == 0) {
					t.Errorf("result (error %v): %s; want %q", res.IsError, text(res), c.want)
				}
				if n := submits(h.emu); n != c.submits {
					t.Errorf("%d submits, want %d", n, c.submits)
				}
				if c.action != "" && (len(asked) != 1 || !strings.Contains(asked[0], "Run wan_vace_video: about $1.21")) {
					t.Errorf("the user was asked %q", asked)
				}
				// A job below the threshold asks nobody.
				small := map[string]any{"prompt": "p", "video_url": "https://v3.fal.media/files/in.mp4", "wait_seconds": 0}
				if res := h.call(t, ctx, "wan_vace_video", small); res.IsError || len(asked) > 1 {
					t.Errorf("a $0.405 job: %s, asked %q", text(res), asked)
				}
			})
		}
	}
}

// TestBudgetRace: calls of two servers sharing a ledger at the same time,
// each within the budget alone but not together: exactly one is submitted.
func TestBudgetRace(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{Key: testKey, DefaultScript: &faltest.Script{Output: map[string]any{}}})
	t.Cleanup(emu.Close)
	dir := t.TempDir()
	budget := func(o *tools.Options) { o.Budget = usd(0.05) }
	opt1, _ := withLedger(t, dir, make(chan tools.Job, 10))
	opt2, _ := withLedger(t, dir, make(chan tools.Job, 10))
	hs := []*harness{newHarnessOn(t, emu, mcp.ProtocolVersion20260728, opt1, budget), newHarnessOn(t, emu, mcp.ProtocolVersion20260728, opt2, budget)}
	ctx := ctxT(t)
	results := make(chan *mcp.CallToolResult, 4)
	for i := range 4 {
		go func() {
			res, err := hs[i%2].callErr(ctx, "ltx_multiconditioning_video", map[string]any{"prompt": fmt.Sprintf("p%d", i), "wait_seconds": 0})
			if err != nil {
				res = mcp.NewToolResultError(err.Error())
			}
			results <- res
		}()
	}
	ok := 0
	for range 4 {
		res := <-results
		if !res.IsError {
			ok++
		} else if !strings.Contains(text(res), "over budget") {
			t.Errorf("refusal: %s", text(res))
		}
	}
	if ok != 1 || submits(emu) != 1 {
		t.Errorf("%d calls accepted, %d submits; the budget allows one $0.04 job", ok, submits(emu))
	}
}

// TestEstimateOnlyValidates: estimate_only checks the input as a submit
// would, local files included, and sends nothing.
func TestEstimateOnlyValidates(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, mcp.ProtocolVersion20260728, allowing(t, dir))
	ctx := ctxT(t)
	for _, c := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"video_url": "relative/in.mp4"}, "video_url: got"},
		{map[string]any{"video_url": filepath.Join(t.TempDir(), "outside.mp4")}, "video_url:"},
		{map[string]any{"video_url": "https://x/in.mp4", "scale": 99}, "scale"},
	} {
		c.args["estimate_only"] = true
		res := h.call(t, ctx, "upscale_video", c.args)
		if !res.IsError || !strings.Contains(text(res), c.want) {
			t.Errorf("%v: %s", c.args, text(res))
		}
	}
	if n := len(h.emu.Requests()); n != 0 {
		t.Errorf("%d requests reached the emulator", n)
	}
}

// TestDedupeConcurrent: identical calls arriving together, while the
// first is still on its way to fal, enqueue one job.
func TestDedupeConcurrent(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{Key: testKey})
	t.Cleanup(emu.Close)
	emu.SetScript("fal-ai/video-upscaler", faltest.Script{Manual: true})
	opt, _ := withLedger(t, t.TempDir(), make(chan tools.Job, 10))
	h := newHarnessOn(t, emu, mcp.ProtocolVersion20260728, opt, func(o *tools.Options) { o.DedupeWindow = tools.DefaultDedupeWindow })
	ctx := ctxT(t)
	ids := make(chan string, 6)
	for range 6 {
		go func() {
			res, err := h.callErr(ctx, "upscale_video", map[string]any{"video_url": "https://x/in.mp4", "wait_seconds": 0})
			if err != nil || res.IsError {
				ids <- fmt.Sprintf("error %v %s", err, text(res))
				return
			}
			ids <- jobOf(t, res).RequestID
		}()
	}
	first := <-ids
	for range 5 {
		if id := <-ids; id != first {
			t.Errorf("job %s, want %s", id, first)
		}
	}
	if n := submits(emu); n != 1 {
		t.Errorf("%d submits, want 1", n)
	}
}

// TestAcceptedJobSubmittedAsAsked: after the user accepts, exactly one job
// is submitted with the caller's own arguments: force_new submits anew
// beside an identical job, and wait_seconds: 0 answers with the job still
// queued. Declined, cancelled, or when the client's elicitation fails,
// nothing is submitted and the answer is a tool error in plain words.
// Both protocol eras.
func TestAcceptedJobSubmittedAsAsked(t *testing.T) {
	big := map[string]any{"prompt": "p", "video_url": "https://v3.fal.media/files/in.mp4", "num_frames": 241, "wait_seconds": 0}
	again := map[string]any{"prompt": "p", "video_url": "https://v3.fal.media/files/in.mp4", "num_frames": 241, "wait_seconds": 0, "force_new": true}
	for _, era := range eras {
		t.Run(era+"/accept", func(t *testing.T) {
			asked := 0
			h := elicitHarnessWith(t, era, &faltest.Script{Manual: true}, func(context.Context, mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
				asked++
				return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionAccept, Content: map[string]any{"run": true}}}, nil
			}, func(o *tools.Options) { o.DedupeWindow = tools.DefaultDedupeWindow })
			ctx := ctxT(t)
			first := jobOf(t, h.call(t, ctx, "wan_vace_video", big))
			start := time.Now()
			res := h.call(t, ctx, "wan_vace_video", again)
			t.Logf("accepted call with wait_seconds 0 answered in %v", time.Since(start))
			second := jobOf(t, res)
			if res.IsError || second.RequestID == "" || second.RequestID == first.RequestID || second.Status != tools.StatusQueued {
				t.Errorf("force_new after an accept: %s (first job %s)", text(res), first.RequestID)
			}
			if n := submits(h.emu); n != 2 || asked != 2 {
				t.Errorf("%d submits after 2 accepted calls (%d questions), want 2", n, asked)
			}
		})
		for _, c := range []struct {
			name   string
			answer elicitFunc
			want   string
		}{
			{"decline", func(context.Context, mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
				return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionDecline}}, nil
			}, "the user did not accept the job (decline)"},
			{"cancel", func(context.Context, mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
				return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionCancel}}, nil
			}, "the user did not accept the job (cancel)"},
			{"error", func(context.Context, mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
				return nil, fmt.Errorf("the dialog crashed")
			}, "the user could not be asked"},
		} {
			t.Run(era+"/"+c.name, func(t *testing.T) {
				h := elicitHarnessWith(t, era, nil, c.answer)
				res, err := h.callErr(ctxT(t), "wan_vace_video", big)
				switch {
				case err != nil && c.name == "error" && era == mcp.ProtocolVersion20260728:
					// From 2026-07-28 the client itself asks the user; when
					// it cannot, it does not retry, and the server never
					// hears of it: nothing is submitted.
				case err != nil:
					t.Errorf("a JSON-RPC error instead of a tool result: %v", err)
				case !res.IsError || !strings.Contains(text(res), c.want) || !strings.Contains(text(res), "Nothing was sent to fal"):
					t.Errorf("result (error %v): %s; want %q", res.IsError, text(res), c.want)
				}
				if n := submits(h.emu); n != 0 {
					t.Errorf("%d submits, want 0", n)
				}
			})
		}
	}
}

// TestJobListTotalsAgree: job_list's two spend lines use one definition —
// jobs fal may bill in this world: dry-run jobs (in a real server) and
// failed jobs count in neither — and the text says so.
func TestJobListTotalsAgree(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{Key: testKey, DefaultScript: &faltest.Script{Manual: true}})
	t.Cleanup(emu.Close)
	emu.SetScript("fal-ai/ltx-video-13b-distilled/multiconditioning", faltest.Script{Failure: &faltest.Failure{}})
	dir := t.TempDir()
	optDry, _ := withLedger(t, dir, make(chan tools.Job, 10))
	optReal, _ := withLedger(t, dir, make(chan tools.Job, 10))
	dry := newHarnessOn(t, emu, mcp.ProtocolVersion20260728, optDry, func(o *tools.Options) { o.DryRun = true })
	real := newHarnessOn(t, emu, mcp.ProtocolVersion20251125, optReal)
	ctx := ctxT(t)
	wan := map[string]any{"prompt": "p", "video_url": "https://v3.fal.media/files/in.mp4", "wait_seconds": 0}
	for _, h := range []*harness{dry, real} {
		if res := h.call(t, ctx, "wan_vace_video", wan); res.IsError {
			t.Fatal(text(res))
		}
	}
	// A job that fails: billed by nobody.
	if j := jobOf(t, real.call(t, ctx, "ltx_multiconditioning_video", map[string]any{"prompt": "p", "wait_seconds": 10})); j.Status != tools.StatusFailed {
		t.Fatalf("the failing job is %s", j.Status)
	}
	res := real.call(t, ctx, "job_list", map[string]any{})
	var got struct {
		Jobs  []tools.Job `json:"jobs"`
		Spend struct {
			Last24h *float64 `json:"last_24h_usd"`
			Listed  float64  `json:"listed_usd"`
		} `json:"spend"`
	}
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Jobs) != 3 || got.Spend.Last24h == nil || *got.Spend.Last24h != 0.405 || got.Spend.Listed != 0.405 {
		t.Errorf("job_list spend %s over %d jobs; want $0.405 in both lines (the one real job that did not fail)", b, len(got.Jobs))
	}
	if !strings.Contains(text(res), "$0.405 in the last 24 h; $0.405 for the 3 job(s) listed") || !strings.Contains(text(res), "dry-run") {
		t.Errorf("job_list text: %s", text(res))
	}
}

// TestUnknownCostPolicies: a job whose cost cannot be estimated is
// refused, put to the user, or allowed as --unknown-cost says (by default:
// refused under a limit, asked under --confirm-above); under ask and allow
// the budget counts it at --max-job-cost (else the whole budget), never at
// $0 — across two servers sharing a ledger.
func TestUnknownCostPolicies(t *testing.T) {
	unknown := func(i int) map[string]any { // ray2: fal publishes no price
		return map[string]any{"video_url": fmt.Sprintf("https://x/%d.mp4", i), "prompt": "a prompt", "wait_seconds": 0}
	}
	accept := func(context.Context, mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
		return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionAccept, Content: map[string]any{"run": true}}}, nil
	}
	for _, c := range []struct {
		name    string
		opts    func(*tools.Options)
		elicit  bool
		submits int // of 4 calls, 2 per server
		asked   bool
		want    string // in the refusals
	}{
		{"no limit: allowed", func(o *tools.Options) {}, false, 4, false, ""},
		{"max-job-cost: refused", func(o *tools.Options) { o.MaxJobCost = usd(5) }, false, 0, false, "--unknown-cost refuse, the default"},
		{"budget: refused", func(o *tools.Options) { o.Budget = usd(100) }, false, 0, false, "fal-ai/luma-dream-machine/ray-2/modify"},
		{"explicit refuse, no limit", func(o *tools.Options) { o.UnknownCost = tools.UnknownCostRefuse }, false, 0, false, "as the server was started"},
		{"allow: counted at max-job-cost", func(o *tools.Options) {
			o.UnknownCost, o.MaxJobCost, o.Budget = tools.UnknownCostAllow, usd(0.4), usd(1)
		}, false, 2, false, "counted at $0.4 (--max-job-cost)"},
		{"allow: counted at the whole budget", func(o *tools.Options) { o.UnknownCost, o.Budget = tools.UnknownCostAllow, usd(1) }, false, 1, false, "over budget"},
		{"confirm-above: asked", func(o *tools.Options) { o.ConfirmAbove = usd(1) }, true, 4, true, ""},
		{"confirm-above, client cannot ask", func(o *tools.Options) { o.ConfirmAbove = usd(1) }, false, 0, false, "--unknown-cost allow"},
		{"ask, budget: asked and counted", func(o *tools.Options) { o.UnknownCost, o.Budget, o.MaxJobCost = tools.UnknownCostAsk, usd(1), usd(0.3) }, true, 3, true, "over budget"},
		{"confirm-above with allow: not asked", func(o *tools.Options) { o.ConfirmAbove, o.UnknownCost = usd(1), tools.UnknownCostAllow }, true, 4, false, ""},
	} {
		for _, era := range eras {
			t.Run(c.name+"/"+era, func(t *testing.T) {
				emu := faltest.NewServer(faltest.Options{Key: testKey, DefaultScript: &faltest.Script{Manual: true}})
				t.Cleanup(emu.Close)
				dir := t.TempDir()
				asked := 0
				var hs []*harness
				for range 2 {
					opt, _ := withLedger(t, dir, make(chan tools.Job, 10))
					var answer elicitFunc
					if c.elicit {
						answer = func(ctx context.Context, r mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
							asked++
							return accept(ctx, r)
						}
					}
					noConfirm := func(o *tools.Options) { o.ConfirmAbove = nil } // elicitHarnessOn's --confirm-above 1
					hs = append(hs, elicitHarnessOn(t, emu, era, answer, opt, noConfirm, c.opts))
				}
				ctx := ctxT(t)
				var refusals []string
				for i := range 4 {
					res, err := hs[i%2].callErr(ctx, "ray2_modify_video", unknown(i))
					if err != nil {
						t.Fatal(err)
					}
					if res.IsError {
						refusals = append(refusals, text(res))
					}
				}
				if n := submits(emu); n != c.submits {
					t.Errorf("%d of 4 jobs of unknown cost submitted, want %d; refusals: %q", n, c.submits, refusals)
				}
				if (asked > 0) != c.asked {
					t.Errorf("the user was asked %d times", asked)
				}
				for _, r := range refusals {
					if !strings.Contains(r, c.want) || !strings.Contains(r, "Nothing was sent to fal") {
						t.Errorf("refusal %q; want it to say %q", r, c.want)
					}
				}
			})
		}
	}
}
