package falqueue_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
)

const canary = "c4a7a9c1-dead-4bee-8f00-ca7a7ca7a7ca:canarysecret0123456789abcdef0123"

// TestCanaryKeyNeverLeaks runs a session of failing calls — refused key,
// retried faults, dropped connections, stream fallback, failed jobs, bad
// uploads, a panicking callback — with debug logging, and checks that no
// error text, log line or panic value contains any part of the key.
func TestCanaryKeyNeverLeaks(t *testing.T) {
	var seen []string
	record := func(v ...any) {
		for _, x := range v {
			seen = append(seen, fmt.Sprintf("%v | %+v | %#v", x, x, x))
		}
	}
	ctx := ctxT(t)

	// The emulator expects another key: every keyed call is refused.
	wrong := newEnv(t, faltest.Options{Key: "other-key"}, func(c *falqueue.Config) { c.Key = canary })
	_, err := wrong.client.Submit(ctx, "fal-ai/x", map[string]string{"k": "v"}, falqueue.SubmitOptions{})
	if !errors.Is(err, falqueue.ErrUnauthorized) {
		t.Errorf("Submit with a wrong key = %v, want ErrUnauthorized", err)
	}
	record(err)
	h, _ := wrong.client.Reattach("fal-ai/x", "r1")
	_, err = wrong.client.Status(ctx, h, true)
	record(err)
	_, err = wrong.client.Upload(ctx, strings.NewReader("x"), 1, falqueue.UploadOptions{})
	record(err)

	// The emulator accepts the canary; faults and failures all around.
	e := newEnv(t, faltest.Options{Key: canary})
	e.srv.SetScript("fal-ai/fail", faltest.Script{Logs: []string{"oops"}, Failure: &faltest.Failure{Status: 500, Error: "boom", ErrorType: "runner_server_error"}})
	for _, f := range []faltest.Fault{
		{Op: faltest.OpSubmit, Status: 503, Times: 10},
		{Op: faltest.OpSubmit, DropAfter: true},
		{Op: faltest.OpSubmit, UserTimeout: true},
	} {
		e.srv.Inject(f)
		_, err := e.client.Submit(ctx, "fal-ai/fail", nil, falqueue.SubmitOptions{})
		if err == nil {
			t.Errorf("submit with fault %+v succeeded", f)
		}
		record(err)
		e.srv.ResetFaults()
	}
	h, err = e.client.Submit(ctx, "fal-ai/fail", nil, falqueue.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Inject(faltest.Fault{Op: faltest.OpStream, DropAfter: true})
	e.srv.Inject(faltest.Fault{Op: faltest.OpStatus, Status: 500, Times: 2})
	st, err := e.client.Wait(ctx, h, nil)
	record(st, err)
	_, err = e.client.Result(ctx, h)
	record(err)
	e.srv.Inject(faltest.Fault{Op: faltest.OpCancel, Status: 503, Times: 10})
	_, err = e.client.Cancel(ctx, h)
	record(err)
	e.srv.Inject(faltest.Fault{Op: faltest.OpInitiate, DropBefore: true, Times: 10})
	_, err = e.client.Upload(ctx, strings.NewReader("x"), 1, falqueue.UploadOptions{})
	record(err)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = e.client.Status(cctx, h, false)
	record(err)

	// A callback that panics with everything it can reach.
	func() {
		defer func() { record(recover()) }()
		h2, _ := e.client.Submit(ctx, "fal-ai/ok", nil, falqueue.SubmitOptions{})
		_, _ = e.client.Wait(ctx, h2, func(u falqueue.Update) {
			panic(fmt.Sprintf("%v %+v %#v %v", e.client, u.Status, h2, falqueue.Config{Key: canary}))
		})
	}()
	record(e.client, falqueue.Config{Key: canary})
	slog.New(slog.NewTextHandler(e.logs, nil)).Info("client", "client", e.client, "cfg", falqueue.Config{Key: canary})

	all := strings.Join(seen, "\n") + e.logs.String() + wrong.logs.String()
	if !strings.Contains(e.logs.String(), "retrying") {
		t.Errorf("the debug log shows no retries; the test did not exercise them:\n%s", e.logs.String())
	}
	id, secret, _ := strings.Cut(canary, ":")
	for _, part := range []string{canary, id, secret} {
		if strings.Contains(all, part) {
			t.Fatalf("the key part %q leaked:\n%s", part, all)
		}
	}
}

// TestKeyStaysHome: a handle whose URLs point at another host is refused
// before anything is sent, and the other host never sees the key.
func TestKeyStaysHome(t *testing.T) {
	e := newEnv(t, faltest.Options{})
	other := faltest.NewServer(faltest.Options{})
	defer other.Close()
	ctx := ctxT(t)
	h := &falqueue.Handle{
		EndpointID:  "fal-ai/x",
		RequestID:   "r1",
		StatusURL:   other.QueueURL + "/fal-ai/x/requests/r1/status",
		ResponseURL: other.QueueURL + "/fal-ai/x/requests/r1",
		CancelURL:   other.QueueURL + "/fal-ai/x/requests/r1/cancel",
	}
	calls := map[string]func() error{
		"status": func() error { _, err := e.client.Status(ctx, h, false); return err },
		"wait":   func() error { _, err := e.client.Wait(ctx, h, nil); return err },
		"result": func() error { _, err := e.client.Result(ctx, h); return err },
		"cancel": func() error { _, err := e.client.Cancel(ctx, h); return err },
	}
	for name, call := range calls {
		var fe *falqueue.ForeignURLError
		if err := call(); !errors.As(err, &fe) || !strings.Contains(err.Error(), "refusing to send the fal key") {
			t.Errorf("%s with a foreign URL = %v, want *ForeignURLError", name, err)
		}
	}
	if n := len(other.Requests()); n != 0 {
		t.Errorf("the foreign host got %d requests", n)
	}
}

// TestRequestTimeout: a request that hangs is cut by the per-request
// timeout and retried; it never hangs the caller.
func TestRequestTimeout(t *testing.T) {
	e := newEnv(t, faltest.Options{}, func(c *falqueue.Config) { c.RequestTimeout = time.Second })
	h, err := e.client.Submit(ctxT(t), "fal-ai/x", nil, falqueue.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Inject(faltest.Fault{Op: faltest.OpStatus, Delay: time.Hour})
	if _, err := e.client.Status(ctxT(t), h, false); err != nil {
		t.Fatalf("Status after one hanging attempt = %v", err)
	}
	if n := len(e.requests(faltest.OpStatus)); n != 2 {
		t.Errorf("%d status requests, want 2", n)
	}
}

// TestEchoedKeyIsRedacted: an app that echoes the key into its log lines,
// its error and its output has the key replaced in everything the client
// hands back — statuses (streamed and polled), results, errors — and in
// its debug log.
func TestEchoedKeyIsRedacted(t *testing.T) {
	for _, stream := range []bool{true, false} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			e := newEnv(t, faltest.Options{Key: canary, LogWindow: 10}, func(c *falqueue.Config) { c.DisableStream = !stream })
			e.srv.SetScript("fal-ai/ok", faltest.Script{EchoKey: true, Logs: []string{"one", "two"},
				Output: map[string]any{"video": map[string]any{"url": e.srv.RestURL + "/x.mp4", "file_name": "x.mp4"}}})
			e.srv.SetScript("fal-ai/fail", faltest.Script{EchoKey: true, Logs: []string{"oops"},
				Failure: &faltest.Failure{Status: 500, Error: "boom"}})
			ctx := ctxT(t)
			var seen []string
			for _, endpoint := range []string{"fal-ai/ok", "fal-ai/fail"} {
				h, err := e.client.Submit(ctx, endpoint, nil, falqueue.SubmitOptions{})
				if err != nil {
					t.Fatal(err)
				}
				st, err := e.client.Wait(ctx, h, func(u falqueue.Update) { seen = append(seen, fmt.Sprintf("%+v", u.NewLogs)) })
				if err != nil {
					t.Fatal(err)
				}
				polled, err := e.client.Status(ctx, h, true)
				res, rerr := e.client.Result(ctx, h)
				seen = append(seen, fmt.Sprintf("%+v %+v %v %v", st, polled, err, rerr))
				if res != nil {
					seen = append(seen, string(res.Data))
				}
			}
			all := strings.Join(seen, "\n") + e.logs.String()
			// The echo went out, redacted: the test saw the misbehaviour.
			if !strings.Contains(all, "echo: Authorization: Key [REDACTED]") || !strings.Contains(all, "boom [echo") {
				t.Fatalf("no redacted echo seen; the app did not misbehave:\n%s", all)
			}
			id, secret, _ := strings.Cut(canary, ":")
			for _, part := range []string{canary, id, secret} {
				if strings.Contains(all, part) {
					t.Fatalf("the key part %q leaked:\n%s", part, all)
				}
			}
		})
	}
}
