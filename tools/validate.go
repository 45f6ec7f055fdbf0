package tools

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// validator checks arguments against the very schema a tool advertises.
//
// It knows the keywords the reflected schemas use (schemas.InputSchema,
// plus the properties the tool builder adds) and refuses, when the tool
// is built, a schema with any other: it never skips a rule. It is ours
// rather than a general JSON Schema library because such a library costs
// start-up (santhosh-tekuri/jsonschema compiles every draft's
// meta-schema at init, ~10 ms, a third of a bare mcp-go server's
// start-up); a test holds its verdicts to that library's.
type validator struct {
	name string
	doc  map[string]any // the schema as a document, also to name allowed values
}

// schemaKeywords are the keywords the validator enforces; annotations
// are the ones that say something to the reader and nothing to check.
var (
	schemaKeywords = map[string]bool{"type": true, "properties": true, "required": true, "additionalProperties": true,
		"items": true, "enum": true, "minimum": true, "maximum": true, "exclusiveMinimum": true, "exclusiveMaximum": true,
		"multipleOf": true, "minLength": true, "maxLength": true, "minItems": true, "maxItems": true, "uniqueItems": true}
	annotations = map[string]bool{"description": true, "default": true, "title": true, "examples": true, "$comment": true}
)

func newValidator(name string, doc map[string]any) (*validator, error) {
	if err := checkKeywords(doc, "#"); err != nil {
		return nil, fmt.Errorf("tool %s: input schema: %w", name, err)
	}
	return &validator{name: name, doc: doc}, nil
}

// checkKeywords refuses a schema with a keyword the validator does not
// enforce, or a sub-schema that is not an object.
func checkKeywords(s map[string]any, at string) error {
	for k, x := range s {
		switch {
		case annotations[k]:
		case !schemaKeywords[k]:
			return fmt.Errorf("%s: keyword %s is not supported by the validator", at, k)
		case k == "properties":
			props, ok := x.(map[string]any)
			if !ok {
				return fmt.Errorf("%s/properties: not an object", at)
			}
			for name, p := range props {
				sub, ok := p.(map[string]any)
				if !ok {
					return fmt.Errorf("%s/properties/%s: not a schema", at, name)
				}
				if err := checkKeywords(sub, at+"/properties/"+name); err != nil {
					return err
				}
			}
		case k == "items":
			sub, ok := x.(map[string]any)
			if !ok {
				return fmt.Errorf("%s/items: not a schema", at)
			}
			if err := checkKeywords(sub, at+"/items"); err != nil {
				return err
			}
		case k == "additionalProperties":
			if x != false {
				return fmt.Errorf("%s: additionalProperties other than false is not supported by the validator", at)
			}
		}
	}
	return nil
}

