package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"runtime"
	"sync"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/fal-video-mcp/fal-video-mcp/tools/mediaprobe"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// How every tool is made — endpoint tools, job tools, upload_file and
// probe_media alike: a toolSpec names the tool, its input struct (whose
// schema schemas' one reflector reflects once), the properties added
// beside the struct's own, its output schema, its annotations and its
// handler; build turns it into the mcp.Tool and the validator of its
// arguments.

// property is one input property a tool adds beside its input struct's
// own fields.
type property struct {
	name   string
	schema map[string]any
}

// endpointProperties are the properties every endpoint tool adds beside
// its endpoint's input fields, each described in a few words (many hosts
// never show the model the server's instructions, which say more); the
// endpoint handler takes them out of the arguments before decoding the
// input.
func (s *toolset) endpointProperties() []property {
	return []property{
		s.waitSeconds(DefaultWait, "Seconds to wait for the job to end (0: return at once)."),
		{estimateOnlyProperty, map[string]any{"type": "boolean", "description": "true: estimate the cost only; submit nothing."}},
		{forceNewProperty, map[string]any{"type": "boolean", "description": "true: submit even if an identical recent job exists."}},
	}
}

// waitSeconds is wait_seconds: how long a call waits, capped by the
// server's MaxWait, with a default of its own per tool.
func (s *toolset) waitSeconds(def time.Duration, description string) property {
	maxSeconds := int(s.opts.MaxWait / time.Second)
	return property{waitProperty, map[string]any{
		"type":        "integer",
		"minimum":     0,
		"maximum":     maxSeconds,
		"default":     int(min(def, s.opts.MaxWait) / time.Second),
		"description": description,
	}}
}

// toolSpec is everything a tool is made of.
type toolSpec struct {
	name, title, description string
	// input is the arguments' struct; its reflected schema, plus extra,
	// is the input schema the tool advertises and validates against.
	input reflect.Type
	extra []property
	// output is the output schema (see jobSchema for the Job tools).
	output json.RawMessage
	// The annotations: open-world is always true (every tool speaks to
	// fal or reads media).
	readOnly, destructive, idempotent bool
	// handle serves a call whose arguments the input schema accepted,
	// given them as JSON to decode into the input struct.
	handle func(ctx context.Context, req mcp.CallToolRequest, raw json.RawMessage) *mcp.CallToolResult
	// serve, instead of handle, serves every call itself, validating with
	// the validator build returns (the endpoint tools: their handler
	// checks cross-field rules and resolves media too).
	serve server.ToolHandlerFunc
}

// build makes the tool a spec describes. A schema that cannot be built
// is a programming error: it fails here, at start-up.
func (s *toolset) build(spec toolSpec) (server.ServerTool, *validator, error) {
	doc, err := schemas.SchemaDoc(spec.input)
	if err != nil {
		return server.ServerTool{}, nil, fmt.Errorf("tool %s: %w", spec.name, err)
	}
	if len(spec.extra) > 0 {
		// The reflected document is shared: add to copies.
		doc = maps.Clone(doc)
		props, _ := doc["properties"].(map[string]any)
		props = maps.Clone(props)
		for _, p := range spec.extra {
			if _, clash := props[p.name]; clash {
				return server.ServerTool{}, nil, fmt.Errorf("tool %s: the input has its own %s field", spec.name, p.name)
			}
			props[p.name] = p.schema
		}
		doc["properties"] = props
	}
	in, err := json.Marshal(doc)
	if err != nil {
		return server.ServerTool{}, nil, fmt.Errorf("tool %s: %w", spec.name, err)
	}
	v := newValidator(spec.name, doc)
	v.media = mediaRules{fields: schemas.MediaFields(spec.input), maxSize: s.opts.Files.MaxSize()}
	if s.validators == nil {
		s.validators = map[string]*validator{}
	}
	s.validators[spec.name] = v
	tool := mcp.Tool{
		Name: spec.name, Title: spec.title, Description: spec.description,
		RawInputSchema: in, RawOutputSchema: spec.output,
		Annotations: mcp.ToolAnnotation{
			Title:           spec.title,
			ReadOnlyHint:    mcp.ToBoolPtr(spec.readOnly),
			DestructiveHint: mcp.ToBoolPtr(spec.destructive),
			IdempotentHint:  mcp.ToBoolPtr(spec.idempotent),
			OpenWorldHint:   mcp.ToBoolPtr(true),
		},
	}
	handler := spec.serve
	if handler == nil {
		name, handle := spec.name, spec.handle
		handler = func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			args := req.GetArguments()
			if err := v.check(args); err != nil {
				return mcp.NewToolResultError(fmt.Sprintf("%s: %v", name, err)), nil
			}
			raw, err := json.Marshal(orEmpty(args))
			if err != nil {
				return mcp.NewToolResultError(fmt.Sprintf("%s: arguments do not encode as JSON: %v", name, err)), nil
			}
			return handle(ctx, req, raw), nil
		}
	}
	return server.ServerTool{Tool: tool, Handler: handler}, v, nil
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// terseSchema is the output schema of a tool whose description says what
// its output's fields are: their names and types, without descriptions.
func terseSchema(output reflect.Type) (json.RawMessage, error) {
	doc, err := schemas.SchemaDoc(output)
	if err != nil {
		return nil, err
	}
	return json.Marshal(terse(doc, -1))
}

// Prewarm reflects the tools' schemas ahead of NewServer, which then finds
// them ready: a caller with other start-up work (opening the ledger, say)
// runs it alongside. Safe to call at any time, any number of times.
func Prewarm() { prereflect() }

// prereflect reflects the schemas of every type the tools are built from,
// on every core at once, before the tools are built one by one from the
// schemas' cache: start-up is a client's wait.
func prereflect() {
	types := []reflect.Type{reflect.TypeFor[Job](), reflect.TypeFor[jobStatusArgs](), reflect.TypeFor[jobResultArgs](),
		reflect.TypeFor[jobRef](), reflect.TypeFor[jobListArgs](), reflect.TypeFor[uploadArgs](), reflect.TypeFor[uploaded](),
		reflect.TypeFor[probeArgs](), reflect.TypeFor[mediaprobe.Info]()}
	for _, row := range schemas.Catalog {
		types = append(types, row.Input, row.Output)
	}
	var wg sync.WaitGroup
	next := make(chan reflect.Type, len(types))
	for _, t := range types {
		next <- t
	}
	close(next)
	for range min(runtime.GOMAXPROCS(0), len(types)) {
		wg.Go(func() {
			for t := range next {
				_, _ = schemas.SchemaDoc(t) // an error is reported where the tool is built
			}
		})
	}
	wg.Wait()
}
