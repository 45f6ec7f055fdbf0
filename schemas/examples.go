package schemas

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
)

// The example input and output of every endpoint live beside the schemas,
// as examples/<tool>.input.json and examples/<tool>.output.json. They are
// the seed's examples from each endpoint's "5. Schema" section, corrected
// where the seed contradicts itself (see examples/README.md). The tests
// drive each tool with the inputs; dry-run answers with the outputs.
//
//go:embed examples/*.json
var exampleFiles embed.FS

// examplesOf is where a row's example files are.
func (e Endpoint) examplesOf() (fs.FS, string) {
	if e.Examples != nil {
		return e.Examples, ""
	}
	return exampleFiles, "examples/"
}

// ExampleInput is the example input of the endpoint.
func (e Endpoint) ExampleInput() (json.RawMessage, error) { return e.example("input") }

// ExampleOutput is the example output of the endpoint.
func (e Endpoint) ExampleOutput() (json.RawMessage, error) { return e.example("output") }

func (e Endpoint) example(kind string) (json.RawMessage, error) {
	fsys, dir := e.examplesOf()
	name := e.Tool + "." + kind + ".json"
	b, err := fs.ReadFile(fsys, dir+name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("schemas: endpoint %s has no example %s: add schemas/examples/%s (see schemas/doc.go)", e.Tool, kind, name)
	}
	if err != nil {
		return nil, fmt.Errorf("schemas: endpoint %s: example %s: %w", e.Tool, kind, err)
	}
	if t := bytes.TrimSpace(b); !json.Valid(t) || len(t) == 0 || t[0] != '{' {
		return nil, fmt.Errorf("schemas: endpoint %s: examples/%s is not a JSON object", e.Tool, name)
	}
	return b, nil
}

// ExampleInput is the example input of a tool (nil if there is none).
func ExampleInput(tool string) json.RawMessage {
	e, _ := Lookup(tool)
	b, _ := e.ExampleInput()
	return b
}

// ExampleOutput is the example output of a tool (nil if there is none).
func ExampleOutput(tool string) json.RawMessage {
	e, _ := Lookup(tool)
	b, _ := e.ExampleOutput()
	return b
}

// CheckCatalog reports the first row of a catalog that cannot be served:
// a duplicate tool name or endpoint id, a missing input or output type, or
// a missing or malformed example. The package checks Catalog when it is
// loaded and panics with that message, so a forgotten example stops the
// server at start-up instead of a dry run answering {}.
func CheckCatalog(rows []Endpoint) error {
	tools, ids := map[string]bool{}, map[string]bool{}
	for _, e := range rows {
		switch {
		case e.ID == "" || e.Tool == "":
			return fmt.Errorf("schemas: a catalog row has no endpoint id or no tool name: %+v", e)
		case tools[e.Tool]:
			return fmt.Errorf("schemas: two catalog rows name the tool %s", e.Tool)
		case ids[e.ID]:
			return fmt.Errorf("schemas: two catalog rows serve the endpoint %s", e.ID)
		case e.Input == nil || e.Output == nil:
			return fmt.Errorf("schemas: endpoint %s has no input or output type", e.Tool)
		}
		tools[e.Tool], ids[e.ID] = true, true
		for _, kind := range []string{"input", "output"} {
			if _, err := e.example(kind); err != nil {
				return err
			}
		}
	}
	return nil
}

func init() {
	if err := CheckCatalog(Catalog); err != nil {
		panic(err)
	}
}
