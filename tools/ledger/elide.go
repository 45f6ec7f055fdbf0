package ledger

import (
	"encoding/json"
	"fmt"
	"strings"
)

// ElideDataURIs returns input with every data: URI string replaced by a
// short note of its media type and size: the ledger keeps what was sent,
// not megabytes of base64. Input that is not JSON is returned as it is.
func ElideDataURIs(input json.RawMessage) json.RawMessage {
	if !strings.Contains(string(input), `"data:`) {
		return input
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(string(input)))
	dec.UseNumber() // keep numbers exactly as sent
	if err := dec.Decode(&v); err != nil {
		return input
	}
	out, err := json.Marshal(elide(v))
	if err != nil {
		return input
	}
	return out
}

func elide(v any) any {
	switch v := v.(type) {
	case string:
		if rest, ok := strings.CutPrefix(v, "data:"); ok {
			mediaType, _, _ := strings.Cut(rest, ",")
			mediaType = strings.TrimSuffix(mediaType, ";base64")
			return fmt.Sprintf("data:%s;elided (%d bytes)", mediaType, len(v))
		}
		return v
	case []any:
		for i := range v {
			v[i] = elide(v[i])
		}
		return v
	case map[string]any:
		for k := range v {
			v[k] = elide(v[k])
		}
		return v
	}
	return v
}
