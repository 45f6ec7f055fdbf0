package ledger_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/tools/ledger"
)

// TestPrepareDedupeAtomic: identical write-aheads from several ledger
// handles on one file (as several processes) at once: exactly one is
// written, every other is answered with it; a failed or cancelled job, a
// job older than the window, another tool or another hash never counts.
func TestPrepareDedupeAtomic(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	handles := []*ledger.Ledger{open(t, dir), open(t, dir), open(t, dir)}
	const calls = 12
	errs := make([]error, calls)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = handles[i%len(handles)].Prepare(ctx, ledger.Job{LocalID: fmt.Sprintf("local-%d", i), EndpointID: "e", Tool: "t",
				Input: json.RawMessage(`{}`), InputHash: "h", DedupeSince: time.Now().Add(-time.Minute)})
		}()
	}
	close(start)
	wg.Wait()
	written := ""
	for i, err := range errs {
		if err == nil {
			if written != "" {
				t.Errorf("both local-%d and %s were written", i, written)
			}
			written = fmt.Sprintf("local-%d", i)
		}
	}
	if written == "" {
		t.Fatalf("no write-ahead was written: %v", errs)
	}
	for i, err := range errs {
		var dup *ledger.DuplicateError
		if err != nil && (!errors.As(err, &dup) || dup.Job.LocalID != written || dup.Job.InputHash != "h") {
			t.Errorf("local-%d: %v, want a duplicate of %s", i, err, written)
		}
	}

	l := handles[0]
	for _, st := range []string{ledger.StatusFailed, ledger.StatusCancelled} {
		if err := l.Insert(ctx, ledger.Job{RequestID: "ended-" + st, EndpointID: "e", Tool: "t", Status: st, Input: json.RawMessage(`{}`),
			InputHash: "ended"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		job  ledger.Job
		dup  bool
	}{
		{"the same input", ledger.Job{Tool: "t", InputHash: "h", DedupeSince: time.Now().Add(-time.Minute)}, true},
		{"no window: force_new", ledger.Job{Tool: "t", InputHash: "h"}, false},
		{"another tool", ledger.Job{Tool: "u", InputHash: "h", DedupeSince: time.Now().Add(-time.Minute)}, false},
		{"another input", ledger.Job{Tool: "t", InputHash: "g", DedupeSince: time.Now().Add(-time.Minute)}, false},
		{"only failed or cancelled jobs", ledger.Job{Tool: "t", InputHash: "ended", DedupeSince: time.Now().Add(-time.Minute)}, false},
		{"older than the window", ledger.Job{Tool: "t", InputHash: "h", DedupeSince: time.Now().Add(time.Minute)}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			j := c.job
			j.LocalID, j.EndpointID, j.Input = "local-"+c.name, "e", json.RawMessage(`{}`)
			err := l.Prepare(ctx, j)
			var dup *ledger.DuplicateError
			if got := errors.As(err, &dup); got != c.dup || (!c.dup && err != nil) {
				t.Errorf("Prepare: %v, want duplicate %v", err, c.dup)
			}
		})
	}
}

// TestUploadsByContent: an upload is found by its bytes, content type and
// target only — the same path, size and modification time with other
// bytes, or the same bytes sent to another target, find nothing.
func TestUploadsByContent(t *testing.T) {
	ctx := context.Background()
	l := open(t, t.TempDir())
	now := time.Now()
	up := ledger.Upload{Path: "/f/clip.mp4", Size: 10, ModTime: 7, SHA256: "aaa", Target: "fal one", URL: "https://cdn/a", ContentType: "video/mp4", UploadedAt: now}
	if err := l.RememberUpload(ctx, up); err != nil {
		t.Fatal(err)
	}
	if err := l.RememberUpload(ctx, ledger.Upload{Path: "/f/x.mp4", URL: "https://cdn/x", ContentType: "video/mp4"}); err == nil {
		t.Error("an upload without its SHA-256 and target was remembered")
	}
	for _, c := range []struct {
		name            string
		sha, ct, target string
		since           time.Time
		want            bool
	}{
		{"same bytes, type and target", "aaa", "video/mp4", "fal one", now.Add(-time.Hour), true},
		{"other bytes (same path, size, mtime)", "bbb", "video/mp4", "fal one", now.Add(-time.Hour), false},
		{"another target", "aaa", "video/mp4", "dry-run", now.Add(-time.Hour), false},
		{"another content type", "aaa", "video/quicktime", "fal one", now.Add(-time.Hour), false},
		{"too old", "aaa", "video/mp4", "fal one", now.Add(time.Hour), false},
		{"no hash", "", "video/mp4", "fal one", now.Add(-time.Hour), false},
	} {
		got, ok, err := l.FindUpload(ctx, c.sha, c.ct, c.target, c.since)
		if err != nil || ok != c.want || ok && got.URL != up.URL {
			t.Errorf("%s: FindUpload = %+v %v %v, want found %v", c.name, got, ok, err, c.want)
		}
	}
}
