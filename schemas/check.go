package schemas

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Checker is implemented by input types that have cross-field rules JSON
// Schema cannot express. Check returns nil, a *FieldError, or an errors.Join
// of *FieldError values; use FieldErrors to list them.
type Checker interface {
	Check() error
}

// FieldError says which argument broke a rule, what it was and what is
// allowed. Its message is written for a model that has to fix the call.
type FieldError struct {
	Field   string // JSON path of the field, e.g. "mask_video_url" or "images[1].start_frame_num"
	Value   any    // the value given; nil when the field was left out
	Allowed string // what is allowed, in words
}

// Error reads like `video_url: got "" — inpainting needs video_url and a mask`.
func (e *FieldError) Error() string {
	return fmt.Sprintf("%s: got %s — %s", e.Field, describeValue(e.Value), e.Allowed)
}

func describeValue(v any) string {
	if v == nil {
		return "nothing"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}

// Check runs the cross-field rules of an input value (a struct or a pointer
// to one) if its type has any, and returns nil otherwise.
func Check(input any) error {
	if c, ok := input.(Checker); ok {
		return c.Check()
	}
	return nil
}

// FieldErrors lists every *FieldError in err's tree (errors.Join and %w
// wrapping are followed), in order.
func FieldErrors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if fe, ok := e.(*FieldError); ok {
			out = append(out, fe)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, inner := range u.Unwrap() {
				walk(inner)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// joinFieldErrors turns the rule violations collected by a Check method into
// its result: nil when there are none.
func joinFieldErrors(errs []*FieldError) error {
	if len(errs) == 0 {
		return nil
	}
	if len(errs) == 1 {
		return errs[0]
	}
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e
	}
	return errors.Join(all...)
}

// isBlank reports whether an optional string was left out or set to "".
func isBlank(s *string) bool { return s == nil || *s == "" }

// valueOf returns what an optional field holds, for a FieldError: nil when
// it was left out.
func valueOf[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
