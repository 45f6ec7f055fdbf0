package tools

import (
	"strings"
	"testing"
	"time"
)

// TestConsentState: a question's state is good for one answer, in its
// session, for its call and estimate, before it expires; a state this
// process did not sign, or signed by another process, is refused.
func TestConsentState(t *testing.T) {
	now := time.Now()
	cs, other := newConsents(), newConsents()
	state := func() string { return cs.issue(now, "s1", "call", "cost") }
	tamper := func(s string) string { // another call's claims under this state's signature
		p, _, _ := strings.Cut(other.issue(now, "s1", "call", "cost"), ".")
		_, mine, _ := strings.Cut(s, ".")
		return p + "." + mine
	}
	for _, c := range []struct {
		name                string
		state               string
		session, call, cost string
		at                  time.Time
		want                string // "" accepted
	}{
		{"good", state(), "s1", "call", "cost", now, ""},
		{"no state", "", "s1", "call", "cost", now, "without the request state"},
		{"garbage", "c3RhdGU", "s1", "call", "cost", now, "not one this server issued"},
		{"another process's", other.issue(now, "s1", "call", "cost"), "s1", "call", "cost", now, "not one this server issued"},
		{"tampered", tamper(state()), "s1", "call", "cost", now, "not one this server issued"},
		{"another session", state(), "s2", "call", "cost", now, "another session"},
		{"another call", state(), "s1", "call2", "cost", now, "another call"},
		{"estimate changed", state(), "s1", "call", "cost2", now, "estimate has changed"},
		{"expired", state(), "s1", "call", "cost", now.Add(consentTTL + time.Second), "expired"},
	} {
		err := cs.redeem(c.at, c.state, c.session, c.call, c.cost)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
	s := state()
	if err := cs.redeem(now, s, "s1", "call", "cost"); err != nil {
		t.Fatal(err)
	}
	if err := cs.redeem(now, s, "s1", "call", "cost"); err == nil || !strings.Contains(err.Error(), "already used") {
		t.Errorf("a replayed answer: %v", err)
	}
	// Used states are forgotten once they expire (they could not pass
	// anyway).
	_ = cs.redeem(now.Add(2*consentTTL), state(), "s1", "call", "cost")
	cs.mu.Lock()
	n := len(cs.used)
	cs.mu.Unlock()
	if n != 0 {
		t.Errorf("%d used states kept after their expiry", n)
	}
}
