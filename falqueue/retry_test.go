package falqueue_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
)

// TestSubmitRetryPolicy proves the submit rule: a submit is repeated only
// when the request provably created no job, and a lost answer is reported
// as an unknown outcome, never retried.
func TestSubmitRetryPolicy(t *testing.T) {
	tests := []struct {
		name      string
		fault     faltest.Fault
		submits   int  // requests the emulator should see
		jobs      int  // jobs it should hold
		unknown   bool // want *SubmitUnknownError
		status    int  // want *APIError with this status
		userTimed bool
	}{
		{name: "429 is retried", fault: faltest.Fault{Status: 429}, submits: 2, jobs: 1},
		{name: "ingress 502 is retried", fault: faltest.Fault{Status: 502, Nginx: true}, submits: 2, jobs: 1},
		{name: "ingress 503 is retried", fault: faltest.Fault{Status: 503}, submits: 2, jobs: 1},
		{name: "three 503s then success", fault: faltest.Fault{Status: 503, Times: 3}, submits: 4, jobs: 1},
		{name: "fal's own 502 is final", fault: faltest.Fault{Status: 502, WithRequestID: true}, submits: 1, status: 502},
		{name: "fal's own 503 is final", fault: faltest.Fault{Status: 503, WithRequestID: true}, submits: 1, status: 503},
		{name: "504 may have enqueued: final", fault: faltest.Fault{Status: 504}, submits: 1, status: 504},
		{name: "500 is final", fault: faltest.Fault{Status: 500}, submits: 1, status: 500},
		{name: "user start timeout is final", fault: faltest.Fault{UserTimeout: true}, submits: 1, status: 504, userTimed: true},
		{name: "dropped before enqueue: unknown", fault: faltest.Fault{DropBefore: true}, submits: 1, unknown: true},
		{name: "dropped after enqueue: unknown", fault: faltest.Fault{DropAfter: true}, submits: 1, jobs: 1, unknown: true},
		{name: "429 forever gives up", fault: faltest.Fault{Status: 429, Times: 10}, submits: 4, status: 429},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, faltest.Options{})
			f := tt.fault
			f.Op = faltest.OpSubmit
			e.srv.Inject(f)
			h, err := e.client.Submit(ctxT(t), "fal-ai/wan-vace-14b", map[string]int{"n": 1}, falqueue.SubmitOptions{})
			if got := len(e.requests(faltest.OpSubmit)); got != tt.submits {
				t.Errorf("emulator saw %d submits, want %d", got, tt.submits)
			}
			if got := len(e.srv.Jobs()); got != tt.jobs {
				t.Errorf("emulator holds %d jobs, want %d", got, tt.jobs)
			}
			var unknown *falqueue.SubmitUnknownError
			var apiErr *falqueue.APIError
			switch {
			case tt.unknown:
				if !errors.As(err, &unknown) || !errors.Is(err, falqueue.ErrSubmitUnknown) {
					t.Fatalf("err = %v, want *SubmitUnknownError", err)
				}
			case tt.status != 0:
				if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.status || apiErr.UserTimeout() != tt.userTimed || apiErr.Message == "" {
					t.Fatalf("err = %#v, want *APIError %d (user timeout %v)", err, tt.status, tt.userTimed)
				}
			default:
				if err != nil || h.RequestID == "" {
					t.Fatalf("Submit = %+v, %v", h, err)
				}
			}
		})
	}
}

