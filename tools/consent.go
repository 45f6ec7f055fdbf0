package tools

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// From protocol version 2026-07-28 the server does not ask the user
// itself: it answers tools/call with the question and an opaque
// requestState, and the client calls again with the user's answer
// (inputResponses) and that state. Anyone can put an "accept" in a
// tools/call, so an answer counts only with a state this process made for
// that very question: signed with a key of this process, naming the
// session, the call (tool and every argument) and the estimate put to the
// user, short-lived, and good for one answer. Earlier eras never see a
// state: the server asks through elicitation/create while the call waits
// (see toolset.confirm), so an inputResponses there is always refused.

// consentTTL is how long a question stays answerable.
const consentTTL = 5 * time.Minute

// consents issues and redeems the states of the questions this process
// asked.
type consents struct {
	key []byte

	mu   sync.Mutex
	used map[string]time.Time // nonce → its state's expiry
}

func newConsents() *consents {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic("no randomness for the consent key: " + err.Error())
	}
	return &consents{key: key, used: map[string]time.Time{}}
}

// consentClaims is what a state binds.
type consentClaims struct {
	Nonce   string `json:"n"`
	Expires int64  `json:"x"` // unix milliseconds
	Session string `json:"s"`
	Call    string `json:"c"` // callHash
	Cost    string `json:"e"` // costKey of the estimate asked about
}

func (cs *consents) sign(payload []byte) []byte {
	m := hmac.New(sha256.New, cs.key)
	m.Write(payload)
	return m.Sum(nil)
}

// issue makes the state of a question about this call.
func (cs *consents) issue(now time.Time, session, call, cost string) string {
	n := make([]byte, 16)
	_, _ = rand.Read(n)
	payload, _ := json.Marshal(consentClaims{Nonce: hex.EncodeToString(n), Expires: now.Add(consentTTL).UnixMilli(),
		Session: session, Call: call, Cost: cost})
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(cs.sign(payload))
}

// redeem checks that state is one this process issued for this call in
// this session, about this estimate, not expired and not used before; and
// uses it up. The error says, in plain words, what is wrong.
func (cs *consents) redeem(now time.Time, state, session, call, cost string) error {
	cs.forget(now)
	if state == "" {
		return errors.New("it comes without the request state of a question this server asked")
	}
	enc := base64.RawURLEncoding
	p, s, ok := strings.Cut(state, ".")
	payload, err1 := enc.DecodeString(p)
	sig, err2 := enc.DecodeString(s)
	if !ok || err1 != nil || err2 != nil || !hmac.Equal(sig, cs.sign(payload)) {
		return errors.New("its request state is not one this server issued")
	}
	var c consentClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return errors.New("its request state is not one this server issued")
	}
	switch {
	case c.Session != session:
		return errors.New("the question was asked in another session")
	case c.Call != call:
		return errors.New("the question was asked about another call (another tool or other arguments)")
	case c.Cost != cost:
		return errors.New("the job's estimate has changed since the question was asked")
	case now.UnixMilli() > c.Expires:
		return fmt.Errorf("the question expired (questions can be answered for %v)", consentTTL)
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if _, ok := cs.used[c.Nonce]; ok {
		return errors.New("that answer was already used for a job")
	}
	cs.used[c.Nonce] = time.UnixMilli(c.Expires)
	return nil
}

// forget drops the used states that have expired: they cannot pass
// anyway.
func (cs *consents) forget(now time.Time) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for n, x := range cs.used {
		if now.After(x) {
			delete(cs.used, n)
		}
	}
}

// callHash names a call: its tool and every argument as the client sent
// them (encoding/json writes map keys sorted).
func callHash(req mcp.CallToolRequest) string {
	b, _ := json.Marshal(req.GetArguments())
	h := sha256.New()
	h.Write([]byte(req.Params.Name))
	h.Write([]byte{0})
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// costKey names an estimate.
func costKey(est schemas.Estimate) string {
	if est.USD == nil {
		return "unknown|" + est.Basis
	}
	return fmt.Sprintf("%.9f|%s", *est.USD, est.Basis)
}

// sessionOf is the id of the call's MCP session ("" without one).
func sessionOf(ctx context.Context) string {
	if s := server.ClientSessionFromContext(ctx); s != nil {
		return s.SessionID()
	}
	return ""
}
