package falqueue_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
)

// step is what a test sees of one update.
type step struct {
	State    falqueue.State
	Position int // -1 when absent
	NewLogs  []string
}

func stepOf(u falqueue.Update) step {
	s := step{State: u.Status.State, Position: -1}
	if u.Status.QueuePosition != nil {
		s.Position = *u.Status.QueuePosition
	}
	for _, l := range u.NewLogs {
		s.NewLogs = append(s.NewLogs, l.Message)
	}
	return s
}

// driveJob submits a manual job and follows it with Wait, advancing the
// job one step each time the client has reported the previous change —
// so every state is seen, whatever the transport, without sleeping.
func driveJob(t *testing.T, e *env, sc faltest.Script) ([]step, *falqueue.Status) {
	t.Helper()
	sc.Manual = true
	e.srv.SetScript("fal-ai/ltx-video-13b-distilled/multiconditioning", sc)
	ctx := ctxT(t)
	h, err := e.client.Submit(ctx, "fal-ai/ltx-video-13b-distilled/multiconditioning", nil, falqueue.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	updates := make(chan falqueue.Update)
	type result struct {
		st  *falqueue.Status
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := e.client.Wait(ctx, h, func(u falqueue.Update) { updates <- u })
		close(updates)
		done <- result{st, err}
	}()
	var steps []step
	for u := range updates {
		steps = append(steps, stepOf(u))
		if !u.Status.Done() {
			e.srv.Step(h.RequestID)
		}
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	return steps, r.st
}

// TestStreamAndPollAgree: the same scripted job followed over the SSE
// stream, by polling, and over a stream that breaks part-way gives the
// same states in the same order and the same de-duplicated logs.
func TestStreamAndPollAgree(t *testing.T) {
	script := faltest.Script{Ahead: 3, Logs: []string{"load", "frame 1", "frame 2", "frame 2", "encode"}, Output: map[string]int{}}
	want := []step{
		{falqueue.StateInQueue, 3, nil},
		{falqueue.StateInQueue, 2, nil},
		{falqueue.StateInQueue, 1, nil},
		{falqueue.StateInQueue, 0, nil},
		{falqueue.StateInProgress, -1, nil},
		{falqueue.StateInProgress, -1, []string{"load"}},
		{falqueue.StateInProgress, -1, []string{"frame 1"}},
		{falqueue.StateInProgress, -1, []string{"frame 2"}},
		{falqueue.StateInProgress, -1, []string{"frame 2"}},
		{falqueue.StateInProgress, -1, []string{"encode"}},
		{falqueue.StateCompleted, -1, nil},
	}
	modes := []struct {
		name  string
		tweak func(*falqueue.Config)
		fault *faltest.Fault
		op    faltest.Op // the operation that must have carried the job to its end
	}{
		{"stream", func(*falqueue.Config) {}, nil, faltest.OpStream},
		{"poll", func(c *falqueue.Config) { c.DisableStream = true }, nil, faltest.OpStatus},
		{"stream refused", func(*falqueue.Config) {}, &faltest.Fault{Op: faltest.OpStream, Status: 503}, faltest.OpStatus},
		{"stream breaks", func(*falqueue.Config) {}, &faltest.Fault{Op: faltest.OpStream, DropAfter: true}, faltest.OpStatus},
	}
	for _, window := range []int{1, 2, 10} {
		for _, m := range modes {
			t.Run(fmt.Sprintf("%s/window=%d", m.name, window), func(t *testing.T) {
				e := newEnv(t, faltest.Options{LogWindow: window}, m.tweak)
				if m.fault != nil {
					e.srv.Inject(*m.fault)
				}
				steps, final := driveJob(t, e, script)
				if !reflect.DeepEqual(steps, want) {
					t.Errorf("updates:\n got %v\nwant %v", steps, want)
				}
				var msgs []string
				for _, l := range final.Logs {
					msgs = append(msgs, l.Message)
				}
				if !reflect.DeepEqual(msgs, script.Logs) || !final.Done() || final.Failed() {
					t.Errorf("final = %+v, logs %q", final, msgs)
				}
				if len(e.requests(m.op)) == 0 {
					t.Errorf("no %s requests: the mode was not exercised", m.op)
				}
			})
		}
	}
}

// TestWaitReturnsAtOnceOnCancel: with the next poll, stream event and retry
// an hour away, cancelling ctx must still end Wait immediately.
func TestWaitReturnsAtOnceOnCancel(t *testing.T) {
	modes := []struct {
		name  string
		tweak func(*falqueue.Config)
		fault *faltest.Fault
	}{
		{"stream", func(*falqueue.Config) {}, nil},
		{"poll", func(c *falqueue.Config) { c.DisableStream = true }, nil},
		{"retry backoff", func(c *falqueue.Config) {
			c.DisableStream = true
			c.BackoffBase, c.BackoffMax = time.Hour, time.Hour
		}, &faltest.Fault{Op: faltest.OpStatus, Status: 503, Times: 100}},
		{"slow answer", func(c *falqueue.Config) { c.DisableStream = true }, &faltest.Fault{Op: faltest.OpStatus, Delay: time.Hour, Times: 100}},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			e := newEnv(t, faltest.Options{KeepAlive: time.Hour}, func(c *falqueue.Config) {
				c.PollInterval = time.Hour
				m.tweak(c)
			})
			e.srv.SetScript("fal-ai/x", faltest.Script{Manual: true})
			h, err := e.client.Submit(ctxT(t), "fal-ai/x", nil, falqueue.SubmitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if m.fault != nil {
				e.srv.Inject(*m.fault)
			}
			ctx, cancel := context.WithCancel(context.Background())
			first := make(chan struct{}, 1)
			done := make(chan error, 1)
			go func() {
				_, err := e.client.Wait(ctx, h, func(falqueue.Update) {
					select {
					case first <- struct{}{}:
					default:
					}
				})
				done <- err
			}()
			if m.fault == nil {
				<-first // Wait is now parked on the stream or the hour-long poll pause
			} else {
				waitForRequest(t, e, faltest.OpStatus)
			}
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("Wait = %v, want context.Canceled", err)
				}
			case <-time.After(20 * time.Second): // a hang guard, not a timing assertion
				t.Fatal("Wait did not return after cancel")
			}
		})
	}
}

