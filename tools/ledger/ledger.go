// Package ledger is the job ledger of fal-video-mcp: an embedded SQLite
// database in the user's state directory that remembers every job the
// server submits — its input as sent, status history, timestamps and, once
// captured, its result — so that a job paid for is never lost to a restart
// or to fal's short result retention.
//
// Several server processes may share one ledger: it runs in WAL mode with
// a busy timeout and short, immediate transactions. The schema is
// versioned (PRAGMA user_version) and migrated at Open. A ledger that
// cannot be opened is reported, never deleted.
package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // pure Go: go install needs no C toolchain
)

// FileName is the ledger's file inside the state directory.
const FileName = "jobs.db"

// Job statuses, as the job tools report them.
const (
	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
	// StatusUnknown is a submit whose answer never reached the server (a
	// crash in between, or an answer lost on the way): fal may have queued
	// and billed it. The row keeps its local id; it is never resubmitted.
	StatusUnknown = "unknown"
)

// Final reports whether a status is an end: completed, failed or cancelled.
func Final(status string) bool {
	return status == StatusCompleted || status == StatusFailed || status == StatusCancelled
}

// Settled reports whether nothing more can be learned of a job: it ended,
// or its submit's answer was lost (unknown).
func Settled(status string) bool { return Final(status) || status == StatusUnknown }

// settledSQL is Settled as an SQL list.
const settledSQL = "('completed', 'failed', 'cancelled', 'unknown')"

// ApplicationID marks a SQLite file as this server's ledger (PRAGMA
// application_id): "fvmc".
const ApplicationID = 0x66766d63

// ErrNotOurs is returned by Open for a SQLite file that is some other
// program's database: it is never written to.
var ErrNotOurs = errors.New("the file is a SQLite database of another program, not a fal-video-mcp ledger")

// ErrNotFound is returned for a request id the ledger does not hold.
var ErrNotFound = errors.New("ledger: no such job")

// Job is one job as the ledger holds it.
type Job struct {
	RequestID     string
	EndpointID    string
	Tool          string
	Status        string
	QueuePosition *int
	Input         json.RawMessage // as sent, data URIs elided
	StatusURL     string
	ResponseURL   string
	CancelURL     string
	Error         string            // fal's detail, verbatim
	Result        json.RawMessage   // the model output, once captured
	Logs          []string          // every log line seen, oldest first (capped at MaxLogs)
	LocalID       string            // the id the job had before fal answered its submit
	FetchFailed   bool              // failed only because the result could not be fetched: a later fetch may replace it
	Saved         map[string]string // output URL → local file, once downloaded
	LeaseOwner    string            // the process following the job, while LeaseUntil has not passed
	LeaseUntil    time.Time
	DryRun        bool
	SubmittedAt   time.Time
	UpdatedAt     time.Time
	CompletedAt   time.Time // zero until the job ends
	// EstimatedCostUSD is the job's cost as estimated before its submit
	// (nil: unknown); CostBasis says how.
	EstimatedCostUSD *float64
	CostBasis        string
	// InputHash identifies the tool's canonical input, for FindDuplicate.
	InputHash string
	// DedupeSince, if set, makes Prepare an insert-or-return: when a job of
	// the same tool and InputHash submitted since then has not failed or
	// been cancelled, nothing is written and Prepare returns a
	// *DuplicateError naming it. The check and the write are one
	// transaction (taken with the write lock), so processes sharing the
	// ledger cannot both write the same call.
	DedupeSince time.Time
	// Cap, if set, makes Prepare refuse (ErrOverBudget) a job whose
	// estimate would take the spend since Cap.Since above Cap.USD, checked
	// in the transaction that writes it: processes sharing the ledger
	// cannot both pass the same budget.
	Cap *SpendCap
}

// Event is one change of a job's status.
type Event struct {
	At            time.Time
	Status        string
	QueuePosition *int
	Detail        string
}

// Ledger is an open ledger. It is safe for concurrent use.
type Ledger struct {
	db      *sql.DB
	path    string
	writes  chan *write // to the committer
	stopped chan struct{}
	closeMu sync.RWMutex // writers hold it to send; Close to close writes
	closed  bool
	stmts   sync.Map    // query → *sql.Stmt, the hot writes prepared once
	opened  os.FileInfo // the file as Open found it: Health compares (device and inode)
}

