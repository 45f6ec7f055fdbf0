package tools

import (
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// english prints the validator's own messages for the rarer rules.
var english = message.NewPrinter(language.English)

// validator checks arguments against the very schema a tool advertises.
// The schema is compiled on the first call that needs it, not at
// start-up (a test compiles every tool's schema, so a bad one fails in
// CI, not in a user's call).
type validator struct {
	name  string
	doc   map[string]any // the schema as a document, to name allowed values
	media mediaRules     // what its media fields' data: URIs must be

	once   sync.Once
	schema *jsonschema.Schema
	err    error
}

func newValidator(name string, doc map[string]any) *validator {
	return &validator{name: name, doc: doc}
}

func (v *validator) compile() (*jsonschema.Schema, error) {
	v.once.Do(func() {
		c := jsonschema.NewCompiler()
		url := "mem://tools/" + v.name + ".json"
		if err := c.AddResource(url, v.doc); err != nil {
			v.err = fmt.Errorf("tool %s: input schema does not load: %w", v.name, err)
			return
		}
		if v.schema, v.err = c.Compile(url); v.err != nil {
			v.err = fmt.Errorf("tool %s: input schema does not compile: %w", v.name, v.err)
		}
	})
	return v.schema, v.err
}

// check validates arguments as the client's JSON decoded them (a map of
// JSON values); the error lists every problem as
// "field: got <value> — <what is allowed>".
func (v *validator) check(args map[string]any) error {
	schema, err := v.compile()
	if err != nil {
		return err
	}
	var inst any = args
	if args == nil {
		inst = map[string]any{}
	}
	msgs := v.media.check(args)
	err = schema.Validate(inst)
	if err == nil && len(msgs) == 0 {
		return nil
	}
	if err != nil {
		ve, ok := err.(*jsonschema.ValidationError)
		if !ok {
			return err
		}
		for _, leaf := range leaves(ve) {
			msgs = append(msgs, v.describe(leaf, inst))
		}
	}
	sort.Strings(msgs)
	msgs = dedupe(msgs)
	return fmt.Errorf("invalid arguments:\n- %s", strings.Join(msgs, "\n- "))
}

func leaves(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return []*jsonschema.ValidationError{e}
	}
	var out []*jsonschema.ValidationError
	for _, c := range e.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// describe turns one failure into words a model can act on.
func (v *validator) describe(e *jsonschema.ValidationError, inst any) string {
	field := fieldPath(e.InstanceLocation)
	got := display(valueAt(inst, e.InstanceLocation))
	switch k := e.ErrorKind.(type) {
	case *kind.AdditionalProperties:
		var names []string
		for _, p := range k.Properties {
			names = append(names, fieldPath(append(append([]string(nil), e.InstanceLocation...), p)))
		}
		return fmt.Sprintf("%s: unknown field — allowed fields: %s", strings.Join(names, ", "), strings.Join(v.propertyNames(e.InstanceLocation), ", "))
	case *kind.Required:
		var names []string
		for _, p := range k.Missing {
			names = append(names, fieldPath(append(append([]string(nil), e.InstanceLocation...), p)))
		}
		return fmt.Sprintf("%s: missing — this field is required", strings.Join(names, ", "))
	case *kind.Type:
		return fmt.Sprintf("%s: got %s (%s) — must be %s", field, got, k.Got, strings.Join(k.Want, " or "))
	case *kind.Enum:
		var want []string
		for _, w := range k.Want {
			want = append(want, display(w))
		}
		return fmt.Sprintf("%s: got %s — allowed one of %s", field, got, strings.Join(want, ", "))
	case *kind.Minimum:
		return fmt.Sprintf("%s: got %s — must be at least %s%s", field, got, ratString(k.Want), v.rangeNote(e.InstanceLocation))
	case *kind.Maximum:
		return fmt.Sprintf("%s: got %s — must be at most %s%s", field, got, ratString(k.Want), v.rangeNote(e.InstanceLocation))
	case *kind.MinLength:
		return fmt.Sprintf("%s: got %s (%d characters) — must have at least %d", field, got, k.Got, k.Want)
	case *kind.MaxLength:
		return fmt.Sprintf("%s: got %d characters — must have at most %d", field, k.Got, k.Want)
	case *kind.MultipleOf:
		return fmt.Sprintf("%s: got %s — must be a multiple of %s%s", field, got, ratString(k.Want), v.rangeNote(e.InstanceLocation))
	case *kind.MinItems:
		return fmt.Sprintf("%s: got %d items — must have at least %d", field, k.Got, k.Want)
	case *kind.MaxItems:
		return fmt.Sprintf("%s: got %d items — must have at most %d", field, k.Got, k.Want)
	}
	return fmt.Sprintf("%s: got %s — %s", field, got, e.ErrorKind.LocalizedString(english))
}

// rangeNote adds the whole range when the schema has both bounds.
func (v *validator) rangeNote(loc []string) string {
	s := v.schemaAt(loc)
	lo, hasLo := s["minimum"]
	hi, hasHi := s["maximum"]
	if hasLo && hasHi {
		return fmt.Sprintf(" (allowed %v to %v)", lo, hi)
	}
	return ""
}

// schemaAt finds the sub-schema for an instance location.
func (v *validator) schemaAt(loc []string) map[string]any {
	s := v.doc
	for _, seg := range loc {
		if props, ok := s["properties"].(map[string]any); ok {
			if next, ok := props[seg].(map[string]any); ok {
				s = next
				continue
			}
		}
		if items, ok := s["items"].(map[string]any); ok {
			s = items
			continue
		}
		return map[string]any{}
	}
	return s
}

func (v *validator) propertyNames(loc []string) []string {
	props, _ := v.schemaAt(loc)["properties"].(map[string]any)
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// fieldPath renders a location as "images[0].start_frame_num".
func fieldPath(loc []string) string {
	var b strings.Builder
	for _, seg := range loc {
		if seg != "" && strings.Trim(seg, "0123456789") == "" {
			fmt.Fprintf(&b, "[%s]", seg)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(seg)
	}
	if b.Len() == 0 {
		return "arguments"
	}
	return b.String()
}

func valueAt(inst any, loc []string) any {
	for _, seg := range loc {
		switch v := inst.(type) {
		case map[string]any:
			inst = v[seg]
		case []any:
			var i int
			if _, err := fmt.Sscan(seg, &i); err != nil || i < 0 || i >= len(v) {
				return nil
			}
			inst = v[i]
		default:
			return nil
		}
	}
	return inst
}

// display renders a value for an error message, cut short when long.
func display(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 80 {
		return string(b[:77]) + "…"
	}
	return string(b)
}

// ratString prints a bound as an integer when it is one.
func ratString(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	return strings.TrimRight(strings.TrimRight(r.FloatString(6), "0"), ".")
}
