package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

func nullFloat(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// FindDuplicate returns the newest job of tool with the same canonical
// input (hash) submitted since the given time that has not failed or been
// cancelled — whichever process submitted it.
func (l *Ledger) FindDuplicate(ctx context.Context, tool, inputHash string, since time.Time) (Job, bool, error) {
	if inputHash == "" {
		return Job{}, false, nil
	}
	j, err := scanJob(l.db.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs
		WHERE tool = ? AND input_hash = ? AND submitted_at >= ? AND status NOT IN ('failed', 'cancelled')
		ORDER BY submitted_at DESC, rowid DESC LIMIT 1`, tool, inputHash, millis(since)))
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, false, nil
	}
	return j, err == nil, err
}

// Spend is the estimated cost of jobs, as Spent sums it.
type Spend struct {
	USD     float64 // the sum of the known estimates
	Jobs    int     // jobs counted
	Unknown int     // of which with no estimate
}

// Spent sums the estimated cost of the jobs submitted since the given
// time, by every process sharing the ledger, that fal may bill: every job
// but those that failed. Dry-run jobs count only toward dry-run spend.
func (l *Ledger) Spent(ctx context.Context, since time.Time, dryRun bool) (Spend, error) {
	var s Spend
	var usd sql.NullFloat64
	err := l.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(estimated_cost_usd), 0), count(*),
		COALESCE(SUM(CASE WHEN estimated_cost_usd IS NULL THEN 1 ELSE 0 END), 0)
		FROM jobs WHERE submitted_at >= ? AND status != 'failed' AND dry_run = ?`, millis(since), dryRun).Scan(&usd, &s.Jobs, &s.Unknown)
	s.USD = usd.Float64
	return s, err
}

// Price is an endpoint's price as fal's pricing API gave it.
type Price struct {
	EndpointID string
	UnitPrice  float64
	Unit       string
	Currency   string
	FetchedAt  time.Time
}

// SavePrices caches prices fetched from fal.
func (l *Ledger) SavePrices(ctx context.Context, ps []Price) error {
	return l.exec(ctx, func(tx *sql.Tx) error {
		for _, p := range ps {
			if p.FetchedAt.IsZero() {
				p.FetchedAt = time.Now()
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO prices (endpoint_id, unit_price, unit, currency, fetched_at)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT (endpoint_id) DO UPDATE SET unit_price = excluded.unit_price,
				unit = excluded.unit, currency = excluded.currency, fetched_at = excluded.fetched_at`,
				p.EndpointID, p.UnitPrice, p.Unit, p.Currency, millis(p.FetchedAt)); err != nil {
				return err
			}
		}
		return nil
	})
}

// CachedPrice returns an endpoint's cached price fetched since the given
// time.
func (l *Ledger) CachedPrice(ctx context.Context, endpointID string, since time.Time) (Price, bool, error) {
	p := Price{EndpointID: endpointID}
	var at int64
	err := l.db.QueryRowContext(ctx, `SELECT unit_price, unit, currency, fetched_at FROM prices WHERE endpoint_id = ? AND fetched_at >= ?`,
		endpointID, millis(since)).Scan(&p.UnitPrice, &p.Unit, &p.Currency, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return Price{}, false, nil
	}
	if err != nil {
		return Price{}, false, err
	}
	p.FetchedAt = time.UnixMilli(at)
	return p, true, nil
}

// ErrOverBudget is returned by Prepare when a job's Cap would be passed.
var ErrOverBudget = errors.New("ledger: the job would take the estimated spend over the budget")

// SpendCap is a budget: at most USD of estimated spend since Since.
type SpendCap struct {
	USD   float64
	Since time.Time
	// UnknownUSD is what a job of unknown cost counts for, the job being
	// written and those already in the ledger: never $0. With none (0), a
	// job of unknown cost cannot pass the cap.
	UnknownUSD float64
}

// spentSQL sums the spend a cap counts: known estimates, and jobs of
// unknown cost at the cap's figure for them.
const spentSQL = `SELECT COALESCE(SUM(COALESCE(estimated_cost_usd, ?)), 0) FROM jobs WHERE submitted_at >= ? AND status != 'failed' AND dry_run = ?`

func checkCap(ctx context.Context, tx *sql.Tx, j Job) error {
	if j.Cap == nil {
		return nil
	}
	cost, what := j.Cap.UnknownUSD, "of unknown cost, counted at"
	if j.EstimatedCostUSD != nil {
		cost, what = *j.EstimatedCostUSD, "estimated at"
	} else if cost <= 0 {
		return fmt.Errorf("%w: the job's cost is unknown, and the budget has no figure to count it at", ErrOverBudget)
	}
	var spent float64
	if err := tx.QueryRowContext(ctx, spentSQL, j.Cap.UnknownUSD, millis(j.Cap.Since), j.DryRun).Scan(&spent); err != nil {
		return err
	}
	if spent+cost > j.Cap.USD+1e-9 {
		return fmt.Errorf("%w: $%g spent since %s, budget $%g, job %s $%g", ErrOverBudget, spent, j.Cap.Since.Format(time.RFC3339),
			j.Cap.USD, what, cost)
	}
	return nil
}
