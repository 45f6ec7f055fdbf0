package faltest_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
)

// delivery is one webhook POST as the receiver saw it.
type delivery struct {
	header http.Header
	body   []byte
}

// receiver is a webhook endpoint answering codes in turn (then 200).
func receiver(t *testing.T, codes ...int) (string, <-chan delivery) {
	got := make(chan delivery, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- delivery{r.Header.Clone(), b}
		code := 200
		if len(codes) > 0 {
			code, codes = codes[0], codes[1:]
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(hook.Close)
	return hook.URL + "/cb?token=t", got
}

// attempts collects the webhook delivery attempts of srv as they are
// logged.
func attempts(t *testing.T, srv *faltest.Server) <-chan faltest.Request {
	ch := make(chan faltest.Request, 10)
	stop := srv.OnRequest(func(r faltest.Request) {
		if r.Op == faltest.OpWebhook {
			ch <- r
		}
	})
	t.Cleanup(stop)
	return ch
}

// verify checks a delivery's signature as a receiver would: against the
// key published in the JWKS (§8).
func verify(t *testing.T, c client, d delivery) {
	t.Helper()
	a := c.do("GET", c.srv.RestURL+"/.well-known/jwks.json", "")
	var jwks struct {
		Keys []struct{ Kty, Crv, X string }
	}
	if err := json.Unmarshal(a.raw, &jwks); err != nil || len(jwks.Keys) != 1 || jwks.Keys[0].Kty != "OKP" || jwks.Keys[0].Crv != "Ed25519" {
		t.Fatalf("jwks = %s", a.raw)
	}
	pub, err := base64.RawURLEncoding.DecodeString(jwks.Keys[0].X)
	if err != nil || !bytes.Equal(pub, c.srv.WebhookPublicKey()) {
		t.Fatalf("jwks x = %q: %v", jwks.Keys[0].X, err)
	}
	sum := sha256.Sum256(d.body)
	msg := d.header.Get("X-Fal-Webhook-Request-Id") + "\n" + d.header.Get("X-Fal-Webhook-User-Id") + "\n" +
		d.header.Get("X-Fal-Webhook-Timestamp") + "\n" + hex.EncodeToString(sum[:])
	sig, _ := hex.DecodeString(d.header.Get("X-Fal-Webhook-Signature"))
	if !ed25519.Verify(ed25519.PublicKey(pub), []byte(msg), sig) {
		t.Error("webhook signature does not verify against the JWKS")
	}
	ts, err := strconv.ParseInt(d.header.Get("X-Fal-Webhook-Timestamp"), 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > 300*time.Second {
		t.Errorf("timestamp %q not within the ±300 s skew", d.header.Get("X-Fal-Webhook-Timestamp"))
	}
}

func TestWebhookSuccess(t *testing.T) {
	hook, got := receiver(t)
	c, srv := start(t, faltest.Options{})
	logged := attempts(t, srv)
	// A seed above int64, as in a real captured body (§8).
	srv.SetScript("fal-ai/x/sub", faltest.Script{Output: json.RawMessage(`{"seed":17454220438242315174}`)})
	id, _ := c.submit("fal-ai/x/sub?fal_webhook="+hook, `{}`)
	d := <-got
	var body map[string]json.RawMessage
	if err := json.Unmarshal(d.body, &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"request_id": `"` + id + `"`, "gateway_request_id": `"` + id + `"`, "status": `"OK"`,
		"payload": `{"seed":17454220438242315174}`, "error": "null"}
	for k, v := range want {
		if string(body[k]) != v {
			t.Errorf("%s = %s, want %s", k, body[k], v)
		}
	}
	if d.header.Get("X-Fal-Webhook-Request-Id") != id || d.header.Get("X-Fal-Webhook-User-Id") == "" || d.header.Get("Content-Type") != "application/json" {
		t.Errorf("headers = %q", d.header)
	}
	verify(t, c, d)
	if r := <-logged; r.Status != 200 || r.RequestID != id || r.Host != "webhook" || r.Method != "POST" || r.Path != "/cb" || r.RawQuery != "token=t" || !bytes.Equal(r.Body, d.body) {
		t.Errorf("logged = %+v", r)
	}
	srv.Close()
	if len(logged) != 0 || len(got) != 0 {
		t.Error("more than one delivery")
	}
}

func TestWebhookFailureAndRetries(t *testing.T) {
	hook, got := receiver(t, 500, 503) // the third attempt succeeds
	c, srv := start(t, faltest.Options{})
	logged := attempts(t, srv)
	srv.SetScript("fal-ai/x", faltest.Script{Failure: &faltest.Failure{Status: 422,
		Body: map[string]any{"detail": []map[string]any{{"loc": []string{"body", "prompt"}, "msg": "field required", "type": "value_error.missing"}}}}})
	// The first attempt does not even reach the receiver.
	srv.Inject(faltest.Fault{Op: faltest.OpWebhook, DropBefore: true})
	id, _ := c.submit("fal-ai/x?fal_webhook="+hook, `{}`)
	var ds []delivery
	for range 3 {
		ds = append(ds, <-got)
	}
	for _, d := range ds {
		verify(t, c, d)
		var body map[string]any
		_ = json.Unmarshal(d.body, &body)
		if body["request_id"] != id || body["status"] != "ERROR" || body["error"] != "Invalid status code: 422" || body["payload"].(map[string]any)["detail"] == nil {
			t.Errorf("failure webhook = %s", d.body)
		}
	}
	var codes []int
	for range 4 {
		r := <-logged
		codes = append(codes, r.Status)
		if (r.Fault != nil) != (len(codes) == 1) {
			t.Errorf("attempt %d: fault %+v", len(codes), r.Fault)
		}
	}
	if want := []int{0, 500, 503, 200}; !equalInts(codes, want) {
		t.Errorf("delivery attempts answered %v, want %v", codes, want)
	}
}

func TestWebhookDeliveredTwiceWhenAnswerLost(t *testing.T) {
	hook, got := receiver(t)
	c, srv := start(t, faltest.Options{})
	srv.Inject(faltest.Fault{Op: faltest.OpWebhook, DropAfter: true})
	id, _ := c.submit("fal-ai/x?fal_webhook="+hook, `{}`)
	a, b := <-got, <-got
	if a.header.Get("X-Fal-Webhook-Request-Id") != id || !bytes.Equal(a.body, b.body) {
		t.Errorf("deliveries differ: %s / %s", a.body, b.body)
	}
}
