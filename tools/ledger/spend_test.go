package ledger_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/tools/ledger"
)

func usd(f float64) *float64 { return &f }

func TestSpendAndDuplicates(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l := open(t, dir)
	now := time.Now()
	jobs := []ledger.Job{
		{RequestID: "a", Tool: "t", EndpointID: "e", Input: []byte(`{}`), EstimatedCostUSD: usd(0.4), CostBasis: "b", InputHash: "h1", SubmittedAt: now.Add(-time.Minute)},
		{RequestID: "b", Tool: "t", EndpointID: "e", Input: []byte(`{}`), EstimatedCostUSD: usd(1.5), InputHash: "h2", SubmittedAt: now.Add(-25 * time.Hour)},
		{RequestID: "c", Tool: "t", EndpointID: "e", Input: []byte(`{}`), InputHash: "h3", SubmittedAt: now.Add(-2 * time.Minute)},
		{RequestID: "d", Tool: "t", EndpointID: "e", Input: []byte(`{}`), EstimatedCostUSD: usd(2), InputHash: "h4", SubmittedAt: now.Add(-3 * time.Minute)},
		{RequestID: "dry", Tool: "t", EndpointID: "e", Input: []byte(`{}`), EstimatedCostUSD: usd(7), DryRun: true, SubmittedAt: now},
	}
	for _, j := range jobs {
		if err := l.Insert(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Finish(ctx, "d", ledger.End{Status: ledger.StatusFailed, Error: "x"}); err != nil {
		t.Fatal(err)
	}
	s, err := l.Spent(ctx, now.Add(-24*time.Hour), false)
	if err != nil {
		t.Fatal(err)
	}
	if s.USD != 0.4 || s.Jobs != 2 || s.Unknown != 1 {
		t.Errorf("spent %+v, want $0.4 over 2 jobs, 1 unknown (old, failed and dry-run jobs left out)", s)
	}
	got, err := l.Get(ctx, "a")
	if err != nil || got.EstimatedCostUSD == nil || *got.EstimatedCostUSD != 0.4 || got.CostBasis != "b" || got.InputHash != "h1" {
		t.Errorf("job a read back as %+v, %v", got, err)
	}
	if c, _ := l.Get(ctx, "c"); c.EstimatedCostUSD != nil {
		t.Errorf("unknown estimate read back as %v", *c.EstimatedCostUSD)
	}

	for _, c := range []struct {
		tool, hash string
		since      time.Duration
		want       string
	}{
		{"t", "h1", 10 * time.Minute, "a"},
		{"t", "h1", 30 * time.Second, ""}, // outside the window
		{"other", "h1", 10 * time.Minute, ""},
		{"t", "h4", 10 * time.Minute, ""}, // failed
		{"t", "", 10 * time.Minute, ""},
	} {
		j, ok, err := l.FindDuplicate(ctx, c.tool, c.hash, now.Add(-c.since))
		if err != nil {
			t.Fatal(err)
		}
		if ok != (c.want != "") || ok && j.RequestID != c.want {
			t.Errorf("FindDuplicate(%s, %s, %v) = %q %v, want %q", c.tool, c.hash, c.since, j.RequestID, ok, c.want)
		}
	}

	// A second process sees the same (the ledger, not memory).
	l2 := open(t, dir)
	if j, ok, _ := l2.FindDuplicate(ctx, "t", "h1", now.Add(-time.Hour)); !ok || j.RequestID != "a" {
		t.Errorf("another process does not find the duplicate")
	}
}

func TestPriceCache(t *testing.T) {
	ctx := context.Background()
	l := open(t, t.TempDir())
	old := time.Now().Add(-25 * time.Hour)
	if err := l.SavePrices(ctx, []ledger.Price{{EndpointID: "e", UnitPrice: 0.1, Unit: "video", Currency: "USD", FetchedAt: old}}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := l.CachedPrice(ctx, "e", time.Now().Add(-24*time.Hour)); ok {
		t.Error("a price older than a day was served from the cache")
	}
	if err := l.SavePrices(ctx, []ledger.Price{{EndpointID: "e", UnitPrice: 0.2, Unit: "seconds", Currency: "USD"}}); err != nil {
		t.Fatal(err)
	}
	p, ok, err := l.CachedPrice(ctx, "e", time.Now().Add(-24*time.Hour))
	if err != nil || !ok || p.UnitPrice != 0.2 || p.Unit != "seconds" {
		t.Errorf("cached price %+v %v %v", p, ok, err)
	}
}

// TestPrepareWithinCap: the budget is checked in the transaction that
// writes a job ahead, so two writers cannot both pass it.
func TestPrepareWithinCap(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, b := open(t, dir), open(t, dir)
	limit := &ledger.SpendCap{USD: 1, Since: time.Now().Add(-time.Hour)}
	job := func(id string, cost float64) ledger.Job {
		return ledger.Job{LocalID: id, Tool: "t", EndpointID: "e", Input: []byte(`{}`), EstimatedCostUSD: usd(cost), Cap: limit}
	}
	if err := a.Prepare(ctx, job("local-1", 0.6)); err != nil {
		t.Fatal(err)
	}
	if err := b.Prepare(ctx, job("local-2", 0.6)); !errors.Is(err, ledger.ErrOverBudget) {
		t.Errorf("second job over the cap: err %v, want ErrOverBudget", err)
	}
	if _, err := b.Get(ctx, "local-2"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("the refused job was written: %v", err)
	}
	if err := b.Prepare(ctx, job("local-3", 0.4)); err != nil {
		t.Errorf("a job that fits: %v", err)
	}
}

// TestPrepareCapCountsUnknown: a job of unknown cost is never counted as
// $0 by the budget: it counts at the cap's UnknownUSD, both as the job
// being written and as a job already in the ledger — across two writers.
func TestPrepareCapCountsUnknown(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, b := open(t, dir), open(t, dir)
	limit := &ledger.SpendCap{USD: 1, UnknownUSD: 0.6, Since: time.Now().Add(-time.Hour)}
	job := func(id string, cost *float64) ledger.Job {
		return ledger.Job{LocalID: id, Tool: "t", EndpointID: "e", Input: []byte(`{}`), EstimatedCostUSD: cost, Cap: limit}
	}
	if err := a.Prepare(ctx, job("local-1", nil)); err != nil {
		t.Fatal(err)
	}
	if err := b.Prepare(ctx, job("local-2", nil)); !errors.Is(err, ledger.ErrOverBudget) {
		t.Errorf("a second job of unknown cost: err %v, want ErrOverBudget ($0.6 + $0.6 > $1)", err)
	}
	if err := b.Prepare(ctx, job("local-3", usd(0.5))); !errors.Is(err, ledger.ErrOverBudget) {
		t.Errorf("a $0.5 job after one of unknown cost: err %v, want ErrOverBudget", err)
	}
	if err := b.Prepare(ctx, job("local-4", usd(0.4))); err != nil {
		t.Errorf("a $0.4 job that fits: %v", err)
	}
	// No figure for unknown cost: such a job cannot pass a budget.
	strict := &ledger.SpendCap{USD: 100, Since: time.Now().Add(-time.Hour)}
	if err := b.Prepare(ctx, ledger.Job{LocalID: "local-5", Tool: "t", EndpointID: "e", Input: []byte(`{}`), Cap: strict}); !errors.Is(err, ledger.ErrOverBudget) {
		t.Errorf("unknown cost without a figure: err %v, want ErrOverBudget", err)
	}
}