// TestSubmitConnectionRefusedIsRetriedAndNotUnknown: nothing listens, so
// no request was ever sent: the submit is retried and fails plainly.
func TestSubmitConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := falqueue.New(falqueue.Config{QueueURL: "http://" + addr, BackoffBase: 1, BackoffMax: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Submit(ctxT(t), "fal-ai/x", nil, falqueue.SubmitOptions{})
	var te *falqueue.TransportError
	if !errors.As(err, &te) || te.Sent || errors.Is(err, falqueue.ErrSubmitUnknown) {
		t.Fatalf("err = %v, want an unsent *TransportError", err)
	}
}

// TestIdempotentCallsRetry: status is retried on 429/500/502/503/504 and on
// dropped connections; result and cancel on the gateway codes.
func TestIdempotentCallsRetry(t *testing.T) {
	faults := []faltest.Fault{
		{Op: faltest.OpStatus, Status: 500, WithRequestID: true},
		{Op: faltest.OpStatus, Status: 429},
		{Op: faltest.OpStatus, Status: 502, Nginx: true},
		{Op: faltest.OpStatus, Status: 503, WithRequestID: true},
		{Op: faltest.OpStatus, Status: 504},
		{Op: faltest.OpStatus, DropBefore: true},
		{Op: faltest.OpStatus, DropAfter: true},
		{Op: faltest.OpResult, Status: 503},
		{Op: faltest.OpResult, Status: 429},
		{Op: faltest.OpResult, DropAfter: true},
		{Op: faltest.OpCancel, Status: 502},
		{Op: faltest.OpCancel, DropBefore: true},
	}
	for _, f := range faults {
		t.Run(fmt.Sprintf("%s %+v", f.Op, f), func(t *testing.T) {
			e := newEnv(t, faltest.Options{})
			e.srv.SetScript("fal-ai/x", faltest.Script{Output: map[string]int{"v": 1}})
			ctx := ctxT(t)
			h, err := e.client.Submit(ctx, "fal-ai/x", nil, falqueue.SubmitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			e.srv.Inject(f)
			switch f.Op {
			case faltest.OpStatus:
				_, err = e.client.Status(ctx, h, false)
			case faltest.OpResult:
				_, err = e.client.Result(ctx, h)
			case faltest.OpCancel:
				_, err = e.client.Cancel(ctx, h)
			}
			if err != nil {
				t.Fatalf("%s after one fault: %v", f.Op, err)
			}
			if n := len(e.requests(f.Op)); n != 2 {
				t.Errorf("emulator saw %d %s requests, want 2", n, f.Op)
			}
		})
	}
}

// TestSoakNoLostOrDuplicateJobs runs 200 submit→wait→result cycles with a
// fault injected into most of them. Every job the client reported as
// submitted must come back with its own output; no input may be enqueued
// twice; an unknown submit must be reported as such.
func TestSoakNoLostOrDuplicateJobs(t *testing.T) {
	e := newEnv(t, faltest.Options{LogWindow: 10})
	echo := func(input json.RawMessage) any { return json.RawMessage(input) }
	e.srv.SetScript("fal-ai/pixverse/extend/fast", faltest.Script{Logs: []string{"a", "b", "c"}, OutputFunc: echo})
	faults := []faltest.Fault{
		{Op: faltest.OpSubmit, Status: 429},
		{Op: faltest.OpSubmit, Status: 502, Nginx: true},
		{Op: faltest.OpSubmit, Status: 503},
		{Op: faltest.OpSubmit, Status: 502, WithRequestID: true},
		{Op: faltest.OpSubmit, Status: 504},
		{Op: faltest.OpSubmit, Status: 500},
		{Op: faltest.OpSubmit, DropBefore: true},
		{Op: faltest.OpSubmit, DropAfter: true},
		{Op: faltest.OpStatus, Status: 500},
		{Op: faltest.OpStatus, Status: 503},
		{Op: faltest.OpStatus, DropAfter: true},
		{Op: faltest.OpStream, Status: 503},
		{Op: faltest.OpStream, DropAfter: true},
		{Op: faltest.OpStream, DropBefore: true},
		{Op: faltest.OpResult, Status: 502},
		{Op: faltest.OpResult, Status: 429},
		{Op: faltest.OpResult, DropBefore: true},
		{},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ctx := ctxT(t)
	const cycles = 200
	var ok, unknown, failed int
	submitted := map[int]string{} // cycle → request id
	for i := range cycles {
		if f := faults[rng.IntN(len(faults))]; f.Op != "" {
			e.srv.Inject(f)
		}
		input := map[string]int{"cycle": i}
		h, err := e.client.Submit(ctx, "fal-ai/pixverse/extend/fast", input, falqueue.SubmitOptions{})
		switch {
		case errors.Is(err, falqueue.ErrSubmitUnknown):
			unknown++
			e.srv.ResetFaults()
			continue
		case err != nil:
			var ae *falqueue.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("cycle %d: submit failed with an untyped error: %v", i, err)
			}
			failed++
			e.srv.ResetFaults()
			continue
		}
		submitted[i] = h.RequestID
		st, err := e.client.Wait(ctx, h, nil)
		if err != nil {
			t.Fatalf("cycle %d: Wait: %v", i, err)
		}
		if len(st.Logs) != 3 {
			t.Errorf("cycle %d: %d logs, want 3: %+v", i, len(st.Logs), st.Logs)
		}
		res, err := e.client.Result(ctx, h)
		if err != nil {
			t.Fatalf("cycle %d: Result: %v", i, err)
		}
		var got map[string]int
		if json.Unmarshal(res.Data, &got) != nil || got["cycle"] != i {
			t.Fatalf("cycle %d: result %s", i, res.Data)
		}
		ok++
		e.srv.ResetFaults()
	}
	// The emulator's view: each cycle's input was enqueued at most once,
	// and every cycle the client called submitted is there exactly once.
	perCycle := map[int]int{}
	for _, j := range e.srv.Jobs() {
		var in map[string]int
		if err := json.Unmarshal(j.Input, &in); err != nil {
			t.Fatal(err)
		}
		perCycle[in["cycle"]]++
		if id, ok := submitted[in["cycle"]]; ok && id != j.RequestID {
			t.Errorf("cycle %d: job %s, but the client has %s", in["cycle"], j.RequestID, id)
		}
	}
	for c, n := range perCycle {
		if n > 1 {
			t.Errorf("cycle %d was enqueued %d times", c, n)
		}
	}
	for c := range submitted {
		if perCycle[c] != 1 {
			t.Errorf("cycle %d: reported submitted, emulator has %d jobs", c, perCycle[c])
		}
	}
	t.Logf("%d cycles: %d completed, %d unknown submits, %d refused submits, %d jobs at the emulator", cycles, ok, unknown, failed, len(e.srv.Jobs()))
	if ok+unknown+failed != cycles || ok < cycles/2 || unknown == 0 {
		t.Errorf("unexpected mix: %d ok, %d unknown, %d failed", ok, unknown, failed)
	}
}
