package schemas

import (
	"embed"
	"encoding/json"
)

// The seed's example input and output of every endpoint, by tool name:
// the tests drive each tool with them, and dry-run answers with the
// outputs.
//
//go:embed testdata/examples/*.json
var examples embed.FS

// ExampleInput is the seed's example input of a tool (nil if none).
func ExampleInput(tool string) json.RawMessage { return example(tool + ".input.json") }

// ExampleOutput is the seed's example output of a tool (nil if none).
func ExampleOutput(tool string) json.RawMessage { return example(tool + ".output.json") }

func example(name string) json.RawMessage {
	b, err := examples.ReadFile("testdata/examples/" + name)
	if err != nil {
		return nil
	}
	return b
}
