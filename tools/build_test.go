package tools

import (
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
)

// TestEveryInputSchemaCompiles: validators compile on a tool's first
// call, so this compiles every tool's input schema here, where a schema
// that does not compile fails CI rather than a user's call.
func TestEveryInputSchemaCompiles(t *testing.T) {
	fal, err := falqueue.New(falqueue.Config{Key: "id:secret"})
	if err != nil {
		t.Fatal(err)
	}
	s := &toolset{opts: Options{MaxWait: DefaultMaxWait, Fal: fal}, endpoints: map[string]*endpointTool{}}
	tools, err := s.allTools()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.validators) != len(tools) {
		t.Fatalf("%d validators for %d tools", len(s.validators), len(tools))
	}
	for name, v := range s.validators {
		if _, err := v.compile(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A schema that does not compile is reported, not panicked on.
	bad := newValidator("bad", map[string]any{"type": "object", "minProperties": "many"})
	if err := bad.check(map[string]any{}); err == nil {
		t.Error("a schema that does not compile: no error")
	}
}
