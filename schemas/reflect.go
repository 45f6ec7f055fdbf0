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
	if err != nil {
		return nil, err
	}
	return r.json()
}

// OutputSchema reflects the JSON Schema of an endpoint's output struct.
func OutputSchema(t reflect.Type) (json.RawMessage, error) {
	r, err := reflected(t)
	if err != nil {
		return nil, err
	}
	return r.json()
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

// reflection is a type's schema, reflected once; its JSON is encoded on
// first use.
type reflection struct {
	doc     map[string]any
	err     error
	rawOnce sync.Once
	raw     json.RawMessage
}

func (r *reflection) json() (json.RawMessage, error) {
	if r.err != nil {
		return nil, r.err
	}
	r.rawOnce.Do(func() { r.raw, r.err = json.Marshal(r.doc) })
	return r.raw, r.err
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
	r.doc, r.err = reflectSchema(t)
	if r.err != nil {
		r.doc = nil
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
func reflectSchema(t reflect.Type) (map[string]any, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("schemas: reflect %s: want a struct type, got %s", t, t.Kind())
	}
	s := reflector.ReflectFromType(t)
	s.Version = ""
	s.ID = ""
	doc, ok := schemaDoc(s)
	if !ok {
		// A keyword schemaDoc does not know: the long way, through JSON.
		raw, err := json.Marshal(s)
		if err != nil {
			return nil, fmt.Errorf("schemas: reflect %s: %w", t, err)
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			return nil, fmt.Errorf("schemas: reflect %s: %w", t, err)
		}
	}
	if doc["type"] != "object" {
		return nil, fmt.Errorf("schemas: reflect %s: root type is %v, want object", t, doc["type"])
	}
	if err := checkSchemaNode(doc, "#"); err != nil {
		return nil, fmt.Errorf("schemas: reflect %s: %w", t, err)
	}
	return doc, nil
}

// schemaDoc is a reflected schema as the document its JSON decodes to
// (numbers float64), built without the JSON: encoding invopop's schemas
// is most of the cost of reflecting them. It knows the keywords struct
// tags give; for a schema with any other it reports false.
func schemaDoc(s *jsonschema.Schema) (map[string]any, bool) {
	if s == nil {
		return nil, false
	}
	known := jsonschema.Schema{Properties: s.Properties, Items: s.Items, AdditionalProperties: s.AdditionalProperties,
		Type: s.Type, Enum: s.Enum, MultipleOf: s.MultipleOf, Maximum: s.Maximum, ExclusiveMaximum: s.ExclusiveMaximum,
		Minimum: s.Minimum, ExclusiveMinimum: s.ExclusiveMinimum, MaxLength: s.MaxLength, MinLength: s.MinLength,
		MaxItems: s.MaxItems, MinItems: s.MinItems, UniqueItems: s.UniqueItems, Required: s.Required, Format: s.Format,
		Title: s.Title, Description: s.Description, Default: s.Default}
	if !reflect.DeepEqual(*s, known) {
		return nil, false
	}
	doc := map[string]any{}
	if s.Properties != nil {
		props := map[string]any{}
		for pair := s.Properties.Oldest(); pair != nil; pair = pair.Next() {
			p, ok := schemaDoc(pair.Value)
			if !ok {
				return nil, false
			}
			props[pair.Key] = p
		}
		doc["properties"] = props
	}
	if s.Items != nil {
		items, ok := schemaDoc(s.Items)
		if !ok {
			return nil, false
		}
		doc["items"] = items
	}
	switch s.AdditionalProperties {
	case nil:
	case jsonschema.FalseSchema:
		doc["additionalProperties"] = false
	case jsonschema.TrueSchema:
		doc["additionalProperties"] = true
	default:
		return nil, false
	}
	str := func(k, v string) {
		if v != "" {
			doc[k] = v
		}
	}
	str("type", s.Type)
	str("format", s.Format)
	str("title", s.Title)
	str("description", s.Description)
	for k, n := range map[string]json.Number{"multipleOf": s.MultipleOf, "maximum": s.Maximum, "exclusiveMaximum": s.ExclusiveMaximum,
		"minimum": s.Minimum, "exclusiveMinimum": s.ExclusiveMinimum} {
		if n != "" {
			f, err := n.Float64()
			if err != nil {
				return nil, false
			}
			doc[k] = f
		}
	}
	for k, n := range map[string]*uint64{"maxLength": s.MaxLength, "minLength": s.MinLength, "maxItems": s.MaxItems, "minItems": s.MinItems} {
		if n != nil {
			doc[k] = float64(*n)
		}
	}
	if s.UniqueItems {
		doc["uniqueItems"] = true
	}
	if s.Required != nil {
		req := make([]any, len(s.Required))
		for i, r := range s.Required {
			req[i] = r
		}
		doc["required"] = req
	}
	if s.Enum != nil {
		enum := make([]any, len(s.Enum))
		for i, e := range s.Enum {
			v, ok := jsonValue(e)
			if !ok {
				return nil, false
			}
			enum[i] = v
		}
		doc["enum"] = enum
	}
	if s.Default != nil {
		v, ok := jsonValue(s.Default)
		if !ok {
			return nil, false
		}
		doc["default"] = v
	}
	return doc, true
}

// jsonValue is a tag's value (a default, an enum value) as JSON decodes
// it; false for anything but a string, bool or number.
func jsonValue(v any) (any, bool) {
	switch x := v.(type) {
	case string, bool:
		return x, true
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case uint:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return nil, false
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
