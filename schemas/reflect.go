package schemas

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"

	"github.com/invopop/jsonschema"
)

// InputSchema reflects the JSON Schema of an endpoint's input struct, as the
// tool advertises it and as arguments are validated against it.
func InputSchema(t reflect.Type) (json.RawMessage, error) { return reflectSchema(t) }

// OutputSchema reflects the JSON Schema of an endpoint's output struct.
func OutputSchema(t reflect.Type) (json.RawMessage, error) { return reflectSchema(t) }

// reflectSchema reflects t (a struct type, or a pointer to one) into a
// self-contained JSON Schema: root "type":"object", every nested type inlined
// (no $ref, no $defs), "additionalProperties": false on every object, no
// $schema or $id. The result is checked for those properties and an error is
// returned if any does not hold.
func reflectSchema(t reflect.Type) (json.RawMessage, error) {
	if t == nil {
		return nil, fmt.Errorf("schemas: reflect: nil type")
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("schemas: reflect %s: want a struct type, got %s", t, t.Kind())
	}
	r := &jsonschema.Reflector{
		Anonymous:                  true, // no $id
		DoNotReference:             true, // nested types inline, no $ref/$defs
		ExpandedStruct:             true, // the root is the struct itself, not a $ref to it
		AllowAdditionalProperties:  false,
		RequiredFromJSONSchemaTags: true, // only `jsonschema:"required"` makes a field required
	}
	s := r.ReflectFromType(t)
	s.Version = ""
	s.ID = ""
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("schemas: reflect %s: %w", t, err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("schemas: reflect %s: %w", t, err)
	}
	if doc["type"] != "object" {
		return nil, fmt.Errorf("schemas: reflect %s: root type is %v, want object", t, doc["type"])
	}
	if err := checkSchemaNode(doc, "#"); err != nil {
		return nil, fmt.Errorf("schemas: reflect %s: %w", t, err)
	}
	return raw, nil
}

// checkSchemaNode walks a reflected schema and reports the first place that
// breaks the rules reflectSchema promises.
func checkSchemaNode(node any, path string) error {
	switch n := node.(type) {
	case map[string]any:
		for _, banned := range []string{"$ref", "$defs", "definitions", "$schema", "$id"} {
			if _, ok := n[banned]; ok {
				return fmt.Errorf("%s: has %s", path, banned)
			}
		}
		if n["type"] == "object" {
			if ap, ok := n["additionalProperties"]; !ok || ap != false {
				return fmt.Errorf("%s: object without additionalProperties: false", path)
			}
			props, _ := n["properties"].(map[string]any)
			req, _ := n["required"].([]any)
			for _, name := range req {
				s, _ := name.(string)
				if _, ok := props[s]; !ok {
					return fmt.Errorf("%s: required field %v is not a property", path, name)
				}
			}
		}
		keys := make([]string, 0, len(n))
		for k := range n {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			// Values of default/enum/examples are data, not schemas.
			if k == "default" || k == "enum" || k == "examples" {
				continue
			}
			if err := checkSchemaNode(n[k], path+"/"+k); err != nil {
				return err
			}
		}
	case []any:
		for i, v := range n {
			if err := checkSchemaNode(v, fmt.Sprintf("%s/%d", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}