// txExec runs a hot write's statement in tx, prepared once per ledger
// (database/sql re-prepares it per connection as needed).
func (l *Ledger) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	st, ok := l.stmts.Load(query)
	if !ok {
		prepared, err := l.db.PrepareContext(ctx, query)
		if err != nil {
			return tx.ExecContext(ctx, query, args...)
		}
		if st, ok = l.stmts.LoadOrStore(query, prepared); ok {
			prepared.Close()
		}
	}
	return tx.StmtContext(ctx, st.(*sql.Stmt)).ExecContext(ctx, args...)
}

// DefaultDir is the state directory: $XDG_STATE_HOME/fal-video-mcp, else
// ~/.local/state/fal-video-mcp.
func DefaultDir(getenv func(string) string) (string, error) {
	if d := getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "fal-video-mcp"), nil
	}
	home := getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", fmt.Errorf("ledger: no state directory: set XDG_STATE_HOME or HOME, or pass --state-dir")
		}
	}
	return filepath.Join(home, ".local", "state", "fal-video-mcp"), nil
}

// migrations are applied in order; user_version counts those applied.
// Append only: never edit a migration that has shipped.
var migrations = []string{
	`CREATE TABLE jobs (
		request_id     TEXT PRIMARY KEY,
		endpoint_id    TEXT NOT NULL,
		tool           TEXT NOT NULL,
		status         TEXT NOT NULL,
		queue_position INTEGER,
		input          TEXT NOT NULL,
		status_url     TEXT NOT NULL DEFAULT '',
		response_url   TEXT NOT NULL DEFAULT '',
		cancel_url     TEXT NOT NULL DEFAULT '',
		error          TEXT NOT NULL DEFAULT '',
		result         TEXT,
		dry_run        INTEGER NOT NULL DEFAULT 0,
		submitted_at   INTEGER NOT NULL,
		updated_at     INTEGER NOT NULL,
		completed_at   INTEGER
	);
	CREATE INDEX jobs_by_submitted ON jobs (submitted_at DESC);
	CREATE INDEX jobs_by_status ON jobs (status, submitted_at DESC);
	CREATE TABLE job_events (
		id             INTEGER PRIMARY KEY AUTOINCREMENT,
		request_id     TEXT NOT NULL REFERENCES jobs (request_id),
		at             INTEGER NOT NULL,
		status         TEXT NOT NULL,
		queue_position INTEGER,
		detail         TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX job_events_by_job ON job_events (request_id, id);`,
	`CREATE TABLE uploads (
		path         TEXT NOT NULL,
		size         INTEGER NOT NULL,
		mod_time     INTEGER NOT NULL,
		sha256       TEXT NOT NULL,
		url          TEXT NOT NULL,
		content_type TEXT NOT NULL,
		uploaded_at  INTEGER NOT NULL
	);
	CREATE INDEX uploads_by_file ON uploads (path, size, mod_time);
	CREATE INDEX uploads_by_hash ON uploads (sha256);`,
	`ALTER TABLE jobs ADD COLUMN local_id TEXT NOT NULL DEFAULT '';
	ALTER TABLE jobs ADD COLUMN logs TEXT NOT NULL DEFAULT '[]';
	ALTER TABLE jobs ADD COLUMN fetch_failed INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE jobs ADD COLUMN saved TEXT NOT NULL DEFAULT '{}';
	ALTER TABLE jobs ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
	ALTER TABLE jobs ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;`,
	`ALTER TABLE jobs ADD COLUMN estimated_cost_usd REAL;
	ALTER TABLE jobs ADD COLUMN cost_basis TEXT NOT NULL DEFAULT '';
	ALTER TABLE jobs ADD COLUMN input_hash TEXT NOT NULL DEFAULT '';
	CREATE INDEX jobs_by_input ON jobs (tool, input_hash, submitted_at DESC);
	CREATE TABLE prices (
		endpoint_id TEXT PRIMARY KEY,
		unit_price  REAL NOT NULL,
		unit        TEXT NOT NULL,
		currency    TEXT NOT NULL,
		fetched_at  INTEGER NOT NULL
	);`,
	// Uploads are found by their bytes and where they went (the target:
	// fal or a dry run's emulator, and the account), never by path, size
	// or modification time. Rows from before have no target: none matches.
	`ALTER TABLE uploads ADD COLUMN target TEXT NOT NULL DEFAULT '';
	DROP INDEX uploads_by_file;
	DROP INDEX uploads_by_hash;
	CREATE INDEX uploads_by_content ON uploads (sha256, target, content_type, uploaded_at DESC);`,
}

