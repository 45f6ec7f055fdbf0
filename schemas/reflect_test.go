package schemas

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestSchemaDocIsTheJSON: the document built straight from a reflected
// schema is the one its JSON decodes to, for every catalog type (and the
// tags they use: enums, defaults, ranges, lengths, nested objects and
// lists).
func TestSchemaDocIsTheJSON(t *testing.T) {
	var types []reflect.Type
	for _, row := range Catalog {
		types = append(types, row.Input, row.Output)
	}
	for _, typ := range types {
		s := reflector.ReflectFromType(typ)
		s.Version, s.ID = "", ""
		fast, ok := schemaDoc(s)
		if !ok {
			t.Errorf("%s: schemaDoc does not know a keyword of it: start-up takes the long way", typ)
			continue
		}
		raw, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var slow map[string]any
		if err := json.Unmarshal(raw, &slow); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast, slow) {
			f, _ := json.Marshal(fast)
			t.Errorf("%s:\nbuilt   %s\nfrom JSON %s", typ, f, raw)
		}
	}
}

// TestSchemaDocFallsBack: a keyword schemaDoc does not know sends the
// schema the long way, through JSON, rather than losing it.
func TestSchemaDocFallsBack(t *testing.T) {
	type withPattern struct {
		Code string `json:"code" jsonschema:"pattern=^[a-z]+$"`
	}
	s := reflector.ReflectFromType(reflect.TypeFor[withPattern]())
	if _, ok := schemaDoc(s); ok {
		t.Fatal("schemaDoc took a pattern it does not carry over")
	}
	doc, err := SchemaDoc(reflect.TypeFor[withPattern]())
	if err != nil {
		t.Fatal(err)
	}
	code, _ := doc["properties"].(map[string]any)["code"].(map[string]any)
	if code["pattern"] != "^[a-z]+$" {
		t.Errorf("the pattern is lost: %v", doc)
	}
}
