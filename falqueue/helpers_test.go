package falqueue_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
)

const testKey = "9f3c1d2e-0000-4000-8000-000000000001:00112233445566778899aabbccddeeff"

// env is one emulator and a client pointed at it.
type env struct {
	srv    *faltest.Server
	client *falqueue.Client
	logs   *syncBuffer
}

// newEnv starts an emulator (opts.Key defaults to testKey) and a client
// with fast backoff; tweak adjusts the client config.
func newEnv(t testing.TB, opts faltest.Options, tweak ...func(*falqueue.Config)) *env {
	t.Helper()
	if opts.Key == "" {
		opts.Key = testKey
	}
	srv := faltest.NewServer(opts)
	t.Cleanup(srv.Close)
	logs := &syncBuffer{}
	cfg := falqueue.Config{
		Key:          falqueue.Secret(opts.Key),
		QueueURL:     srv.QueueURL,
		RestURL:      srv.RestURL,
		BackoffBase:  time.Millisecond,
		BackoffMax:   4 * time.Millisecond,
		PollInterval: time.Millisecond,
		Logger:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, f := range tweak {
		f(&cfg)
	}
	c, err := falqueue.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, client: c, logs: logs}
}

// requests returns the emulator's log of one operation.
func (e *env) requests(op faltest.Op) []faltest.Request {
	var out []faltest.Request
	for _, r := range e.srv.Requests() {
		if r.Op == op {
			out = append(out, r)
		}
	}
	return out
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}