// MaxLogs is how many log lines the ledger keeps per job (the newest).
const MaxLogs = 500

// Open opens (creating if need be) the ledger in dir and brings its schema
// up to date. Errors say what is wrong with the file or directory; the
// file is never removed or rewritten, and a SQLite file that is not a
// ledger (ErrNotOurs) is never written to.
func Open(ctx context.Context, dir string) (*Ledger, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ledger: cannot create the state directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	if err := checkOurs(ctx, path); err != nil {
		return nil, fmt.Errorf("ledger: %s cannot be used (it was left as it is): %w", path, err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate") // take the write lock at BEGIN: no upgrade deadlocks between processes
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("ledger: %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	l := &Ledger{db: db, path: path, writes: make(chan *write, 256), stopped: make(chan struct{})}
	if err := l.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("ledger: %s cannot be used (it was left as it is): %w", path, err)
	}
	// The file exists now (migrate wrote to it): remember which it is.
	if l.opened, err = os.Stat(path); err != nil {
		db.Close()
		return nil, fmt.Errorf("ledger: %s: %w", path, err)
	}
	go l.commit()
	return l, nil
}

// Health reports whether the ledger's file is still the one Open opened:
// one deleted or replaced while the server runs (another file at the
// path: a different device or inode) takes the history with it, though
// SQLite keeps writing to the file it holds open. A nil error means it
// is.
func (l *Ledger) Health() error {
	fi, err := os.Stat(l.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("the job ledger %s was deleted while the server runs: jobs recorded from now on are lost when it stops (restart the server to start a new ledger)", l.path)
	case err != nil:
		return fmt.Errorf("the job ledger %s cannot be checked: %v", l.path, err)
	case !os.SameFile(l.opened, fi):
		return fmt.Errorf("the job ledger %s was replaced by another file while the server runs: this server still writes to the file it opened, which no longer has a name (restart the server to use the new one)", l.path)
	}
	return nil
}

// Path is the ledger's file.
func (l *Ledger) Path() string { return l.path }

// Close finishes the writes already queued, then closes the database.
func (l *Ledger) Close() error {
	l.closeMu.Lock()
	if !l.closed {
		l.closed = true
		close(l.writes)
	}
	l.closeMu.Unlock()
	<-l.stopped
	l.stmts.Range(func(_, st any) bool { st.(*sql.Stmt).Close(); return true })
	return l.db.Close()
}

// checkOurs opens an existing file read-only, before anything could write
// to it (even turning WAL on writes), and refuses another program's
// database.
func checkOurs(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err != nil {
		return nil // nothing there yet (or Open reports why)
	}
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	var version, appID, tables, jobs int
	for _, q := range []struct {
		sql string
		dst *int
	}{
		{"PRAGMA user_version", &version},
		{"PRAGMA application_id", &appID},
		{"SELECT count(*) FROM sqlite_master WHERE type = 'table'", &tables},
		{"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'jobs'", &jobs},
	} {
		if err := db.QueryRowContext(ctx, q.sql).Scan(q.dst); err != nil {
			return err
		}
	}
	switch {
	case appID == ApplicationID:
	case appID != 0:
		return fmt.Errorf("%w (application_id %#x)", ErrNotOurs, appID)
	case tables > 0 && (version == 0 || jobs == 0):
		// Ledgers made before application_id was set have user_version and
		// a jobs table; anything else with tables belongs to someone else.
		return ErrNotOurs
	}
	return nil
}

func (l *Ledger) migrate(ctx context.Context) error {
	var version, appID int
	if err := l.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if err := l.db.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return err
	}
	if version > len(migrations) {
		return fmt.Errorf("its schema version %d is newer than this server knows (%d): upgrade fal-video-mcp", version, len(migrations))
	}
	if version == len(migrations) && appID == ApplicationID {
		return nil
	}
	return l.tx(ctx, func(tx *sql.Tx) error {
		// Read again under the write lock: another process may have
		// migrated in between.
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
			return err
		}
		for i := version; i < len(migrations); i++ {
			if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", ApplicationID)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations)))
		return err
	})
}

func (l *Ledger) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// write is one change waiting for the committer.
type write struct {
	ctx  context.Context
	fn   func(*sql.Tx) error
	done chan error
}

func (w *write) answer(err error) { w.done <- err }

// maxBatch caps the changes committed in one transaction.
const maxBatch = 128

// exec runs fn in a write transaction and returns once it is committed.
// Changes from concurrent callers are committed together (group commit):
// one transaction for all, or, when one of them fails, one each. Callers
// never hold a lock across it.
func (l *Ledger) exec(ctx context.Context, fn func(*sql.Tx) error) error {
	w := &write{ctx: ctx, fn: fn, done: make(chan error, 1)}
	if err := l.enqueue(ctx, w); err != nil {
		return err
	}
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *Ledger) enqueue(ctx context.Context, w *write) error {
	l.closeMu.RLock()
	if l.closed {
		l.closeMu.RUnlock()
		return errClosed
	}
	select {
	case l.writes <- w:
		l.closeMu.RUnlock()
	case <-ctx.Done():
		l.closeMu.RUnlock()
		return ctx.Err()
	}
	return nil
}

var errClosed = errors.New("ledger: closed")

// commit is the one goroutine that writes: it takes every change waiting,
// commits them in one transaction and answers each.
func (l *Ledger) commit() {
	defer close(l.stopped)
	for w := range l.writes {
		batch := []*write{w}
	more:
		for len(batch) < maxBatch {
			select {
			case w, ok := <-l.writes:
				if !ok {
					break more
				}
				batch = append(batch, w)
			default:
				break more
			}
		}
		l.commitBatch(batch)
	}
}

func (l *Ledger) commitBatch(batch []*write) {
	live := batch[:0]
	for _, w := range batch {
		if err := w.ctx.Err(); err != nil {
			w.answer(err) // its caller has gone: nothing waits for it
			continue
		}
		live = append(live, w)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// All in one transaction; if any change fails, the batch is rolled
	// back and each change is committed on its own, so that one failure
	// fails only its own caller.
	err := l.tx(ctx, func(tx *sql.Tx) error {
		for _, w := range live {
			if err := w.fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(live) == 1 {
		for _, w := range live {
			w.answer(err)
		}
		return
	}
	for _, w := range live {
		w.answer(l.tx(ctx, w.fn))
	}
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms sql.NullInt64) time.Time {
	if !ms.Valid {
		return time.Time{}
	}
	return time.UnixMilli(ms.Int64)
}

// Insert records a job fal has accepted, and its first event. Recording
// the same request id again leaves the first record as it was.
func (l *Ledger) Insert(ctx context.Context, j Job) error {
	now := time.Now()
	if j.SubmittedAt.IsZero() {
		j.SubmittedAt = now
	}
	if j.Status == "" {
		j.Status = StatusQueued
	}
	input := ElideDataURIs(j.Input)
	return l.exec(ctx, func(tx *sql.Tx) error {
		if err := checkCap(ctx, tx, j); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO jobs (request_id, endpoint_id, tool, status, queue_position, input,
			status_url, response_url, cancel_url, dry_run, submitted_at, updated_at, local_id, estimated_cost_usd, cost_basis, input_hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (request_id) DO NOTHING`,
			j.RequestID, j.EndpointID, j.Tool, j.Status, nullInt(j.QueuePosition), string(input),
			j.StatusURL, j.ResponseURL, j.CancelURL, j.DryRun, millis(j.SubmittedAt), millis(now), j.LocalID,
			nullFloat(j.EstimatedCostUSD), j.CostBasis, j.InputHash)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO job_events (request_id, at, status, queue_position) VALUES (?, ?, ?, ?)`,
			j.RequestID, millis(now), j.Status, nullInt(j.QueuePosition))
		return err
	})
}

// Prepare writes a job ahead of its submit: under its local id, with
// status unknown, before the request leaves the process. Submitted fills
// in fal's answer; Discard removes it when fal refused the submit for
// certain. A row left unknown is a submit whose answer never came.
func (l *Ledger) Prepare(ctx context.Context, j Job) error {
	if j.LocalID == "" {
		return errors.New("ledger: Prepare needs a local id")
	}
	now := time.Now()
	if j.SubmittedAt.IsZero() {
		j.SubmittedAt = now
	}
	input := ElideDataURIs(j.Input)
	// The estimate and the input hash are written with the row, and the row
	// is refused (ErrOverBudget) when j.Cap would be passed: spend control
	// needs both in the same transaction as the write-ahead. No event: the
	// job's history starts when fal answers.
	return l.exec(ctx, func(tx *sql.Tx) error {
		if err := findDuplicate(ctx, tx, j); err != nil {
			return err
		}
		if err := checkCap(ctx, tx, j); err != nil {
			return err
		}
		_, err := l.txExec(ctx, tx, `INSERT INTO jobs (request_id, endpoint_id, tool, status, input, dry_run, submitted_at,
			updated_at, local_id, estimated_cost_usd, cost_basis, input_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			j.LocalID, j.EndpointID, j.Tool, StatusUnknown, string(input), j.DryRun, millis(j.SubmittedAt), millis(now), j.LocalID,
			nullFloat(j.EstimatedCostUSD), j.CostBasis, j.InputHash)
		return err
	})
}

// DuplicateError is Prepare's answer when an identical call's job is
// already in the ledger (Job.DedupeSince): that job, nothing written.
type DuplicateError struct{ Job Job }

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("ledger: the same call is already job %s", e.Job.RequestID)
}

// findDuplicate returns a *DuplicateError when j's call already has a job
// within its dedupe window, read in the write-ahead's transaction.
func findDuplicate(ctx context.Context, tx *sql.Tx, j Job) error {
	if j.DedupeSince.IsZero() || j.InputHash == "" {
		return nil
	}
	found, err := scanJob(tx.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs
		WHERE tool = ? AND input_hash = ? AND submitted_at >= ? AND status NOT IN ('failed', 'cancelled')
		ORDER BY submitted_at DESC, rowid DESC LIMIT 1`, j.Tool, j.InputHash, millis(j.DedupeSince)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return &DuplicateError{Job: found}
}

// ByLocalID returns the job written ahead under a local id, under fal's
// request id once fal has answered (ErrNotFound if it was discarded).
func (l *Ledger) ByLocalID(ctx context.Context, localID string) (Job, error) {
	j, err := scanJob(l.db.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE local_id = ? ORDER BY rowid DESC LIMIT 1`, localID))
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, ErrNotFound
	}
	return j, err
}

// Submitted records fal's answer to a prepared submit: the job takes its
// request id and URLs, is queued, and is leased to owner (the process that
// submitted it follows it) until ttl from now.
func (l *Ledger) Submitted(ctx context.Context, localID string, j Job, owner string, ttl time.Duration) error {
	now := time.Now()
	return l.exec(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET request_id = ?, status = ?, status_url = ?, response_url = ?, cancel_url = ?,
			error = '', updated_at = ?, lease_owner = ?, lease_until = ? WHERE request_id = ? AND status = 'unknown'`,
			j.RequestID, StatusQueued, j.StatusURL, j.ResponseURL, j.CancelURL, millis(now), owner, millis(now.Add(ttl)), localID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("ledger: no prepared submit %s", localID)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO job_events (request_id, at, status) VALUES (?, ?, ?)`, j.RequestID, millis(now), StatusQueued)
		return err
	})
}

// SubmitLost notes why a prepared submit's outcome is unknown.
func (l *Ledger) SubmitLost(ctx context.Context, localID, reason string) error {
	return l.exec(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE jobs SET error = ?, updated_at = ? WHERE request_id = ? AND status = 'unknown'`,
			reason, millis(time.Now()), localID)
		return err
	})
}

// Discard removes a prepared submit that fal refused for certain (nothing
// was queued, nothing billed).
func (l *Ledger) Discard(ctx context.Context, localID string) error {
	return l.exec(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM job_events WHERE request_id = ?`, localID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM jobs WHERE request_id = ? AND status = 'unknown'`, localID)
		return err
	})
}

func nullInt(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

// Update records a job's new status (and queue position) when it changed;
// detail is an optional note for the history (a log line, say). A job that
// has ended is never moved back: updates to it are ignored, so a late
// status from a slower process cannot undo a captured result.
func (l *Ledger) Update(ctx context.Context, requestID, status string, position *int, detail string) error {
	if Settled(status) {
		return fmt.Errorf("ledger: use Finish to end job %s", requestID)
	}
	return l.exec(ctx, func(tx *sql.Tx) error { return update(ctx, tx, requestID, status, position, detail) })
}

func update(ctx context.Context, tx *sql.Tx, requestID, status string, position *int, detail string) error {
	now := millis(time.Now())
	res, err := tx.ExecContext(ctx, `UPDATE jobs SET status = ?, queue_position = ?, updated_at = ?
		WHERE request_id = ? AND status NOT IN `+settledSQL+`
		AND (status IS NOT ? OR queue_position IS NOT ?)`,
		status, nullInt(position), now, requestID, status, nullInt(position))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 && detail == "" {
		return nil
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO job_events (request_id, at, status, queue_position, detail)
		SELECT request_id, ?, ?, ?, ? FROM jobs WHERE request_id = ? AND status NOT IN `+settledSQL,
		now, status, nullInt(position), detail, requestID)
	return err
}

// Progress is a job's state while it runs, as SaveProgress records it.
type Progress struct {
	RequestID     string
	Status        string // queued or running
	QueuePosition *int
	Logs          []string // every line seen so far (the newest MaxLogs are kept); nil: unchanged
	// StatusChanged says Status or QueuePosition may differ from what was
	// last saved: only then is an event considered.
	StatusChanged bool
}

// SaveProgress records the state of several running jobs in one
// transaction: an event when a status or position changed, and the logs.
func (l *Ledger) SaveProgress(ctx context.Context, ps []Progress) error {
	if len(ps) == 0 {
		return nil
	}
	return l.exec(ctx, func(tx *sql.Tx) error {
		for _, p := range ps {
			if Settled(p.Status) {
				continue
			}
			if p.Logs != nil {
				if _, err := tx.ExecContext(ctx, `UPDATE jobs SET logs = ? WHERE request_id = ? AND status NOT IN `+settledSQL,
					logsJSON(p.Logs), p.RequestID); err != nil {
					return err
				}
			}
			if !p.StatusChanged {
				continue
			}
			if err := update(ctx, tx, p.RequestID, p.Status, p.QueuePosition, ""); err != nil {
				return err
			}
		}
		return nil
	})
}

func logsJSON(logs []string) string {
	if len(logs) > MaxLogs {
		logs = logs[len(logs)-MaxLogs:]
	}
	if logs == nil {
		logs = []string{}
	}
	b, _ := json.Marshal(logs)
	return string(b)
}

// End is how a job ended, as Finish records it.
type End struct {
	Status string          // completed, failed or cancelled
	Result json.RawMessage // completed: the output
	Error  string          // failed or cancelled: fal's words, or why the result could not be fetched
	// FetchFailed marks a failure recorded because the result could not be
	// fetched, not because fal said the job failed: a later Finish with
	// the result replaces it.
	FetchFailed bool
	Logs        []string // every log line seen (nil: keep the logs recorded)
}

// Finish ends a job. The first end recorded wins, except that a captured
// result replaces a failure recorded only because the result could not be
// fetched: a success always wins.
func (l *Ledger) Finish(ctx context.Context, requestID string, e End) error {
	if !Final(e.Status) {
		return fmt.Errorf("ledger: %q is not an end status", e.Status)
	}
	now := millis(time.Now())
	var res any
	if len(e.Result) > 0 {
		res = string(e.Result)
	}
	return l.exec(ctx, func(tx *sql.Tx) error {
		var logs any // NULL keeps the logs recorded
		if e.Logs != nil {
			logs = logsJSON(e.Logs)
		}
		r, err := tx.ExecContext(ctx, `UPDATE jobs SET status = ?, queue_position = NULL, result = ?, error = ?, fetch_failed = ?,
			updated_at = ?, completed_at = ?, lease_owner = '', lease_until = 0, logs = coalesce(?, logs)
			WHERE request_id = ? AND (status NOT IN `+settledSQL+` OR (status = 'failed' AND fetch_failed = 1 AND ? = 'completed'))`,
			e.Status, res, e.Error, e.FetchFailed, now, now, logs, requestID, e.Status)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO job_events (request_id, at, status, detail) VALUES (?, ?, ?, ?)`,
			requestID, now, e.Status, e.Error)
		return err
	})
}

// SaveFiles records where a job's output files were saved (URL → path),
// added to those already recorded.
func (l *Ledger) SaveFiles(ctx context.Context, requestID string, saved map[string]string) error {
	return l.exec(ctx, func(tx *sql.Tx) error {
		var raw string
		if err := tx.QueryRowContext(ctx, `SELECT saved FROM jobs WHERE request_id = ?`, requestID).Scan(&raw); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		all := map[string]string{}
		_ = json.Unmarshal([]byte(raw), &all)
		for u, p := range saved {
			all[u] = p
		}
		b, _ := json.Marshal(all)
		_, err := tx.ExecContext(ctx, `UPDATE jobs SET saved = ? WHERE request_id = ?`, string(b), requestID)
		return err
	})
}

// Lease makes owner the one process that follows the job on fal until
// the lease runs out (now + ttl), unless another owner holds a lease that
// has not run out. Renew by calling it again. It reports whether owner
// holds the lease; a job that has ended cannot be leased.
func (l *Ledger) Lease(ctx context.Context, requestID, owner string, ttl time.Duration) (bool, error) {
	now := time.Now()
	return l.setLease(ctx, requestID, owner, ttl, "lease_owner IN ('', ?) OR lease_until < ?", owner, millis(now))
}

// setLease gives the lease of an unsettled job to owner where the lease's
// condition (SQL, with its arguments) holds, and reports whether it did.
func (l *Ledger) setLease(ctx context.Context, requestID, owner string, ttl time.Duration, cond string, args ...any) (bool, error) {
	var got bool
	err := l.exec(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET lease_owner = ?, lease_until = ?
			WHERE request_id = ? AND status NOT IN `+settledSQL+` AND (`+cond+`)`,
			append([]any{owner, millis(time.Now().Add(ttl)), requestID}, args...)...)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		got = n == 1
		return nil
	})
	return got, err
}

// LeaseHolder returns who holds a job's lease, and until when ("" if no
// one does).
func (l *Ledger) LeaseHolder(ctx context.Context, requestID string) (string, time.Time, error) {
	var owner string
	var until int64
	err := l.db.QueryRowContext(ctx, `SELECT lease_owner, lease_until FROM jobs WHERE request_id = ?`, requestID).Scan(&owner, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, ErrNotFound
	}
	return owner, time.UnixMilli(until), err
}

// TakeLease takes the lease on a job from a holder known to be gone (its
// process has died), before the lease runs out.
func (l *Ledger) TakeLease(ctx context.Context, requestID, from, owner string, ttl time.Duration) (bool, error) {
	return l.setLease(ctx, requestID, owner, ttl, "lease_owner = ?", from)
}

// Release gives up owner's lease on a job.
func (l *Ledger) Release(ctx context.Context, requestID, owner string) error {
	return l.exec(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE jobs SET lease_owner = '', lease_until = 0 WHERE request_id = ? AND lease_owner = ?`,
			requestID, owner)
		return err
	})
}

const jobColumns = `request_id, endpoint_id, tool, status, queue_position, input, status_url, response_url, cancel_url,
	error, result, dry_run, submitted_at, updated_at, completed_at, logs, local_id, fetch_failed, saved, lease_owner, lease_until,
	estimated_cost_usd, cost_basis, input_hash`

func scanJob(row interface{ Scan(...any) error }) (Job, error) {
	var (
		j                  Job
		pos                sql.NullInt64
		input, logs, saved string
		result             sql.NullString
		submitted, updated int64
		completed          sql.NullInt64
		leaseUntil         int64
		cost               sql.NullFloat64
	)
	err := row.Scan(&j.RequestID, &j.EndpointID, &j.Tool, &j.Status, &pos, &input, &j.StatusURL, &j.ResponseURL, &j.CancelURL,
		&j.Error, &result, &j.DryRun, &submitted, &updated, &completed, &logs, &j.LocalID, &j.FetchFailed, &saved, &j.LeaseOwner, &leaseUntil,
		&cost, &j.CostBasis, &j.InputHash)
	if err != nil {
		return j, err
	}
	if pos.Valid {
		p := int(pos.Int64)
		j.QueuePosition = &p
	}
	j.Input = json.RawMessage(input)
	if result.Valid {
		j.Result = json.RawMessage(result.String)
	}
	_ = json.Unmarshal([]byte(logs), &j.Logs)
	_ = json.Unmarshal([]byte(saved), &j.Saved)
	j.SubmittedAt, j.UpdatedAt, j.CompletedAt = time.UnixMilli(submitted), time.UnixMilli(updated), fromMillis(completed)
	j.LeaseUntil = time.UnixMilli(leaseUntil)
	if cost.Valid {
		c := cost.Float64
		j.EstimatedCostUSD = &c
	}
	return j, nil
}

// Get returns one job, or ErrNotFound.
func (l *Ledger) Get(ctx context.Context, requestID string) (Job, error) {
	j, err := scanJob(l.db.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE request_id = ?`, requestID))
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, ErrNotFound
	}
	return j, err
}

// Filter selects jobs for List. Zero fields select everything.
type Filter struct {
	Status     string // one status, or "" for all
	EndpointID string
	Limit      int  // default 50
	Unfinished bool // only jobs that can still change on fal (not ended, not unknown)
	// Unleased, with Unfinished, leaves out jobs another process follows
	// (their lease has not run out).
	Unleased bool
}

// List returns the jobs matching f, newest first.
func (l *Ledger) List(ctx context.Context, f Filter) ([]Job, error) {
	var where []string
	var args []any
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	if f.EndpointID != "" {
		where, args = append(where, "endpoint_id = ?"), append(args, f.EndpointID)
	}
	if f.Unfinished {
		where = append(where, "status NOT IN "+settledSQL)
	}
	if f.Unleased {
		where, args = append(where, "(lease_owner = '' OR lease_until < ?)"), append(args, millis(time.Now()))
	}
	q := `SELECT ` + jobColumns + ` FROM jobs`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	q += " ORDER BY submitted_at DESC, rowid DESC LIMIT ?"
	rows, err := l.db.QueryContext(ctx, q, append(args, f.Limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// Events returns a job's status history, oldest first.
func (l *Ledger) Events(ctx context.Context, requestID string) ([]Event, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT at, status, queue_position, detail FROM job_events WHERE request_id = ? ORDER BY id`, requestID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at int64
		var pos sql.NullInt64
		if err := rows.Scan(&at, &e.Status, &pos, &e.Detail); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at)
		if pos.Valid {
			p := int(pos.Int64)
			e.QueuePosition = &p
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Upload is a local file uploaded to fal's CDN.
type Upload struct {
	Path        string // where it was read from (for the record; never matched)
	Size        int64
	ModTime     int64  // unix nanoseconds (for the record; never matched)
	SHA256      string // of the bytes uploaded, as they were read
	Target      string // where it went: fal or a dry run's emulator, and the account
	URL         string
	ContentType string
	UploadedAt  time.Time
}

// RememberUpload records an upload so that the same bytes are not
// uploaded again to the same target, by this process or the next.
func (l *Ledger) RememberUpload(ctx context.Context, u Upload) error {
	if u.SHA256 == "" || u.Target == "" {
		return errors.New("ledger: an upload is remembered by its SHA-256 and target")
	}
	if u.UploadedAt.IsZero() {
		u.UploadedAt = time.Now()
	}
	return l.exec(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO uploads (path, size, mod_time, sha256, target, url, content_type, uploaded_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, u.Path, u.Size, u.ModTime, u.SHA256, u.Target, u.URL, u.ContentType, millis(u.UploadedAt))
		return err
	})
}

// FindUpload returns the newest upload since the given time of the same
// bytes (sha256) with the same content type to the same target.
func (l *Ledger) FindUpload(ctx context.Context, sha, contentType, target string, since time.Time) (Upload, bool, error) {
	if sha == "" || target == "" {
		return Upload{}, false, nil
	}
	var u Upload
	var at int64
	err := l.db.QueryRowContext(ctx, `SELECT path, size, mod_time, sha256, target, url, content_type, uploaded_at FROM uploads
		WHERE sha256 = ? AND target = ? AND content_type = ? AND uploaded_at >= ?
		ORDER BY uploaded_at DESC LIMIT 1`, sha, target, contentType, millis(since)).
		Scan(&u.Path, &u.Size, &u.ModTime, &u.SHA256, &u.Target, &u.URL, &u.ContentType, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return Upload{}, false, nil
	}
	if err != nil {
		return Upload{}, false, err
	}
	u.UploadedAt = time.UnixMilli(at)
	return u, true, nil
}
