package schemas

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// issueTable is the fixed table of issue 3: endpoint id → tool name, in order.
// It pins names clients depend on; it is not a copy of the catalog to keep in step.
var issueTable = []struct{ id, tool string }{
	{"fal-ai/luma-dream-machine/ray-2/modify", "ray2_modify_video"},
	{"fal-ai/wan-vace-14b", "wan_vace_video"},
	{"fal-ai/ltx-video-13b-distilled/multiconditioning", "ltx_multiconditioning_video"},
	{"fal-ai/magi/extend-video", "magi_extend_video"},
	{"fal-ai/pixverse/lipsync", "pixverse_lipsync"},
	{"fal-ai/ffmpeg-api/merge-audio-video", "merge_audio_video"},
	{"fal-ai/pixverse/extend/fast", "pixverse_extend_video_fast"},
	{"fal-ai/fast-animatediff/turbo/video-to-video", "animatediff_video_to_video"},
	{"fal-ai/video-upscaler", "upscale_video"},
	{"fal-ai/amt-interpolation", "interpolate_video_frames"},
}

var (
	endpointIDPattern = regexp.MustCompile(`^fal-ai(/[a-z0-9][a-z0-9.-]*)+$`)
	toolNamePattern   = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
)

// TestIssueToolNamesKept: the tool names of issue 3 are a contract with
// clients. Each endpoint keeps its tool name and the order of the table;
// endpoints added later can come anywhere.
func TestIssueToolNamesKept(t *testing.T) {
	next := 0
	for _, e := range Catalog {
		if next < len(issueTable) && e.ID == issueTable[next].id {
			if e.Tool != issueTable[next].tool {
				t.Errorf("%s is served as %s, want %s", e.ID, e.Tool, issueTable[next].tool)
			}
			next++
		}
	}
	if next != len(issueTable) {
		t.Errorf("endpoint %s (%s) is missing or out of order", issueTable[next].id, issueTable[next].tool)
	}
}

func TestCatalogRows(t *testing.T) {
	tools := map[string]bool{}
	ids := map[string]bool{}
	types := map[reflect.Type]string{}
	for _, e := range Catalog {
		t.Run(e.Tool, func(t *testing.T) {
			if tools[e.Tool] {
				t.Errorf("duplicate tool name %q", e.Tool)
			}
			tools[e.Tool] = true
			if ids[e.ID] {
				t.Errorf("duplicate endpoint id %q", e.ID)
			}
			ids[e.ID] = true
			if !toolNamePattern.MatchString(e.Tool) {
				t.Errorf("tool name %q does not match %s", e.Tool, toolNamePattern)
			}
			if !endpointIDPattern.MatchString(e.ID) {
				t.Errorf("endpoint id %q does not match %s", e.ID, endpointIDPattern)
			}
			if strings.TrimSpace(e.Title) == "" {
				t.Error("empty Title")
			}
			if len(e.Purpose) < 80 {
				t.Errorf("Purpose too short for a model to act on: %q", e.Purpose)
			}
			if strings.Contains(e.Purpose, e.ID) {
				t.Error("Purpose mentions the endpoint id; the tools layer adds it")
			}
			for _, typ := range []reflect.Type{e.Input, e.Output} {
				if typ == nil || typ.Kind() != reflect.Struct {
					t.Fatalf("type %v is not a struct", typ)
				}
				if other, ok := types[typ]; ok {
					t.Errorf("type %v also used by %s", typ, other)
				}
				types[typ] = e.Tool
			}
			if reflect.TypeOf(e.NewInput()) != reflect.PointerTo(e.Input) {
				t.Errorf("NewInput returns %T", e.NewInput())
			}
			if reflect.TypeOf(e.NewOutput()) != reflect.PointerTo(e.Output) {
				t.Errorf("NewOutput returns %T", e.NewOutput())
			}
		})
	}
}

func TestLookup(t *testing.T) {
	for _, e := range Catalog {
		byID, ok := Lookup(e.ID)
		if !ok || byID.Tool != e.Tool {
			t.Errorf("Lookup(%q) = %v, %v", e.ID, byID.Tool, ok)
		}
		byTool, ok := Lookup(e.Tool)
		if !ok || byTool.ID != e.ID {
			t.Errorf("Lookup(%q) = %v, %v", e.Tool, byTool.ID, ok)
		}
	}
	for _, unknown := range []string{"", "fal-ai/nope", "RAY2_MODIFY_VIDEO", "job_status"} {
		if e, ok := Lookup(unknown); ok {
			t.Errorf("Lookup(%q) found %s", unknown, e.ID)
		}
	}
}

// TestStructConventions walks every input and output struct (nested ones
// too) and checks the conventions doc.go promises: required fields carry no
// omitempty, optional fields are left out when unset (omitempty or
// omitzero), optional input scalars are pointers, every field has a JSON name
// and a description.
func TestStructConventions(t *testing.T) {
	check := func(t *testing.T, input bool) func(owner reflect.Type, f reflect.StructField) {
		return func(owner reflect.Type, f reflect.StructField) {
			where := owner.Name() + "." + f.Name
			jsonTag := f.Tag.Get("json")
			parts := strings.Split(jsonTag, ",")
			if parts[0] == "" || parts[0] == "-" {
				t.Errorf("%s: no JSON name", where)
			}
			if f.Tag.Get("jsonschema_description") == "" {
				t.Errorf("%s: no jsonschema_description", where)
			}
			required := strings.Contains(","+f.Tag.Get("jsonschema")+",", ",required,")
			omits := strings.Contains(jsonTag, ",omitempty") || strings.Contains(jsonTag, ",omitzero")
			if required && omits {
				t.Errorf("%s: required but %q", where, jsonTag)
			}
			if !required && !omits {
				t.Errorf("%s: optional but always sent (%q)", where, jsonTag)
			}
			if input && !required {
				switch f.Type.Kind() {
				case reflect.Pointer:
				case reflect.Slice:
					if !strings.Contains(jsonTag, ",omitzero") {
						t.Errorf("%s: optional list should use omitzero so [] is kept", where)
					}
				default:
					t.Errorf("%s: optional input scalar %s should be a pointer", where, f.Type)
				}
			}
		}
	}
	seen := map[reflect.Type]bool{}
	for _, e := range Catalog {
		t.Run(e.Tool, func(t *testing.T) {
			eachField(e.Input, seen, check(t, true))
			eachField(e.Output, seen, check(t, false))
		})
	}
}

// eachField calls fn with every field of typ and of the structs nested in
// it (through pointers and slices), visiting each struct type once.
func eachField(typ reflect.Type, seen map[reflect.Type]bool, fn func(owner reflect.Type, f reflect.StructField)) {
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
		typ = typ.Elem()
	}
	if typ.Kind() != reflect.Struct || seen[typ] {
		return
	}
	seen[typ] = true
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		fn(typ, f)
		eachField(f.Type, seen, fn)
	}
}
