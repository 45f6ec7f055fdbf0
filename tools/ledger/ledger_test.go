package ledger_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/tools/ledger"
)

func open(t *testing.T, dir string) *ledger.Ledger {
	t.Helper()
	l, err := ledger.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func pos(n int) *int { return &n }

func TestJobLifecycle(t *testing.T) {
	ctx := context.Background()
	l := open(t, t.TempDir())
	in := ledger.Job{RequestID: "r1", EndpointID: "fal-ai/pixverse/extend/fast", Tool: "pixverse_extend_video_fast",
		QueuePosition: pos(2), Input: json.RawMessage(`{"video_url":"https://x/v.mp4","seed":17454220438242315174}`),
		StatusURL: "https://q/s", ResponseURL: "https://q/r", CancelURL: "https://q/c"}
	if err := l.Insert(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := l.Insert(ctx, ledger.Job{RequestID: "r1", EndpointID: "other", Tool: "x", Input: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		status string
		pos    *int
		detail string
	}{
		{ledger.StatusQueued, pos(2), ""}, // no change: no event
		{ledger.StatusQueued, pos(1), ""},
		{ledger.StatusRunning, nil, ""},
		{ledger.StatusRunning, nil, "frame 1"},
	}
	for _, s := range steps {
		if err := l.Update(ctx, "r1", s.status, s.pos, s.detail); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Finish(ctx, "r1", ledger.End{Status: ledger.StatusCompleted, Result: json.RawMessage(`{"video":{"url":"https://cdn/v.mp4"}}`), Error: ""}); err != nil {
		t.Fatal(err)
	}
	// A late update or a second end cannot undo the captured result.
	if err := l.Update(ctx, "r1", ledger.StatusRunning, nil, "late"); err != nil {
		t.Fatal(err)
	}
	if err := l.Finish(ctx, "r1", ledger.End{Status: ledger.StatusFailed, Error: "late failure"}); err != nil {
		t.Fatal(err)
	}
	j, err := l.Get(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != ledger.StatusCompleted || j.EndpointID != in.EndpointID || string(j.Input) != string(in.Input) ||
		string(j.Result) != `{"video":{"url":"https://cdn/v.mp4"}}` || j.QueuePosition != nil || j.CompletedAt.IsZero() ||
		j.StatusURL != "https://q/s" || j.Error != "" {
		t.Errorf("job = %+v", j)
	}
	evs, err := l.Events(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		s := e.Status
		if e.QueuePosition != nil {
			s += fmt.Sprint("@", *e.QueuePosition)
		}
		if e.Detail != "" {
			s += ":" + e.Detail
		}
		got = append(got, s)
	}
	if want := "queued@2 queued@1 running running:frame 1 completed"; strings.Join(got, " ") != want {
		t.Errorf("events = %q, want %q", strings.Join(got, " "), want)
	}
	if _, err := l.Get(ctx, "nope"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Get unknown = %v", err)
	}
}

func TestList(t *testing.T) {
	ctx := context.Background()
	l := open(t, t.TempDir())
	for i := range 6 {
		ep := []string{"fal-ai/a", "fal-ai/b"}[i%2]
		if err := l.Insert(ctx, ledger.Job{RequestID: fmt.Sprint("r", i), EndpointID: ep, Tool: "t", Input: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	l.Finish(ctx, "r0", ledger.End{Status: ledger.StatusFailed, Error: "boom"})
	l.Update(ctx, "r1", ledger.StatusRunning, nil, "")
	ids := func(js []ledger.Job) string {
		var s []string
		for _, j := range js {
			s = append(s, j.RequestID)
		}
		return strings.Join(s, ",")
	}
	tests := []struct {
		f    ledger.Filter
		want string
	}{
		{ledger.Filter{}, "r5,r4,r3,r2,r1,r0"},
		{ledger.Filter{Limit: 2}, "r5,r4"},
		{ledger.Filter{EndpointID: "fal-ai/a"}, "r4,r2,r0"},
		{ledger.Filter{Status: ledger.StatusFailed}, "r0"},
		{ledger.Filter{Status: ledger.StatusRunning}, "r1"},
		{ledger.Filter{Unfinished: true, EndpointID: "fal-ai/a"}, "r4,r2"},
	}
	for _, tt := range tests {
		js, err := l.List(ctx, tt.f)
		if err != nil || ids(js) != tt.want {
			t.Errorf("List(%+v) = %s, %v; want %s", tt.f, ids(js), err, tt.want)
		}
	}
}

func TestElideDataURIs(t *testing.T) {
	big := "data:video/mp4;base64," + strings.Repeat("A", 1000)
	in := json.RawMessage(`{"video_url":"` + big + `","images":[{"url":"data:image/png;base64,iVBOR"}],"seed":17454220438242315174,"prompt":"data is fine"}`)
	got := string(ledger.ElideDataURIs(in))
	want := `{"images":[{"url":"data:image/png;elided (27 bytes)"}],"prompt":"data is fine","seed":17454220438242315174,"video_url":"data:video/mp4;elided (1022 bytes)"}`
	if got != want {
		t.Errorf("ElideDataURIs =\n%s\nwant\n%s", got, want)
	}
}

// TestTwoLedgersOneFile: two handles on one directory (as two server
// processes would have) write concurrently; both see every job and no
// write fails with "database is locked".
func TestTwoLedgersOneFile(t *testing.T) {
	dir := t.TempDir()
	a, b := open(t, dir), open(t, dir)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for w, l := range []*ledger.Ledger{a, b} {
		for g := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 50 {
					id := fmt.Sprintf("w%d-g%d-%d", w, g, i)
					if err := l.Insert(ctx, ledger.Job{RequestID: id, EndpointID: "fal-ai/x", Tool: "t", Input: json.RawMessage(`{}`)}); err != nil {
						errs <- err
					}
					if err := l.Update(ctx, id, ledger.StatusRunning, nil, "log"); err != nil {
						errs <- err
					}
					if err := l.Finish(ctx, id, ledger.End{Status: ledger.StatusCompleted, Result: json.RawMessage(`{}`), Error: ""}); err != nil {
						errs <- err
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, l := range []*ledger.Ledger{a, b} {
		js, err := l.List(ctx, ledger.Filter{Limit: 1000, Status: ledger.StatusCompleted})
		if err != nil || len(js) != 200 {
			t.Errorf("List = %d jobs, %v; want 200", len(js), err)
		}
	}
}

// TestUnusableFileIsLeftAlone: a ledger file full of garbage is reported
// with its path and left exactly as it was.
func TestUnusableFileIsLeftAlone(t *testing.T) {
	dir := t.TempDir()
	garbage := []byte(strings.Repeat("this is not a database\n", 500))
	path := filepath.Join(dir, ledger.FileName)
	if err := os.WriteFile(path, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := ledger.Open(context.Background(), dir)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "left as it is") {
		t.Fatalf("Open = %v", err)
	}
	if got, _ := os.ReadFile(path); string(got) != string(garbage) {
		t.Error("the garbage file was changed")
	}
}

func TestStateDirNotADirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := ledger.Open(context.Background(), filepath.Join(file, "state")); err == nil || !strings.Contains(err.Error(), "cannot create the state directory") {
		t.Errorf("Open = %v", err)
	}
}

func TestDefaultDir(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"XDG_STATE_HOME": "/s", "HOME": "/h"}, "/s/fal-video-mcp"},
		{map[string]string{"XDG_STATE_HOME": "relative", "HOME": "/h"}, "/h/.local/state/fal-video-mcp"},
		{map[string]string{"HOME": "/h"}, "/h/.local/state/fal-video-mcp"},
	}
	for _, tt := range tests {
		got, err := ledger.DefaultDir(func(k string) string { return tt.env[k] })
		if err != nil || got != tt.want {
			t.Errorf("DefaultDir(%v) = %q, %v; want %q", tt.env, got, err, tt.want)
		}
	}
}
