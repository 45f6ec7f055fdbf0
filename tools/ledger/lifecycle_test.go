package ledger_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/tools/ledger"
)

// TestWriteAhead: a prepared submit is an unknown job under its local id;
// fal's answer gives it its request id; a refused one leaves nothing; a
// lost one keeps its reason and its input.
func TestWriteAhead(t *testing.T) {
	ctx := context.Background()
	l := open(t, t.TempDir())
	in := json.RawMessage(`{"video_url":"https://x/v.mp4"}`)
	for _, id := range []string{"local-a", "local-b", "local-c"} {
		if err := l.Prepare(ctx, ledger.Job{LocalID: id, EndpointID: "fal-ai/e", Tool: "t", Input: in}); err != nil {
			t.Fatal(err)
		}
	}
	if j, err := l.Get(ctx, "local-a"); err != nil || j.Status != ledger.StatusUnknown || !bytes.Equal(j.Input, in) {
		t.Fatalf("prepared = %+v, %v", j, err)
	}
	if err := submitted(l, "local-a", ledger.Job{RequestID: "r-a", StatusURL: "https://q/s"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Discard(ctx, "local-b"); err != nil {
		t.Fatal(err)
	}
	if err := l.SubmitLost(ctx, "local-c", "connection reset"); err != nil {
		t.Fatal(err)
	}
	a, err := l.Get(ctx, "r-a")
	if err != nil || a.Status != ledger.StatusQueued || a.LocalID != "local-a" || a.StatusURL != "https://q/s" {
		t.Errorf("answered = %+v, %v", a, err)
	}
	if holder, _, _ := l.LeaseHolder(ctx, "r-a"); holder != "p0" {
		t.Errorf("the submitting process does not hold the lease: %q", holder)
	}
	if _, err := l.Get(ctx, "local-a"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("the local id is still a job: %v", err)
	}
	if _, err := l.Get(ctx, "local-b"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("a refused submit is still a job: %v", err)
	}
	c, err := l.Get(ctx, "local-c")
	if err != nil || c.Status != ledger.StatusUnknown || c.Error != "connection reset" {
		t.Errorf("lost = %+v, %v", c, err)
	}
	// Unknown jobs are never followed: not unfinished, not leasable.
	un, _ := l.List(ctx, ledger.Filter{Unfinished: true})
	if len(un) != 1 || un[0].RequestID != "r-a" {
		t.Errorf("unfinished = %+v", un)
	}
	if got, _ := l.Lease(ctx, "local-c", "p1", time.Minute); got {
		t.Error("an unknown job was leased")
	}
	if err := submitted(l, "local-c", ledger.Job{RequestID: "r-a"}); err == nil {
		t.Error("two submits took one request id")
	}
}

// TestSuccessReplacesFetchFailure: a failure recorded only because the
// result could not be fetched is replaced by the result; a failure fal
// reported is not; nothing replaces a success.
func TestSuccessReplacesFetchFailure(t *testing.T) {
	ctx := context.Background()
	l := open(t, t.TempDir())
	for _, id := range []string{"fetch", "fal"} {
		if err := l.Insert(ctx, ledger.Job{RequestID: id, EndpointID: "e", Tool: "t", Input: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	_ = l.Finish(ctx, "fetch", ledger.End{Status: ledger.StatusFailed, Error: "could not be fetched", FetchFailed: true})
	_ = l.Finish(ctx, "fal", ledger.End{Status: ledger.StatusFailed, Error: "CUDA out of memory"})
	for _, id := range []string{"fetch", "fal"} {
		_ = l.Finish(ctx, id, ledger.End{Status: ledger.StatusCompleted, Result: json.RawMessage(`{"v":1}`), Logs: []string{"x"}})
	}
	_ = l.Finish(ctx, "fetch", ledger.End{Status: ledger.StatusFailed, Error: "late", FetchFailed: true})
	f, _ := l.Get(ctx, "fetch")
	if f.Status != ledger.StatusCompleted || string(f.Result) != `{"v":1}` || f.FetchFailed || !slices.Equal(f.Logs, []string{"x"}) {
		t.Errorf("fetch failure then result = %+v", f)
	}
	g, _ := l.Get(ctx, "fal")
	if g.Status != ledger.StatusFailed || g.Error != "CUDA out of memory" {
		t.Errorf("fal's failure then a result = %+v", g)
	}
}

// TestLeases: one owner at a time; an expired lease can be taken; a
// taken-over holder cannot renew; an ended job has no lease.
func TestLeases(t *testing.T) {
	ctx := context.Background()
	l := open(t, t.TempDir())
	_ = l.Insert(ctx, ledger.Job{RequestID: "r", EndpointID: "e", Tool: "t", Input: json.RawMessage(`{}`)})
	steps := []struct {
		owner string
		ttl   time.Duration
		want  bool
	}{
		{"p1", time.Minute, true},
		{"p2", time.Minute, false},
		{"p1", time.Minute, true}, // renewal
		{"p1", -time.Second, true},
		{"p2", time.Minute, true}, // p1's lease ran out
		{"p1", time.Minute, false},
	}
	for i, s := range steps {
		if got, err := l.Lease(ctx, "r", s.owner, s.ttl); err != nil || got != s.want {
			t.Errorf("step %d: Lease(%s) = %v, %v; want %v", i, s.owner, got, err, s.want)
		}
	}
	if js, _ := l.List(ctx, ledger.Filter{Unfinished: true, Unleased: true}); len(js) != 0 {
		t.Errorf("a leased job is adoptable: %+v", js)
	}
	if holder, _, _ := l.LeaseHolder(ctx, "r"); holder != "p2" {
		t.Errorf("holder = %q", holder)
	}
	if got, _ := l.TakeLease(ctx, "r", "p2", "p3", time.Minute); !got {
		t.Error("could not take over the lease of a dead holder")
	}
	if err := l.Release(ctx, "r", "p3"); err != nil {
		t.Fatal(err)
	}
	if js, _ := l.List(ctx, ledger.Filter{Unfinished: true, Unleased: true}); len(js) != 1 {
		t.Errorf("a released job is not adoptable: %+v", js)
	}
	_ = l.Finish(ctx, "r", ledger.End{Status: ledger.StatusCompleted})
	if got, _ := l.Lease(ctx, "r", "p1", time.Minute); got {
		t.Error("an ended job was leased")
	}
}

// TestProgressCoalesced: several jobs' progress in one call; logs are kept
// (the newest MaxLogs), events only for changes.
func TestProgressCoalesced(t *testing.T) {
	ctx := context.Background()
	l := open(t, t.TempDir())
	for _, id := range []string{"a", "b"} {
		_ = l.Insert(ctx, ledger.Job{RequestID: id, EndpointID: "e", Tool: "t", Input: json.RawMessage(`{}`)})
	}
	many := make([]string, ledger.MaxLogs+5)
	for i := range many {
		many[i] = string(rune('a' + i%26))
	}
	err := l.SaveProgress(ctx, []ledger.Progress{{RequestID: "a", Status: ledger.StatusRunning, Logs: []string{"one", "two"}, StatusChanged: true},
		{RequestID: "b", Status: ledger.StatusRunning, Logs: many, StatusChanged: true}})
	if err != nil {
		t.Fatal(err)
	}
	_ = l.SaveProgress(ctx, []ledger.Progress{{RequestID: "a", Status: ledger.StatusRunning, Logs: []string{"one", "two", "three"}}})
	a, _ := l.Get(ctx, "a")
	b, _ := l.Get(ctx, "b")
	if a.Status != ledger.StatusRunning || !slices.Equal(a.Logs, []string{"one", "two", "three"}) || len(b.Logs) != ledger.MaxLogs {
		t.Errorf("a = %+v, b has %d lines", a, len(b.Logs))
	}
	ev, _ := l.Events(ctx, "a")
	if len(ev) != 2 { // queued, running
		t.Errorf("events of a = %+v", ev)
	}
}

// TestForeignDatabaseIsNeverWritten: a SQLite file at the ledger's path
// that is another program's database is refused, its bytes unchanged; a
// ledger made before application_id existed is still opened.
func TestForeignDatabaseIsNeverWritten(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ledger.FileName)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, _ := os.ReadFile(path)
	if _, err := ledger.Open(context.Background(), dir); !errors.Is(err, ledger.ErrNotOurs) {
		t.Errorf("Open of another program's database = %v, want ErrNotOurs", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("another program's database was written to")
	}

	// A ledger of the first schema (no application_id) is ours.
	old := t.TempDir()
	db, _ = sql.Open("sqlite", filepath.Join(old, ledger.FileName))
	if _, err := db.Exec(`CREATE TABLE jobs (request_id TEXT PRIMARY KEY); PRAGMA user_version = 2`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	l, err := ledger.Open(context.Background(), old)
	if err == nil {
		l.Close()
	}
	if errors.Is(err, ledger.ErrNotOurs) {
		t.Errorf("an older ledger was taken for a foreign file: %v", err)
	}
}

func submitted(l *ledger.Ledger, localID string, j ledger.Job) error {
	return l.Submitted(context.Background(), localID, j, "p0", time.Minute)
}
