package schemas

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"sync"

	"github.com/invopop/jsonschema"
)

// InputSchema reflects the JSON Schema of an endpoint's input struct, as the
// tool advertises it and as arguments are validated against it.
func InputSchema(t reflect.Type) (json.RawMessage, error) {
	r, err := reflected(t)
	return r.raw, err
}

// OutputSchema reflects the JSON Schema of an endpoint's output struct.
func OutputSchema(t reflect.Type) (json.RawMessage, error) {
	r, err := reflected(t)
	return r.raw, err
}

// SchemaDoc is the schema of t (InputSchema, OutputSchema) as a decoded
// document. It is shared: callers read it and never change it (copy a map
// before adding to it).
func SchemaDoc(t reflect.Type) (map[string]any, error) {
	r, err := reflected(t)
	return r.doc, err
}

// reflector is the one reflector of every schema the server advertises.
var reflector = &jsonschema.Reflector{
	Anonymous:                  true, // no $id
	DoNotReference:             true, // nested types inline, no $ref/$defs
	ExpandedStruct:             true, // the root is the struct itself, not a $ref to it
	AllowAdditionalProperties:  false,
	RequiredFromJSONSchemaTags: true, // only `jsonschema:"required"` makes a field required
}

// reflection is a type's schema, reflected once.
type reflection struct {
	raw json.RawMessage
	doc map[string]any
	err error
}

// cache holds each type's reflection: a schema is reflected once per
// process however many tools or calls use it.
var cache sync.Map // reflect.Type → *reflection

func reflected(t reflect.Type) (*reflection, error) {
	if t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return &reflection{}, fmt.Errorf("schemas: reflect: nil type")
	}
	if r, ok := cache.Load(t); ok {
		r := r.(*reflection)
		return r, r.err
	}
	r := &reflection{}
	r.raw, r.doc, r.err = reflectSchema(t)
	if r.err != nil {
		r.raw, r.doc = nil, nil
	}
	actual, _ := cache.LoadOrStore(t, r)
	r = actual.(*reflection)
	return r, r.err
}

// reflectSchema reflects t (a struct type) into a self-contained JSON
// Schema: root "type":"object", every nested type inlined (no $ref, no
// $defs), "additionalProperties": false on every object, no $schema or
// $id. The result is checked for those properties and an error is
// returned if any does not hold.
func reflectSchema(t reflect.Type) (json.RawMessage, map[string]any, error) {
	if t.Kind() != reflect.Struct {
		return nil, nil, fmt.Errorf("schemas: reflect %s: want a struct type, got %s", t, t.Kind())
	}
	s := reflector.ReflectFromType(t)
	s.Version = ""
	s.ID = ""
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, nil, fmt.Errorf("schemas: reflect %s: %w", t, err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, nil, fmt.Errorf("schemas: reflect %s: %w", t, err)
	}
	if doc["type"] != "object" {
		return nil, nil, fmt.Errorf("schemas: reflect %s: root type is %v, want object", t, doc["type"])
	}
	if err := checkSchemaNode(doc, "#"); err != nil {
		return nil, nil, fmt.Errorf("schemas: reflect %s: %w", t, err)
	}
	return raw, doc, nil
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
