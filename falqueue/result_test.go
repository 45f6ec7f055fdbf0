package falqueue_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
)

// TestResultReplaysFailures: a failed job's result replays fal's answer as
// a typed error (§4.4, §6.2).
func TestResultReplaysFailures(t *testing.T) {
	tests := []struct {
		name      string
		failure   faltest.Failure
		fields    []string // want *ValidationError with these fields
		status    int
		message   string
		errorType string
	}{
		{
			name: "422 detail array",
			failure: faltest.Failure{Status: 422, Body: map[string]any{"detail": []map[string]any{
				{"loc": []any{"body", "prompt"}, "msg": "field required", "type": "value_error.missing"},
				{"loc": []any{"body", "images", 0, "start_frame_num"}, "msg": "must be a multiple of 8", "type": "value_error"},
			}}},
			fields: []string{"prompt", "images.0.start_frame_num"}, status: 422,
		},
		{
			name:    "422 detail string",
			failure: faltest.Failure{Status: 422, Body: map[string]any{"detail": "video is too long"}},
			fields:  []string{""}, status: 422, message: "video is too long",
		},
		{
			name:    "500 internal",
			failure: faltest.Failure{Status: 500, Body: map[string]any{"detail": "Internal Server Error"}, Error: "Internal Server Error", ErrorType: "internal_error"},
			status:  500, message: "Internal Server Error", errorType: "internal_error",
		},
		{
			name:    "503 runner scheduling",
			failure: faltest.Failure{Status: 503, Error: "no runner", ErrorType: "runner_scheduling_failure"},
			status:  503, message: "no runner", errorType: "runner_scheduling_failure",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, faltest.Options{})
			f := tt.failure
			e.srv.SetScript("fal-ai/x", faltest.Script{Failure: &f})
			ctx := ctxT(t)
			h, _ := e.client.Submit(ctx, "fal-ai/x", nil, falqueue.SubmitOptions{})
			st, err := e.client.Wait(ctx, h, nil)
			if err != nil || !st.Failed() {
				t.Fatalf("Wait = %+v, %v; want a failed job", st, err)
			}
			_, err = e.client.Result(ctx, h)
			var ae *falqueue.APIError
			if !errors.As(err, &ae) || ae.StatusCode != tt.status || ae.RequestID == "" {
				t.Fatalf("Result err = %#v, want *APIError %d with a request id", err, tt.status)
			}
			if tt.message != "" && ae.Message != tt.message {
				t.Errorf("message = %q, want %q", ae.Message, tt.message)
			}
			if ae.ErrorType != tt.errorType {
				t.Errorf("error type = %q, want %q", ae.ErrorType, tt.errorType)
			}
			var ve *falqueue.ValidationError
			if (tt.fields != nil) != errors.As(err, &ve) {
				t.Fatalf("ValidationError = %v, want %v", ve, tt.fields != nil)
			}
			for i, f := range tt.fields {
				if ve.Fields[i].Field() != f {
					t.Errorf("field %d = %q, want %q", i, ve.Fields[i].Field(), f)
				}
			}
			if n := len(e.requests(faltest.OpResult)); n != 1 {
				t.Errorf("%d result requests: a replayed failure must not be retried", n)
			}
		})
	}
}

func TestResultBeforeCompletionAndAfterRetention(t *testing.T) {
	e := newEnv(t, faltest.Options{Retention: time.Millisecond, LargeRetention: time.Millisecond})
	e.srv.SetScript("fal-ai/x", faltest.Script{Manual: true})
	ctx := ctxT(t)
	h, _ := e.client.Submit(ctx, "fal-ai/x", nil, falqueue.SubmitOptions{})
	var ae *falqueue.APIError
	if _, err := e.client.Result(ctx, h); !errors.As(err, &ae) || ae.StatusCode != http.StatusBadRequest {
		t.Fatalf("Result before completion = %v, want a 400 *APIError", err)
	}
	e.srv.Finish(h.RequestID)
	// After the retention, fal forgets the result: wait for the emulator to
	// say so, then the client must report ErrNotFound.
	for {
		_, err := e.client.Result(ctx, h)
		if errors.Is(err, falqueue.ErrNotFound) {
			break
		}
		if err != nil {
			t.Fatalf("Result = %v", err)
		}
		if ctx.Err() != nil {
			t.Fatal("the result never expired")
		}
	}
}

func TestCancelOutcomes(t *testing.T) {
	e := newEnv(t, faltest.Options{})
	e.srv.SetScript("fal-ai/x", faltest.Script{Manual: true, Ahead: 1})
	e.srv.SetScript("fal-ai/stubborn", faltest.Script{Manual: true, IgnoreCancel: true})
	ctx := ctxT(t)

	queued, _ := e.client.Submit(ctx, "fal-ai/x", nil, falqueue.SubmitOptions{})
	if out, err := e.client.Cancel(ctx, queued); err != nil || out != falqueue.CancelRequested {
		t.Fatalf("cancel queued = %q, %v", out, err)
	}
	st, err := e.client.Wait(ctx, queued, nil)
	if err != nil || !st.Failed() {
		t.Errorf("a cancelled job should end failed: %+v, %v", st, err)
	}
	if out, err := e.client.Cancel(ctx, queued); err != nil || out != falqueue.CancelAlreadyCompleted {
		t.Errorf("cancel again = %q, %v", out, err)
	}

	running, _ := e.client.Submit(ctx, "fal-ai/stubborn", nil, falqueue.SubmitOptions{})
	e.srv.Step(running.RequestID)
	if out, err := e.client.Cancel(ctx, running); err != nil || out != falqueue.CancelRequested {
		t.Fatalf("cancel running = %q, %v", out, err)
	}
	if st, _ := e.client.Status(ctx, running, false); st.State != falqueue.StateInProgress {
		t.Errorf("an app that ignores cancel keeps running: %+v", st)
	}

	ghost, _ := e.client.Reattach("fal-ai/x", "00000000-0000-7000-8000-000000000000")
	if out, err := e.client.Cancel(ctx, ghost); err != nil || out != falqueue.CancelNotFound {
		t.Errorf("cancel unknown = %q, %v", out, err)
	}
	if _, err := e.client.Status(ctx, ghost, false); !errors.Is(err, falqueue.ErrNotFound) {
		t.Errorf("status of unknown = %v, want ErrNotFound", err)
	}
}

// TestUserStartTimeout: a job that cannot start within the start timeout
// fails with fal's user timeout (§3).
func TestUserStartTimeout(t *testing.T) {
	e := newEnv(t, faltest.Options{})
	e.srv.SetScript("fal-ai/x", faltest.Script{QueueTime: time.Hour})
	ctx := ctxT(t)
	h, err := e.client.Submit(ctx, "fal-ai/x", nil, falqueue.SubmitOptions{StartTimeout: 1001 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.client.Wait(ctx, h, nil)
	if err != nil || !st.Failed() || st.ErrorType != "startup_timeout" {
		t.Fatalf("Wait = %+v, %v", st, err)
	}
	_, err = e.client.Result(ctx, h)
	var ae *falqueue.APIError
	if !errors.As(err, &ae) || !ae.UserTimeout() {
		t.Fatalf("Result = %v, want a user start timeout", err)
	}
}
