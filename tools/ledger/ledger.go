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
)

// Final reports whether a status is an end: completed, failed or cancelled.
func Final(status string) bool {
	return status == StatusCompleted || status == StatusFailed || status == StatusCancelled
}

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
	Error         string          // fal's detail, verbatim
	Result        json.RawMessage // the model output, once captured
	DryRun        bool
	SubmittedAt   time.Time
	UpdatedAt     time.Time
	CompletedAt   time.Time // zero until the job ends
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
	db   *sql.DB
	path string
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
}

// Open opens (creating if need be) the ledger in dir and brings its schema
// up to date. Errors say what is wrong with the file or directory; the
// file is never removed or rewritten.
func Open(ctx context.Context, dir string) (*Ledger, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ledger: cannot create the state directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
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
	l := &Ledger{db: db, path: path}
	if err := l.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("ledger: %s cannot be used (it was left as it is): %w", path, err)
	}
	return l, nil
}

// Path is the ledger's file.
func (l *Ledger) Path() string { return l.path }

// Close closes the database.
func (l *Ledger) Close() error { return l.db.Close() }

func (l *Ledger) migrate(ctx context.Context) error {
	var version int
	if err := l.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if version > len(migrations) {
		return fmt.Errorf("its schema version %d is newer than this server knows (%d): upgrade fal-video-mcp", version, len(migrations))
	}
	if version == len(migrations) {
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

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms sql.NullInt64) time.Time {
	if !ms.Valid {
		return time.Time{}
	}
	return time.UnixMilli(ms.Int64)
}

// Insert records a newly submitted job and its first event. Recording the
// same request id again leaves the first record as it was.
func (l *Ledger) Insert(ctx context.Context, j Job) error {
	now := time.Now()
	if j.SubmittedAt.IsZero() {
		j.SubmittedAt = now
	}
	if j.Status == "" {
		j.Status = StatusQueued
	}
	input := ElideDataURIs(j.Input)
	return l.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO jobs (request_id, endpoint_id, tool, status, queue_position, input,
			status_url, response_url, cancel_url, dry_run, submitted_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (request_id) DO NOTHING`,
			j.RequestID, j.EndpointID, j.Tool, j.Status, nullInt(j.QueuePosition), string(input),
			j.StatusURL, j.ResponseURL, j.CancelURL, j.DryRun, millis(j.SubmittedAt), millis(now))
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
	if Final(status) {
		return fmt.Errorf("ledger: use Finish to end job %s", requestID)
	}
	now := millis(time.Now())
	return l.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET status = ?, queue_position = ?, updated_at = ?
			WHERE request_id = ? AND status NOT IN ('completed', 'failed', 'cancelled')
			AND (status IS NOT ? OR queue_position IS NOT ?)`,
			status, nullInt(position), now, requestID, status, nullInt(position))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 && detail == "" {
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO job_events (request_id, at, status, queue_position, detail)
			SELECT request_id, ?, ?, ?, ? FROM jobs WHERE request_id = ? AND status NOT IN ('completed', 'failed', 'cancelled')`,
			now, status, nullInt(position), detail, requestID)
		return err
	})
}

// Finish ends a job: completed with its result, or failed or cancelled
// with fal's error. The first end recorded wins.
func (l *Ledger) Finish(ctx context.Context, requestID, status string, result json.RawMessage, errText string) error {
	if !Final(status) {
		return fmt.Errorf("ledger: %q is not an end status", status)
	}
	now := millis(time.Now())
	var res any
	if len(result) > 0 {
		res = string(result)
	}
	return l.tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE jobs SET status = ?, queue_position = NULL, result = ?, error = ?, updated_at = ?, completed_at = ?
			WHERE request_id = ? AND status NOT IN ('completed', 'failed', 'cancelled')`,
			status, res, errText, now, now, requestID)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO job_events (request_id, at, status, detail) VALUES (?, ?, ?, ?)`,
			requestID, now, status, errText)
		return err
	})
}

const jobColumns = `request_id, endpoint_id, tool, status, queue_position, input, status_url, response_url, cancel_url,
	error, result, dry_run, submitted_at, updated_at, completed_at`

func scanJob(row interface{ Scan(...any) error }) (Job, error) {
	var (
		j                  Job
		pos                sql.NullInt64
		input              string
		result             sql.NullString
		submitted, updated int64
		completed          sql.NullInt64
	)
	err := row.Scan(&j.RequestID, &j.EndpointID, &j.Tool, &j.Status, &pos, &input, &j.StatusURL, &j.ResponseURL, &j.CancelURL,
		&j.Error, &result, &j.DryRun, &submitted, &updated, &completed)
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
	j.SubmittedAt, j.UpdatedAt, j.CompletedAt = time.UnixMilli(submitted), time.UnixMilli(updated), fromMillis(completed)
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
	Unfinished bool // only jobs that have not ended
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
		where = append(where, "status NOT IN ('completed', 'failed', 'cancelled')")
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
	Path        string
	Size        int64
	ModTime     int64 // unix nanoseconds
	SHA256      string
	URL         string
	ContentType string
	UploadedAt  time.Time
}

// RememberUpload records an upload so that the same file is not uploaded
// again, by this process or the next.
func (l *Ledger) RememberUpload(ctx context.Context, u Upload) error {
	if u.UploadedAt.IsZero() {
		u.UploadedAt = time.Now()
	}
	return l.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO uploads (path, size, mod_time, sha256, url, content_type, uploaded_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, u.Path, u.Size, u.ModTime, u.SHA256, u.URL, u.ContentType, millis(u.UploadedAt))
		return err
	})
}

// FindUpload returns the newest upload since the given time of the same
// file (path, size and modification time) or of the same bytes (sha256).
func (l *Ledger) FindUpload(ctx context.Context, path string, size, modTime int64, sha string, since time.Time) (Upload, bool, error) {
	var u Upload
	var at int64
	err := l.db.QueryRowContext(ctx, `SELECT path, size, mod_time, sha256, url, content_type, uploaded_at FROM uploads
		WHERE ((path = ? AND size = ? AND mod_time = ?) OR (sha256 = ? AND sha256 != '')) AND uploaded_at >= ?
		ORDER BY uploaded_at DESC LIMIT 1`, path, size, modTime, sha, millis(since)).
		Scan(&u.Path, &u.Size, &u.ModTime, &u.SHA256, &u.URL, &u.ContentType, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return Upload{}, false, nil
	}
	if err != nil {
		return Upload{}, false, err
	}
	u.UploadedAt = time.UnixMilli(at)
	return u, true, nil
}
