package falqueue

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// TestRedactSecretForms: the key and each half of it are redacted in
// every spelling fal's text may give them, and nothing else changes; a
// JSON body stays valid JSON.
func TestRedactSecretForms(t *testing.T) {
	const id, sec = "canary-keyid-5f0c2a", "canary-keysecret-9d81e4b7"
	const key = id + ":" + sec
	esc := func(s string) string { // every character as \u00XX
		var b strings.Builder
		for _, c := range []byte(s) {
			b.WriteString(`\u00` + "0123456789abcdef"[c>>4:c>>4+1] + "0123456789abcdef"[c&15:c&15+1])
		}
		return b.String()
	}
	pct := func(s string) string {
		var b strings.Builder
		for _, c := range []byte(s) {
			b.WriteString("%" + strings.ToUpper("0123456789abcdef"[c>>4:c>>4+1]+"0123456789abcdef"[c&15:c&15+1]))
		}
		return b.String()
	}
	b64 := base64.StdEncoding.EncodeToString([]byte("Key " + key)) // unaligned: "Key " is 4 bytes
	tests := []struct {
		name, text string
	}{
		{"as sent", `{"detail":"Key ` + key + `"}`},
		{"JSON escapes", `{"detail":"Key ` + esc(key) + `"}`},
		{"upper-case hex digits", `{"detail":"` + strings.ReplaceAll(strings.ToUpper(esc(key)), `\U`, `\u`) + `"}`},
		{"a few escaped", `{"detail":"\u0063anary-keyid-5f0c2a"}`},
		{"escaped twice", `{"detail":"` + strings.ReplaceAll(esc(sec), `\`, `\\`) + `"}`},
		{"the secret half alone", `{"detail":"` + esc(sec) + `"}`},
		{"percent-encoded", `{"url":"https://x/?k=` + pct(key) + `"}`},
		{"percent-encoded twice", `{"url":"https://x/?k=` + strings.ReplaceAll(pct(key), "%", "%25") + `"}`},
		{"lower-case percent", `{"url":"` + strings.ToLower(pct(id)) + `"}`},
		{"HTML references", `<p>&#99;&#x61;nary-keyid-5f0c2a</p>`},
		{"base64", `{"h":"` + b64 + `"}`},
		{"base64, URL alphabet", `{"h":"` + base64.RawURLEncoding.EncodeToString([]byte("xx"+key)) + `"}`},
		{"base64 with \\/ escapes", `{"h":"` + strings.ReplaceAll(base64.StdEncoding.EncodeToString([]byte("?>?"+key+"???")), "/", `\/`) + `"}`},
		{"plain text", "Authorization: Key " + key},
		{"mixed", `{"a":"c%61n\u0061ry-keyid-5f0c2a"}`},
		{"an escaped percent sign", `{"a":"\u002563anary-keyid-5f0c2a"}`},
		{"twice in a row", key + key},
		{"the whole text", sec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := redactSecret(tt.text, key)
			if !strings.Contains(got, redacted) {
				t.Errorf("nothing redacted in %s", got)
			}
			var v any
			if json.Valid([]byte(tt.text)) {
				if err := json.Unmarshal([]byte(got), &v); err != nil {
					t.Fatalf("no longer JSON: %v: %s", err, got)
				}
				b, _ := json.Marshal(v)
				for _, s := range []string{key, id, sec} {
					if strings.Contains(string(b), s) || strings.Contains(got, s) {
						t.Errorf("%q still shows in %s (decoded %s)", s, got, b)
					}
				}
			} else if strings.Contains(got, id) || strings.Contains(got, sec) {
				t.Errorf("the key still shows in %s", got)
			}
		})
	}
	// Text without the key is left byte for byte, escapes and all.
	for _, text := range []string{`{"detail":"caf\u00e9 \/ \"q\" %41 &#65; Y2FuYXJ5"}`, "no json \" here \\", `"unterminated \u0063`, ""} {
		if got := redactSecret(text, key); got != text {
			t.Errorf("redactSecret(%q) = %q, want it unchanged", text, got)
		}
	}
	if got := redactSecret("short:abc", "short:abc"); got != redacted {
		t.Errorf("a short key: %q", got)
	}
}

// BenchmarkRedactBody: the redaction every answer from fal goes through,
// on a 64 KiB JSON body with escapes and no key.
func BenchmarkRedactBody(b *testing.B) {
	body := `{"logs":[` + strings.Repeat(`{"message":"frame \u00e9 done \/ 50%","level":"INFO"},`, 1000) + `{}]}`
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		_ = redactSecret(body, "canary-keyid-5f0c2a:canary-keysecret-9d81e4b7")
	}
}
