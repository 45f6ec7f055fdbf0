package falqueue_test

import (
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
)

// TestTarget: the target tells queue hosts and accounts apart — keys with
// the same id are one account — and never carries the key or either half.
func TestTarget(t *testing.T) {
	target := func(key, queue string) string {
		c, err := falqueue.New(falqueue.Config{Key: falqueue.Secret(key), QueueURL: queue})
		if err != nil {
			t.Fatal(err)
		}
		return c.Target()
	}
	const q1, q2 = "https://queue.example", "http://127.0.0.1:9"
	a := target("canary-key-id-1:canary-secret-1", q1)
	for _, c := range []struct {
		name string
		got  string
		same bool
	}{
		{"same key", target("canary-key-id-1:canary-secret-1", q1), true},
		{"same id, rotated secret", target("canary-key-id-1:canary-secret-2", q1), true},
		{"another account", target("canary-key-id-2:canary-secret-1", q1), false},
		{"another queue", target("canary-key-id-1:canary-secret-1", q2), false},
		{"no key", target("", q1), false},
	} {
		if (c.got == a) != c.same {
			t.Errorf("%s: %q vs %q, want same %v", c.name, c.got, a, c.same)
		}
		for _, secret := range []string{"canary-key-id", "canary-secret"} {
			if strings.Contains(c.got, secret) {
				t.Errorf("%s: the target %q holds %q", c.name, c.got, secret)
			}
		}
	}
}