// check validates arguments as the client's JSON decoded them (a map of
// JSON values); the error lists every problem as
// "field: got <value> — <what is allowed>".
func (v *validator) check(args map[string]any) error {
	var inst any = args
	if args == nil {
		inst = map[string]any{}
	}
	var msgs []string
	v.validate(v.doc, inst, nil, &msgs)
	if len(msgs) == 0 {
		return nil
	}
	sort.Strings(msgs)
	msgs = dedupe(msgs)
	return fmt.Errorf("invalid arguments:\n- %s", strings.Join(msgs, "\n- "))
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

// jsonType names a JSON value's type as JSON Schema does ("integer" is
// a number's refinement, never reported as the type it has).
func jsonType(x any) string {
	switch x.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	if _, ok := number(x); ok {
		return "number"
	}
	return fmt.Sprintf("%T", x)
}

// number is a JSON number as a float64 (the client's JSON decodes
// numbers so; Go callers may pass ints).
func number(x any) (float64, bool) {
	switch n := x.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func isInteger(f float64) bool { return f == math.Trunc(f) && !math.IsInf(f, 0) }

// types lists a schema's "type" (a name or a list of names).
func types(s map[string]any) []string {
	switch t := s["type"].(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			if n, ok := x.(string); ok {
				out = append(out, n)
			}
		}
		return out
	}
	return nil
}

// validate checks inst against the schema s at location loc, adding one
// message per problem; a value of the wrong type gets that message only.
func (v *validator) validate(s map[string]any, inst any, loc []string, msgs *[]string) {
	field := fieldPath(loc)
	if want := types(s); len(want) > 0 {
		have := jsonType(inst)
		ok := slices.Contains(want, have)
		if !ok && have == "number" && slices.Contains(want, "integer") {
			f, _ := number(inst)
			ok = isInteger(f)
		}
		if !ok {
			*msgs = append(*msgs, fmt.Sprintf("%s: got %s (%s) — must be %s", field, display(inst), have, strings.Join(want, " or ")))
			return
		}
	}
	if enum, ok := s["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return jsonEqualValues(e, inst) }) {
		var want []string
		for _, w := range enum {
			want = append(want, display(w))
		}
		*msgs = append(*msgs, fmt.Sprintf("%s: got %s — allowed one of %s", field, display(inst), strings.Join(want, ", ")))
	}
	switch x := inst.(type) {
	case map[string]any:
		v.validateObject(s, x, loc, msgs)
	case []any:
		if n, ok := number(s["minItems"]); ok && float64(len(x)) < n {
			*msgs = append(*msgs, fmt.Sprintf("%s: got %d items — must have at least %s", field, len(x), numString(n)))
		}
		if n, ok := number(s["maxItems"]); ok && float64(len(x)) > n {
			*msgs = append(*msgs, fmt.Sprintf("%s: got %d items — must have at most %s", field, len(x), numString(n)))
		}
		if s["uniqueItems"] == true {
			for i := range x {
				for j := i + 1; j < len(x); j++ {
					if jsonEqualValues(x[i], x[j]) {
						*msgs = append(*msgs, fmt.Sprintf("%s: got %s — items at %d and %d are equal", field, display(inst), i, j))
					}
				}
			}
		}
		if items, ok := s["items"].(map[string]any); ok {
			for i, item := range x {
				v.validate(items, item, append(slices.Clone(loc), strconv.Itoa(i)), msgs)
			}
		}
	case string:
		n := utf8.RuneCountInString(x)
		if min, ok := number(s["minLength"]); ok && float64(n) < min {
			*msgs = append(*msgs, fmt.Sprintf("%s: got %s (%d characters) — must have at least %s", field, display(inst), n, numString(min)))
		}
		if max, ok := number(s["maxLength"]); ok && float64(n) > max {
			*msgs = append(*msgs, fmt.Sprintf("%s: got %d characters — must have at most %s", field, n, numString(max)))
		}
	default:
		f, ok := number(inst)
		if !ok {
			return
		}
		note := v.rangeNote(loc)
		if min, ok := number(s["minimum"]); ok && f < min {
			*msgs = append(*msgs, fmt.Sprintf("%s: got %s — must be at least %s%s", field, display(inst), numString(min), note))
		}
		if max, ok := number(s["maximum"]); ok && f > max {
			*msgs = append(*msgs, fmt.Sprintf("%s: got %s — must be at most %s%s", field, display(inst), numString(max), note))
		}
		if min, ok := number(s["exclusiveMinimum"]); ok && f <= min {
			*msgs = append(*msgs, fmt.Sprintf("%s: got %s — must be more than %s", field, display(inst), numString(min)))
		}
		if max, ok := number(s["exclusiveMaximum"]); ok && f >= max {
			*msgs = append(*msgs, fmt.Sprintf("%s: got %s — must be less than %s", field, display(inst), numString(max)))
		}
		if m, ok := number(s["multipleOf"]); ok && m > 0 && !isInteger(f/m) {
			*msgs = append(*msgs, fmt.Sprintf("%s: got %s — must be a multiple of %s%s", field, display(inst), numString(m), note))
		}
	}
}

func (v *validator) validateObject(s map[string]any, x map[string]any, loc []string, msgs *[]string) {
	props, _ := s["properties"].(map[string]any)
	if req, ok := s["required"].([]any); ok {
		var missing []string
		for _, r := range req {
			name, _ := r.(string)
			if _, ok := x[name]; !ok {
				missing = append(missing, fieldPath(append(slices.Clone(loc), name)))
			}
		}
		if len(missing) > 0 {
			*msgs = append(*msgs, fmt.Sprintf("%s: missing — this field is required", strings.Join(missing, ", ")))
		}
	}
	var unknown []string
	for _, name := range slices.Sorted(maps.Keys(x)) {
		sub, ok := props[name].(map[string]any)
		if !ok {
			unknown = append(unknown, fieldPath(append(slices.Clone(loc), name)))
			continue
		}
		v.validate(sub, x[name], append(slices.Clone(loc), name), msgs)
	}
	if len(unknown) > 0 && s["additionalProperties"] == false {
		*msgs = append(*msgs, fmt.Sprintf("%s: unknown field — allowed fields: %s", strings.Join(unknown, ", "), strings.Join(v.propertyNames(loc), ", ")))
	}
}

// jsonEqualValues compares two JSON values, numbers by value.
func jsonEqualValues(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	return reflect.DeepEqual(a, b)
}

// numString prints a bound as an integer when it is one.
func numString(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

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
