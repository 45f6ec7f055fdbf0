package tools

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestValidatorAgreesWithJSONSchema: for every endpoint tool's input
// schema and arguments made to break each of its rules in turn (and to
// keep them), our validator accepts exactly what a full JSON Schema
// validator (santhosh-tekuri/jsonschema, draft 2020-12) accepts.
func TestValidatorAgreesWithJSONSchema(t *testing.T) {
	s := &toolset{opts: Options{MaxWait: DefaultMaxWait}}
	for _, row := range schemas.Catalog {
		_, v, err := s.build(toolSpec{name: row.Tool, input: row.Input, extra: s.endpointProperties()})
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(v.doc)
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource("mem://in.json", doc); err != nil {
			t.Fatal(err)
		}
		full, err := c.Compile("mem://in.json")
		if err != nil {
			t.Fatalf("%s: %v", row.Tool, err)
		}
		cases := argumentCases(v.doc)
		if len(cases) < 10 {
			t.Fatalf("%s: only %d cases", row.Tool, len(cases))
		}
		for _, args := range cases {
			b, _ := json.Marshal(args)
			var decoded map[string]any // as a client's JSON arrives
			_ = json.Unmarshal(b, &decoded)
			inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			want := full.Validate(inst) == nil
			err := v.check(decoded)
			if got := err == nil; got != want {
				t.Errorf("%s %s: ours accepts %v (%v), JSON Schema accepts %v", row.Tool, b, got, err, want)
			}
		}
	}
}

// argumentCases are a valid argument set (every field at a valid value)
// and, for each field, sets that break one of its rules.
func argumentCases(doc map[string]any) []map[string]any {
	base, _ := validValue(doc).(map[string]any)
	cases := []map[string]any{base, {}, {"not_a_field": 1}}
	props, _ := doc["properties"].(map[string]any)
	for _, name := range slices.Sorted(maps.Keys(props)) {
		for _, bad := range variants(props[name].(map[string]any)) {
			c := maps.Clone(base)
			c[name] = bad
			cases = append(cases, c)
		}
		c := maps.Clone(base)
		delete(c, name)
		cases = append(cases, c)
	}
	return cases
}

// validValue is a value the schema accepts: its default, its first enum
// value, or a value in range.
func validValue(s map[string]any) any {
	if d, ok := s["default"]; ok {
		return d
	}
	if e, ok := s["enum"].([]any); ok {
		return e[0]
	}
	switch s["type"] {
	case "object":
		out := map[string]any{}
		props, _ := s["properties"].(map[string]any)
		for name, p := range props {
			out[name] = validValue(p.(map[string]any))
		}
		return out
	case "array":
		if items, ok := s["items"].(map[string]any); ok {
			return []any{validValue(items)}
		}
		return []any{}
	case "string":
		return "https://x/a.mp4"
	case "boolean":
		return true
	case "integer", "number":
		if m, ok := s["minimum"].(float64); ok {
			return m
		}
		return 1.0
	}
	return nil
}

// variants are values around a schema's rules: other types, the bounds
// and just beyond, non-multiples, strings and lists of every size near
// their limits, and, inside objects and lists, their items' variants.
func variants(s map[string]any) []any {
	out := []any{nil, "x", "", 1.0, 1.5, -1.0, true, []any{}, map[string]any{}, 1e6}
	for _, k := range []string{"minimum", "maximum", "multipleOf"} {
		if n, ok := s[k].(float64); ok {
			out = append(out, n, n-1, n+1, n-0.5, n+0.5, n*2, n/2)
		}
	}
	if e, ok := s["enum"].([]any); ok {
		out = append(out, e...)
		out = append(out, fmt.Sprint(e[0])+"x")
	}
	for _, k := range []string{"minLength", "maxLength"} {
		if n, ok := s[k].(float64); ok {
			for _, l := range []int{int(n) - 1, int(n), int(n) + 1} {
				if l >= 0 {
					out = append(out, string(bytes.Repeat([]byte("é"), l)))
				}
			}
		}
	}
	if items, ok := s["items"].(map[string]any); ok {
		good := validValue(items)
		out = append(out, []any{good, good}, []any{good, good, good, good, good})
		for _, bad := range variants(items) {
			out = append(out, []any{good, bad})
		}
	}
	if s["type"] == "object" {
		base, _ := validValue(s).(map[string]any)
		props, _ := s["properties"].(map[string]any)
		for _, name := range slices.Sorted(maps.Keys(props)) {
			for _, bad := range variants(props[name].(map[string]any))[:10] {
				c := maps.Clone(base)
				c[name] = bad
				out = append(out, c)
			}
			c := maps.Clone(base)
			delete(c, name)
			out = append(out, c)
		}
		c := maps.Clone(base)
		c["not_a_field"] = 1
		out = append(out, c)
	}
	return out
}

// TestValidatorRefusesUnknownKeywords: a schema with a rule the validator
// does not enforce fails when the tool is built, never skipped.
func TestValidatorRefusesUnknownKeywords(t *testing.T) {
	for _, doc := range []map[string]any{
		{"type": "object", "properties": map[string]any{"a": map[string]any{"type": "string", "pattern": "^x"}}},
		{"type": "object", "oneOf": []any{}},
		{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
		{"type": "object", "properties": map[string]any{"a": map[string]any{"type": "array", "items": map[string]any{"format": "uri"}}}},
	} {
		if _, err := newValidator("t", doc); err == nil {
			t.Errorf("%v: accepted", doc)
		}
	}
}