// waitForRequest blocks until the emulator has logged a request of op.
func waitForRequest(t *testing.T, e *env, op faltest.Op) {
	t.Helper()
	seen := make(chan struct{})
	stop := e.srv.OnRequest(func(r faltest.Request) {
		if r.Op == op {
			select {
			case <-seen:
			default:
				close(seen)
			}
		}
	})
	defer stop()
	if len(e.requests(op)) > 0 {
		return
	}
	<-seen
}

// TestSilentStreamFallsBackToPolling: a stream that never answers is cut by
// the idle timeout and the job is followed by polling to its end.
func TestSilentStreamFallsBackToPolling(t *testing.T) {
	e := newEnv(t, faltest.Options{}, func(c *falqueue.Config) { c.StreamIdleTimeout = 50 * time.Millisecond })
	e.srv.SetScript("fal-ai/x", faltest.Script{Logs: []string{"a", "b"}})
	e.srv.Inject(faltest.Fault{Op: faltest.OpStream, Delay: time.Hour})
	ctx := ctxT(t)
	h, err := e.client.Submit(ctx, "fal-ai/x", nil, falqueue.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.client.Wait(ctx, h, nil)
	if err != nil || !st.Done() || len(st.Logs) != 2 {
		t.Fatalf("Wait = %+v, %v", st, err)
	}
	if len(e.requests(faltest.OpStatus)) == 0 {
		t.Error("Wait did not poll after the silent stream")
	}
	if !strings.Contains(e.logs.String(), "status stream silent") {
		t.Errorf("the fallback was not logged:\n%s", e.logs.String())
	}
}
