package tools

import (
	"bytes"
	"encoding/json"
	"reflect"

	"github.com/fal-video-mcp/fal-video-mcp/schemas"
)

// conformOutput prunes fal's output to the shape of the endpoint's output
// schema, for an output its struct cannot decode: properties the schema
// does not list and null values are dropped, everything else is kept as
// fal sent it (numbers exactly). The structured content then still
// satisfies the schema's additionalProperties: false, which clients
// validate. The schema is the one reflected once for the output type.
func conformOutput(data json.RawMessage, output reflect.Type) json.RawMessage {
	schema, err := schemas.SchemaDoc(output)
	if err != nil {
		return data
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return data
	}
	b, err := json.Marshal(prune(v, schema))
	if err != nil {
		return data
	}
	return b
}

// prune keeps what a schema describes; a schema without properties or
// items leaves the value as it is.
func prune(v any, schema map[string]any) any {
	switch v := v.(type) {
	case map[string]any:
		props, ok := schema["properties"].(map[string]any)
		if !ok {
			return v
		}
		out := make(map[string]any, len(v))
		for k, x := range v {
			sub, ok := props[k].(map[string]any)
			if !ok || x == nil {
				continue
			}
			out[k] = prune(x, sub)
		}
		return out
	case []any:
		items, ok := schema["items"].(map[string]any)
		if !ok {
			return v
		}
		for i, x := range v {
			v[i] = prune(x, items)
		}
		return v
	}
	return v
}
