// Package stdioguard keeps an MCP rule over stdio that mcp-go (v1.2.1)
// does not: a request the client cancelled gets no response. mcp-go
// cancels the handler's context on notifications/cancelled, but then
// writes whatever the handler returned. Wrap sits between the stdio
// server and its pipes: it notes the requests read and the cancellations
// of those still under way, and drops the response of a cancelled one.
package stdioguard

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"
)

// maxLine is the longest line Wrap parses; a longer one (a huge request)
// is passed on without being noted, so it can be answered but not
// silenced by a cancellation.
const maxLine = 8 << 20

// Wrap returns in and out as the stdio server should use them.
func Wrap(in io.Reader, out io.Writer) (io.Reader, io.Writer) {
	g := &guard{inflight: map[string]bool{}}
	return &reader{r: in, g: g}, &writer{w: out, g: g}
}

type guard struct {
	mu       sync.Mutex
	inflight map[string]bool // request id → cancelled
}

type message struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params struct {
		RequestID json.RawMessage `json:"requestId"`
	} `json:"params"`
}

// read notes one line the client sent.
func (g *guard) read(line []byte) {
	var m message
	if json.Unmarshal(line, &m) != nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case m.Method == "notifications/cancelled" && len(m.Params.RequestID) > 0:
		id := canonical(m.Params.RequestID)
		if _, ok := g.inflight[id]; ok {
			g.inflight[id] = true
		}
	case m.Method != "" && len(m.ID) > 0 && string(m.ID) != "null":
		g.inflight[canonical(m.ID)] = false
	}
}

// drop reports whether a line the server writes is the response of a
// cancelled request, and forgets a request once answered.
func (g *guard) drop(line []byte) bool {
	var m message
	if json.Unmarshal(line, &m) != nil || m.Method != "" || len(m.ID) == 0 {
		return false
	}
	id := canonical(m.ID)
	g.mu.Lock()
	defer g.mu.Unlock()
	cancelled := g.inflight[id]
	delete(g.inflight, id)
	return cancelled
}

// canonical is an id as compact JSON: 7 and "7" differ.
func canonical(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

type reader struct {
	r       io.Reader
	g       *guard
	partial []byte
	skip    bool // the line under way is over maxLine
}

// Read passes bytes on unchanged, noting each whole line before the
// server can see it (so a cancellation is noted before it takes effect).
func (r *reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	chunk := p[:n]
	for len(chunk) > 0 {
		i := bytes.IndexByte(chunk, '\n')
		if i < 0 {
			if !r.skip && len(r.partial)+len(chunk) <= maxLine {
				r.partial = append(r.partial, chunk...)
			} else {
				r.partial, r.skip = r.partial[:0], true
			}
			break
		}
		if !r.skip {
			r.g.read(append(r.partial, chunk[:i]...))
		}
		r.partial, r.skip = r.partial[:0], false
		chunk = chunk[i+1:]
	}
	return n, err
}

type writer struct {
	w io.Writer
	g *guard
}

// Write passes each message on unless it answers a cancelled request.
// mcp-go's stdio server writes one whole message, with its newline, per
// Write.
func (w *writer) Write(p []byte) (int, error) {
	if w.g.drop(bytes.TrimSpace(p)) {
		return len(p), nil
	}
	return w.w.Write(p)
}
