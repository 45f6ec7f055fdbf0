package faltest_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
)

// TestEchoForms: an app with EchoKey writes the key back in the form its
// script asks for, in log lines, outputs and failures, and an injected
// fault with EchoKey in its detail: EchoJSONEscaped only on the wire (the
// decoded JSON holds the key itself), the others in the decoded text.
func TestEchoForms(t *testing.T) {
	const k = "canary-id:canary-secret"
	tests := []struct {
		form    faltest.EchoForm
		decoded string // what the decoded JSON text holds
		rawHas  bool   // the raw body holds the key as sent
	}{
		{faltest.EchoAsSent, k, true},
		{faltest.EchoJSONEscaped, k, false},
		{faltest.EchoPercent, "%63%61%6E%61%72%79%2D%69%64%3A", false},
		{faltest.EchoBase64, base64.StdEncoding.EncodeToString([]byte(k)), false},
		{faltest.EchoEscapedText, `\u0063\u0061\u006e\u0061\u0072\u0079`, false},
	}
	for _, tt := range tests {
		t.Run(tt.form.String(), func(t *testing.T) {
			srv := faltest.NewServer(faltest.Options{Key: k})
			defer srv.Close()
			c := client{t, srv}
			do := func(method, url, body string) answer {
				t.Helper()
				req, _ := http.NewRequest(method, url, strings.NewReader(body))
				req.Header.Set("Authorization", "Key "+k)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				return answer{code: resp.StatusCode, raw: b}
			}
			srv.SetScript("fal-ai/x", faltest.Script{Manual: true, EchoKey: true, EchoForm: tt.form, Logs: []string{"loading"},
				Output: map[string]any{"text": "done"}})
			a := do("POST", srv.QueueURL+"/fal-ai/x", `{}`)
			var sub struct {
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal(a.raw, &sub); err != nil || sub.RequestID == "" {
				t.Fatalf("submit = %d %s", a.code, a.raw)
			}
			srv.Finish(sub.RequestID)
			srv.Inject(faltest.Fault{Op: faltest.OpStatus, Status: 401, EchoKey: true, EchoForm: tt.form})
			for _, url := range []string{c.requestURL("fal-ai/x", sub.RequestID) + "/status", // the fault
				c.requestURL("fal-ai/x", sub.RequestID) + "/status?logs=1", c.requestURL("fal-ai/x", sub.RequestID)} {
				a := do("GET", url, "")
				var v any
				if err := json.Unmarshal(a.raw, &v); err != nil {
					t.Fatalf("%s: %v: %s", url, err, a.raw)
				}
				decoded := fmtDecoded(v)
				if !strings.Contains(decoded, tt.decoded) || !strings.Contains(decoded, "[echo: Authorization: Key ") {
					t.Errorf("%s: the decoded answer has no echo %q: %s", url, tt.decoded, decoded)
				}
				if got := strings.Contains(string(a.raw), k); got != tt.rawHas {
					t.Errorf("%s: the raw answer holds the key as sent: %v, want %v: %s", url, got, tt.rawHas, a.raw)
				}
			}
		})
	}
}

// fmtDecoded joins every string of a decoded JSON value.
func fmtDecoded(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		var parts []string
		for _, x := range v {
			parts = append(parts, fmtDecoded(x))
		}
		return strings.Join(parts, " | ")
	case []any:
		var parts []string
		for _, x := range v {
			parts = append(parts, fmtDecoded(x))
		}
		return strings.Join(parts, " | ")
	}
	return ""
}
