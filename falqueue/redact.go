package falqueue

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"
)

// Redaction finds the key in whatever form fal's text carries it. An app
// that echoes its request writes the key as it was sent, but the JSON
// around it may spell any character as a \uXXXX escape (decoded, it is
// the key again), a URL carries it percent-encoded, HTML as character
// references, a header dump in base64. So the key is looked for:
//
//   - in the raw text, each character in any of those spellings, mixed
//     and nested (\\u0063 escaped twice, %2563 percent-encoded twice);
//   - in base64, standard or URL alphabet, at any of the three alignments
//     it can have inside a longer base64 text;
//   - and once more in every JSON string of the text after decoding it,
//     for spellings only a decoder sees (such as "\/" inside base64).
//
// Each half of an "<id>:<secret>" key of 8 characters or more is
// sensitive on its own and is looked for the same way.

// redactor redacts one secret; built once per secret (redactors).
type redactor struct {
	spelled *regexp.Regexp // the secret and its halves, in any spelling
	base64  []string       // base64 runs that only the secret produces
}

var redactors sync.Map // secret → *redactor

func redactorFor(secret string) *redactor {
	if r, ok := redactors.Load(secret); ok {
		return r.(*redactor)
	}
	parts := []string{secret}
	if id, sec, ok := strings.Cut(secret, ":"); ok {
		for _, p := range []string{sec, id} {
			if len(p) >= 8 {
				parts = append(parts, p)
			}
		}
	}
	r := &redactor{}
	alts := make([]string, len(parts))
	for i, p := range parts { // longest first: the whole key, then its halves
		alts[i] = spelledPattern(p)
		r.base64 = append(r.base64, base64Runs(p)...)
	}
	r.spelled = regexp.MustCompile(strings.Join(alts, "|"))
	v, _ := redactors.LoadOrStore(secret, r)
	return v.(*redactor)
}

// spelledPattern matches s with each character in any spelling: as it
// is, a \uXXXX or \xXX escape (any number of backslashes), %XX (also
// percent-encoded again, %25XX), or an HTML character reference.
func spelledPattern(s string) string {
	var b strings.Builder
	for _, r := range s {
		alts := []string{regexp.QuoteMeta(string(r))}
		if r <= 0xFFFF {
			alts = append(alts, fmt.Sprintf(`\\+u(?i:%04x)`, r))
		}
		if r < 0x100 {
			alts = append(alts, fmt.Sprintf(`\\+x(?i:%02x)`, r))
		}
		var enc [utf8.UTFMax]byte
		n := utf8.EncodeRune(enc[:], r)
		var pct strings.Builder
		for _, c := range enc[:n] {
			fmt.Fprintf(&pct, `(?:%%|\\+u0025)(?:25)*(?i:%02x)`, c)
		}
		alts = append(alts, pct.String(), fmt.Sprintf(`&#(?:0*%d|[xX]0*(?i:%x));`, r, r))
		b.WriteString("(?:" + strings.Join(alts, "|") + ")")
	}
	return b.String()
}

// base64Runs are the runs of base64 text that s produces wherever it sits
// in an encoded text: for each alignment (0, 1 or 2 bytes before it in
// its group of three), the characters that depend on s's bytes alone, in
// the standard and the URL alphabet.
func base64Runs(s string) []string {
	var runs []string
	for k := 0; k < 3; k++ {
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, k), s...))
		run := enc[(8*k+5)/6 : 8*(k+len(s))/6]
		if len(run) < 8 {
			continue // too short to be only the secret's
		}
		runs = append(runs, run)
		if url := strings.NewReplacer("+", "-", "/", "_").Replace(run); url != run {
			runs = append(runs, url)
		}
	}
	return runs
}

// redact replaces every form of the secret in text with [REDACTED].
func (r *redactor) redact(text string) string {
	text = r.spelled.ReplaceAllLiteralString(text, redacted)
	for _, run := range r.base64 {
		text = strings.ReplaceAll(text, run, redacted)
	}
	return text
}

// redactSecret removes secret from text in every form (see above): in the
// raw text, then in each JSON string of it, decoded.
func redactSecret(text, secret string) string {
	if secret == "" {
		return text
	}
	r := redactorFor(secret)
	return redactJSONStrings(r.redact(text), r)
}

// redactJSONStrings decodes every double-quoted JSON string in text that
// has an escape in it and, where the decoded string still shows the
// secret, writes it back redacted. Text that is not JSON is left as it
// is: a quoted run that does not decode is skipped.
func redactJSONStrings(text string, r *redactor) string {
	if !strings.Contains(text, `\`) {
		return text // no escape: the raw pass has seen all there is
	}
	var out strings.Builder
	last := 0
	for i := 0; i < len(text); i++ {
		if text[i] != '"' {
			continue
		}
		end := i + 1
		escaped := false
		for ; end < len(text); end++ {
			if text[end] == '\\' {
				end++
				escaped = true
				continue
			}
			if text[end] == '"' || text[end] == '\n' {
				break
			}
		}
		if end >= len(text) || text[end] != '"' {
			i = end
			continue
		}
		if escaped {
			var s string
			if json.Unmarshal([]byte(text[i:end+1]), &s) == nil {
				if red := r.redact(s); red != s {
					out.WriteString(text[last:i])
					out.Write(jsonString(red))
					last = end + 1
				}
			}
		}
		i = end
	}
	if last == 0 {
		return text
	}
	out.WriteString(text[last:])
	return out.String()
}

// jsonString is s as a JSON string, without escaping <, > and &.
func jsonString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
