package falqueue

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinel errors matched by errors.Is against an *APIError's status.
var (
	ErrUnauthorized = errors.New("fal rejected the key")          // 401, 403
	ErrNotFound     = errors.New("fal does not know it")          // 404
	ErrRateLimited  = errors.New("fal rate or concurrency limit") // 429
	// ErrSubmitUnknown matches a *SubmitUnknownError.
	ErrSubmitUnknown = errors.New("submit outcome unknown")
)

// APIError is a non-success answer from fal. Message is fal's own text
// (detail or message) or, when fal sent none, an explanation of the status.
type APIError struct {
	Op          string // "submit", "status", "stream", "result", "cancel", "upload initiate", …
	StatusCode  int
	Message     string
	ErrorType   string          // body error_type, else the X-Fal-Error-Type header (§6.1)
	RequestID   string          // x-fal-request-id of the answer, else the job's request id
	TimeoutType string          // X-Fal-Request-Timeout-Type ("user" on a start timeout)
	Body        json.RawMessage // the JSON body, if the answer had one
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fal %s: HTTP %d", e.Op, e.StatusCode)
	if e.ErrorType != "" {
		fmt.Fprintf(&b, " (%s)", e.ErrorType)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " [request %s]", e.RequestID)
	}
	return b.String()
}

// UserTimeout reports whether this is the 504 fal sends when the start
// timeout given at submit ran out before the job started (§3).
func (e *APIError) UserTimeout() bool {
	return e.StatusCode == http.StatusGatewayTimeout && strings.EqualFold(e.TimeoutType, "user")
}

// Is makes errors.Is(err, ErrNotFound) and friends work.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	}
	return false
}

// FieldError is one entry of a validation detail array (§6.1).
type FieldError struct {
	Loc   []any           `json:"loc"`
	Msg   string          `json:"msg"`
	Type  string          `json:"type"`
	Input json.RawMessage `json:"input,omitempty"`
	Ctx   json.RawMessage `json:"ctx,omitempty"`
	URL   string          `json:"url,omitempty"`
}

// Field is the location as a dotted path without the leading "body", e.g.
// "images.0.url"; "" when the error is about the body as a whole.
func (f FieldError) Field() string {
	parts := make([]string, 0, len(f.Loc))
	for i, p := range f.Loc {
		s := fmt.Sprint(p)
		if i == 0 && s == "body" {
			continue
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ".")
}

func (f FieldError) String() string {
	if field := f.Field(); field != "" {
		return field + ": " + f.Msg
	}
	return f.Msg
}

// ValidationError is fal's 422: the input was refused, with the reason per
// field. It unwraps to its *APIError.
type ValidationError struct {
	APIError
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		msgs[i] = f.String()
	}
	s := fmt.Sprintf("fal %s: invalid input: %s", e.Op, strings.Join(msgs, "; "))
	if e.RequestID != "" {
		s += fmt.Sprintf(" [request %s]", e.RequestID)
	}
	return s
}

func (e *ValidationError) Unwrap() error { return &e.APIError }

// SubmitUnknownError says a submit's outcome is unknown: the request reached
// (or may have reached) fal and the answer was lost, so fal may have queued —
// and may bill — the job. It is never retried, to avoid a duplicate job.
type SubmitUnknownError struct {
	EndpointID string
	Err        error
}

func (e *SubmitUnknownError) Error() string {
	return fmt.Sprintf("fal submit to %s: outcome unknown: the request was sent but no answer came back (%v), "+
		"so fal may have queued the job; it was not resubmitted to avoid paying twice — check your requests on fal before trying again",
		e.EndpointID, e.Err)
}

func (e *SubmitUnknownError) Unwrap() error        { return e.Err }
func (e *SubmitUnknownError) Is(target error) bool { return target == ErrSubmitUnknown }

// ForeignURLError refuses to send a keyed request to a URL outside the
// configured queue and REST hosts.
type ForeignURLError struct {
	Op  string
	URL string
}

func (e *ForeignURLError) Error() string {
	return fmt.Sprintf("fal %s: refusing to send the fal key to %s: it is not on the configured queue or REST host", e.Op, e.URL)
}

// statusHint explains a status code when fal's answer carried no text.
func statusHint(code int) string {
	switch code {
	case http.StatusUnauthorized, http.StatusForbidden:
		return "the fal key was refused: set FAL_KEY (or FAL_KEY_ID and FAL_KEY_SECRET) to a valid key"
	case http.StatusNotFound:
		return "not found: unknown request id, or the result expired (fal keeps results 1 h, 6 min for large ones)"
	case http.StatusMethodNotAllowed:
		return "method not allowed: the URL does not route (an endpoint sub-path in a status URL?)"
	case http.StatusTooManyRequests:
		return "rate or concurrency limit reached; retry later"
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return http.StatusText(code) + " from fal's gateway; fal may be overloaded, retry later"
	}
	if t := http.StatusText(code); t != "" {
		return strings.ToLower(t)
	}
	return "unexpected status"
}
