package falqueue

import (
	"bytes"
	"encoding/base64"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// Redaction finds the key in whatever form fal's text carries it. An app
// that echoes its request writes the key as it was sent, but the JSON
// around it may spell any character as a \uXXXX escape (decoded, it is
// the key again), a URL carries it percent-encoded, HTML as character
// references, a header dump in base64. So the text is decoded first, each
// spelling of a character to the character (canonical), with nested
// spellings too (\\u0063 escaped twice, %2563 percent-encoded twice, a
// \u0025 that starts a %XX); the key, each half of an "<id>:<secret>" key
// of 8 characters or more, and their base64 runs are looked for in that
// decoded text; and every run of the raw text that decodes to one of them
// is replaced with [REDACTED]. JSON's own escapes (\/, \", \n …) are
// decoded the same way, so whatever a JSON decoder would read from the
// text, it reads redacted.

// redactor redacts one secret; built once per secret (redactors).
type redactor struct {
	needles [][]byte // the secret, its halves, their base64 runs
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
	for _, p := range parts {
		r.needles = append(r.needles, []byte(p))
		for _, run := range base64Runs(p) {
			r.needles = append(r.needles, []byte(run))
		}
	}
	v, _ := redactors.LoadOrStore(secret, r)
	return v.(*redactor)
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

// redactSecret removes secret from text in every spelling (see above).
func redactSecret(text, secret string) string {
	if secret == "" || text == "" {
		return text
	}
	return redactorFor(secret).redact(text)
}

// redact replaces every run of text that decodes to a needle.
func (r *redactor) redact(text string) string {
	var c canonical
	if strings.ContainsAny(text, `\%&`) {
		c = decodeCanonical(text)
	} else {
		c.b = []byte(text) // nothing to decode: byte i is byte i
	}
	var spans [][2]int
	for _, n := range r.needles {
		for off := 0; ; {
			i := bytes.Index(c.b[off:], n)
			if i < 0 {
				break
			}
			first, last := off+i, off+i+len(n)-1
			spans = append(spans, [2]int{c.from(first), c.to(last)})
			off = first + 1
		}
	}
	if len(spans) == 0 {
		return text
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i][0] < spans[j][0] })
	merged := spans[:1]
	for _, sp := range spans[1:] {
		if last := &merged[len(merged)-1]; sp[0] <= last[1] {
			last[1] = max(last[1], sp[1])
		} else {
			merged = append(merged, sp)
		}
	}
	var out strings.Builder
	at := 0
	for _, sp := range merged {
		out.WriteString(text[at:sp[0]])
		out.WriteString(redacted)
		at = sp[1]
	}
	out.WriteString(text[at:])
	return out.String()
}

// canonical is a text decoded: b, and for each byte of b the span of the
// raw text it was decoded from (none: b is the text itself).
type canonical struct {
	b          []byte
	start, end []int32
}

func (c canonical) from(i int) int {
	if c.start == nil {
		return i
	}
	return int(c.start[i])
}

func (c canonical) to(i int) int {
	if c.end == nil {
		return i + 1
	}
	return int(c.end[i])
}

// decodeCanonical decodes every spelling of a character in t: JSON and
// JavaScript escapes (any number of backslashes before them), %XX (also
// %25XX, and a \u0025 followed by XX), and &#NN; / &#xNN; references.
func decodeCanonical(t string) canonical {
	c := canonical{b: make([]byte, 0, len(t)), start: make([]int32, 0, len(t)), end: make([]int32, 0, len(t))}
	for i := 0; i < len(t); {
		r, isByte, n := decodeUnit(t, i)
		if n > 1 && r == '%' {
			if b, m := percentTail(t, i+n); m > 0 { // an escaped % that starts %XX
				r, isByte, n = rune(b), true, n+m
			}
		}
		before := len(c.b)
		if isByte {
			c.b = append(c.b, byte(r))
		} else {
			c.b = utf8.AppendRune(c.b, r)
		}
		for range len(c.b) - before {
			c.start = append(c.start, int32(i))
			c.end = append(c.end, int32(i+n))
		}
		i += n
	}
	return c
}

// decodeUnit decodes the character spelled at t[i:]: a rune, or a byte
// (isByte: a literal byte or a %XX, which may be part of UTF-8), and the
// length of its spelling.
func decodeUnit(t string, i int) (r rune, isByte bool, n int) {
	switch t[i] {
	case '\\':
		j := i
		for j < len(t) && t[j] == '\\' {
			j++
		}
		if j == len(t) {
			break
		}
		switch t[j] {
		case 'u':
			v, ok := hexAt(t, j+1, 4)
			if !ok {
				break
			}
			r, n = rune(v), j+5-i
			if utf16.IsSurrogate(r) { // a pair: \uD83D\uDE00
				k := j + 5
				for k < len(t) && t[k] == '\\' {
					k++
				}
				if k > j+5 && k < len(t) && t[k] == 'u' {
					if lo, ok := hexAt(t, k+1, 4); ok {
						if pair := utf16.DecodeRune(r, rune(lo)); pair != utf8.RuneError {
							r, n = pair, k+5-i
						}
					}
				}
			}
			return r, false, n
		case 'x':
			if v, ok := hexAt(t, j+1, 2); ok {
				return rune(v), true, j + 3 - i
			}
		case '/', '"', '\'':
			return rune(t[j]), true, j + 1 - i
		case 'n':
			return '\n', true, j + 1 - i
		case 't':
			return '\t', true, j + 1 - i
		case 'r':
			return '\r', true, j + 1 - i
		}
	case '%':
		if b, m := percentTail(t, i+1); m > 0 {
			return rune(b), true, 1 + m
		}
	case '&':
		if i+3 < len(t) && t[i+1] == '#' {
			if semi := strings.IndexByte(t[i+2:min(len(t), i+12)], ';'); semi > 0 {
				num, base := t[i+2:i+2+semi], 10
				if num[0] == 'x' || num[0] == 'X' {
					num, base = num[1:], 16
				}
				if v, err := strconv.ParseUint(num, base, 21); err == nil && num != "" {
					return rune(v), false, 3 + semi
				}
			}
		}
	}
	return rune(t[i]), true, 1
}

// percentTail decodes the XX (or 25…25XX, percent-encoded again) after a
// %, at t[i:]: the byte and how many characters it took, or 0.
func percentTail(t string, i int) (byte, int) {
	j := i
	for strings.HasPrefix(t[j:], "25") {
		if _, ok := hexAt(t, j+2, 2); !ok {
			break
		}
		j += 2
	}
	v, ok := hexAt(t, j, 2)
	if !ok {
		return 0, 0
	}
	return byte(v), j + 2 - i
}

// hexAt parses n hex digits at t[i:].
func hexAt(t string, i, n int) (uint64, bool) {
	if i+n > len(t) {
		return 0, false
	}
	v, err := strconv.ParseUint(t[i:i+n], 16, 64)
	return v, err == nil && !strings.ContainsAny(t[i:i+n], "+-")
}
