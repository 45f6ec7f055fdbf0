package faltest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// webhookUserID is the user id the emulator signs webhooks for.
const webhookUserID = "faltest-user"

// WebhookPublicKey is the key webhooks are signed with; the JWKS at
// RestURL + "/.well-known/jwks.json" carries it too (§8).
func (s *Server) WebhookPublicKey() ed25519.PublicKey {
	return s.webhookKey.Public().(ed25519.PublicKey)
}

func (s *Server) jwks() map[string]any {
	return map[string]any{"keys": []map[string]string{{
		"kty": "OKP", "crv": "Ed25519", "kid": "faltest", "use": "sig", "alg": "EdDSA",
		"x": base64.RawURLEncoding.EncodeToString(s.WebhookPublicKey()),
	}}}
}

// webhookAttempts is how many times a delivery is tried. fal tries 10
// times over about two hours (§8); the emulator keeps it short, with
// backoff from 10 ms.
const webhookAttempts = 4

// deliverWebhook POSTs the documented body (§8) to the job's webhook,
// signed, in the background, retrying a failed delivery. Called with s.mu
// held.
func (s *Server) deliverWebhook(j Job, status int, result []byte, f *Failure) {
	if s.closing {
		return
	}
	body := map[string]any{"request_id": j.RequestID, "gateway_request_id": j.RequestID, "status": "OK",
		"payload": json.RawMessage(result), "error": nil}
	if f != nil {
		body["status"] = "ERROR"
		body["error"] = "Invalid status code: " + strconv.Itoa(status)
	}
	raw, _ := json.Marshal(body)
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		delay := 10 * time.Millisecond
		for attempt := 0; attempt < webhookAttempts; attempt++ {
			if s.postWebhook(j, raw) {
				return
			}
			select {
			case <-time.After(delay):
				delay *= 2
			case <-s.closed:
				return
			}
		}
	}()
}

// postWebhook makes one delivery attempt and logs it; it reports success
// (a 2xx answer). A fault on OpWebhook spoils the attempt so that it is
// retried: Status skips the POST and logs that status as the receiver's
// answer, DropBefore skips it as if the receiver could not be reached,
// DropAfter sends it but counts it failed as if its answer were lost (so
// the receiver sees the delivery twice), Delay waits first.
func (s *Server) postWebhook(j Job, raw []byte) bool {
	f := s.takeFault(OpWebhook)
	if f != nil && f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-s.closed:
			return true
		}
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sum := sha256.Sum256(raw)
	msg := j.RequestID + "\n" + webhookUserID + "\n" + ts + "\n" + hex.EncodeToString(sum[:])
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.closed:
			cancel() // Close does not wait out a slow receiver
		case <-ctx.Done():
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.Webhook, bytes.NewReader(raw))
	if err != nil {
		return true // not deliverable, ever
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Fal-Webhook-Request-Id", j.RequestID)
	req.Header.Set("X-Fal-Webhook-User-Id", webhookUserID)
	req.Header.Set("X-Fal-Webhook-Timestamp", ts)
	req.Header.Set("X-Fal-Webhook-Signature", hex.EncodeToString(ed25519.Sign(s.webhookKey, []byte(msg))))
	entry := Request{Op: OpWebhook, Host: "webhook", Method: req.Method, Path: req.URL.Path, RawQuery: req.URL.RawQuery,
		Header: req.Header.Clone(), Body: raw, BodySize: int64(len(raw)), RequestID: j.RequestID, Fault: f}
	ok := false
	if f == nil || (f.Status == 0 && !f.DropBefore) {
		resp, err := s.webhookHTTPClient.Do(req)
		if err == nil {
			entry.Status = resp.StatusCode
			resp.Body.Close()
			ok = resp.StatusCode/100 == 2 && (f == nil || !f.DropAfter)
		}
	}
	if f != nil && f.Status != 0 {
		entry.Status = f.Status
	}
	s.log(entry)
	return ok
}
