package schemas

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// reflectedSchemas returns the parsed input and output schema of a row.
func reflectedSchemas(t *testing.T, e Endpoint) (in, out map[string]any) {
	t.Helper()
	parse := func(raw json.RawMessage, err error) map[string]any {
		t.Helper()
		if err != nil {
			t.Fatalf("reflect: %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("reflected schema is not a JSON object: %v\n%s", err, raw)
		}
		return m
	}
	return parse(InputSchema(e.Input)), parse(OutputSchema(e.Output))
}

func TestSchemasReflect(t *testing.T) {
	for _, e := range Catalog {
		t.Run(e.Tool, func(t *testing.T) {
			in, out := reflectedSchemas(t, e)
			for name, s := range map[string]map[string]any{"input": in, "output": out} {
				if s["type"] != "object" {
					t.Errorf("%s: root type %v, want object", name, s["type"])
				}
				if _, ok := s["properties"].(map[string]any); !ok {
					t.Errorf("%s: root has no properties", name)
				}
				for _, p := range auditSchema(s, "#") {
					t.Errorf("%s: %s", name, p)
				}
			}
			// Every required field of the struct is required in the schema.
			req := stringSet(in["required"])
			for _, name := range requiredJSONFields(e.Input) {
				if !req[name] {
					t.Errorf("input: struct field %q is required but not in schema required %v", name, in["required"])
				}
			}
		})
	}
}

// auditSchema independently re-checks what InputSchema promises: no $ref or
// $defs anywhere, no $schema/$id, additionalProperties false on every object,
// every required name among the properties, integers as "integer".
func auditSchema(node any, path string) []string {
	var problems []string
	switch n := node.(type) {
	case map[string]any:
		for _, k := range []string{"$ref", "$defs", "definitions", "$schema", "$id"} {
			if _, ok := n[k]; ok {
				problems = append(problems, path+": has "+k)
			}
		}
		if n["type"] == "object" {
			if n["additionalProperties"] != false {
				problems = append(problems, path+": additionalProperties is not false")
			}
			props, _ := n["properties"].(map[string]any)
			for name := range stringSet(n["required"]) {
				if _, ok := props[name]; !ok {
					problems = append(problems, fmt.Sprintf("%s: required %q not in properties", path, name))
				}
			}
			for name, p := range props {
				problems = append(problems, auditSchema(p, path+"/properties/"+name)...)
			}
		}
		if items, ok := n["items"]; ok {
			problems = append(problems, auditSchema(items, path+"/items")...)
		}
		if _, ok := n["type"]; !ok {
			problems = append(problems, path+": no type")
		}
	default:
		problems = append(problems, fmt.Sprintf("%s: schema is %T", path, node))
	}
	return problems
}

func stringSet(v any) map[string]bool {
	set := map[string]bool{}
	list, _ := v.([]any)
	for _, x := range list {
		if s, ok := x.(string); ok {
			set[s] = true
		}
	}
	return set
}

func requiredJSONFields(typ reflect.Type) []string {
	var names []string
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if strings.Contains(","+f.Tag.Get("jsonschema")+",", ",required,") {
			names = append(names, strings.Split(f.Tag.Get("json"), ",")[0])
		}
	}
	return names
}

func TestReflectRejectsNonStructs(t *testing.T) {
	for _, typ := range []reflect.Type{nil, reflect.TypeFor[int](), reflect.TypeFor[[]File](), reflect.TypeFor[map[string]any]()} {
		if _, err := InputSchema(typ); err == nil {
			t.Errorf("InputSchema(%v): no error", typ)
		}
	}
	if _, err := InputSchema(reflect.TypeFor[*VideoUpscalerInput]()); err != nil {
		t.Errorf("pointer to struct: %v", err)
	}
}

func TestReflectFailsOnOpenObject(t *testing.T) {
	type withMap struct {
		Extra map[string]string `json:"extra" jsonschema_description:"free-form"`
	}
	if _, err := InputSchema(reflect.TypeFor[withMap]()); err == nil {
		t.Error("a map field (an object without additionalProperties: false) was accepted")
	}
}

// TestSchemaSpotChecks compares keywords of single properties against the
// seed (and fal-endpoints.json where the seed is silent).
func TestSchemaSpotChecks(t *testing.T) {
	tests := []struct {
		tool, path string // path: property names separated by "/", "[]" for array items
		want       map[string]any
	}{
		{"wan_vace_video", "num_frames", map[string]any{"type": "integer", "minimum": 81, "maximum": 241, "default": 81}},
		{"wan_vace_video", "frames_per_second", map[string]any{"minimum": 5, "maximum": 30, "default": 16}},
		{"wan_vace_video", "task", map[string]any{"enum": []any{"depth", "pose", "inpainting", "outpainting", "reframe"}, "default": "depth"}},
		{"wan_vace_video", "resolution", map[string]any{"enum": []any{"480p", "580p", "720p"}, "default": "720p"}},
		{"wan_vace_video", "guidance_scale", map[string]any{"type": "number", "default": 5}},
		{"wan_vace_video", "ref_image_urls", map[string]any{"type": "array"}},
		{"wan_vace_video", "acceleration", map[string]any{"enum": []any{"none", "regular"}}},
		{"magi_extend_video", "num_frames", map[string]any{"type": "integer", "minimum": 96, "maximum": 192, "default": 96}},
		{"magi_extend_video", "num_inference_steps", map[string]any{"type": "integer", "enum": []any{4, 8, 16, 32, 64}, "default": 16}},
		{"magi_extend_video", "enable_safety_checker", map[string]any{"type": "boolean", "default": true}},
		{"ray2_modify_video", "mode", map[string]any{"default": "flex_1", "enum": []any{"adhere_1", "adhere_2", "adhere_3", "flex_1", "flex_2", "flex_3", "reimagine_1", "reimagine_2", "reimagine_3"}}},
		{"ray2_modify_video", "prompt", map[string]any{"minLength": 3, "maxLength": 5000}},
		{"ltx_multiconditioning_video", "num_frames", map[string]any{"default": 121, "minimum": 9, "maximum": 161}},
		{"ltx_multiconditioning_video", "negative_prompt", map[string]any{"default": "worst quality, inconsistent motion, blurry, jittery, distorted"}},
		{"ltx_multiconditioning_video", "images/[]/start_frame_num", map[string]any{"multipleOf": 8, "minimum": 0, "default": 0}},
		{"ltx_multiconditioning_video", "videos/[]/conditioning_type", map[string]any{"enum": []any{"rgb", "depth", "pose", "canny"}, "default": "rgb"}},
		{"ltx_multiconditioning_video", "loras/[]/scale", map[string]any{"type": "number", "default": 1}},
		{"pixverse_lipsync", "voice_id", map[string]any{"default": "Auto"}},
		{"pixverse_extend_video_fast", "style", map[string]any{"enum": []any{"anime", "3d_animation", "day", "cyberpunk", "comic"}}},
		{"pixverse_extend_video_fast", "resolution", map[string]any{"enum": []any{"360p", "540p", "720p"}, "default": "720p"}},
		{"pixverse_extend_video_fast", "model", map[string]any{"enum": []any{"v3.5", "v4", "v4.5"}, "default": "v4.5"}},
		{"pixverse_extend_video_fast", "negative_prompt", map[string]any{"default": ""}},
		{"merge_audio_video", "start_offset", map[string]any{"type": "number", "minimum": 0}},
		{"animatediff_video_to_video", "negative_prompt", map[string]any{"default": "(bad quality, worst quality:1.2), ugly faces, bad anime"}},
		{"animatediff_video_to_video", "strength", map[string]any{"type": "number", "default": 0.7, "minimum": 0.1, "maximum": 1}},
		{"animatediff_video_to_video", "motions", map[string]any{"uniqueItems": true}},
		{"animatediff_video_to_video", "motions/[]", map[string]any{"enum": []any{"zoom-out", "zoom-in", "pan-left", "pan-right", "tilt-up", "tilt-down"}}},
		{"upscale_video", "scale", map[string]any{"type": "number", "default": 2, "minimum": 1, "maximum": 8}},
		{"interpolate_video_frames", "output_fps", map[string]any{"default": 24}},
		{"interpolate_video_frames", "recursive_interpolation_passes", map[string]any{"default": 2}},
	}
	for _, tc := range tests {
		t.Run(tc.tool+"/"+tc.path, func(t *testing.T) {
			e, ok := Lookup(tc.tool)
			if !ok {
				t.Fatalf("no tool %s", tc.tool)
			}
			in, _ := reflectedSchemas(t, e)
			node := schemaAt(t, in, tc.path)
			for k, want := range tc.want {
				if !jsonEqual(node[k], want) {
					t.Errorf("%s = %v, want %v", k, node[k], want)
				}
			}
		})
	}
}

func TestRequiredFields(t *testing.T) {
	want := map[string][]string{
		"ray2_modify_video":           {"video_url"},
		"wan_vace_video":              {"prompt"},
		"ltx_multiconditioning_video": {"prompt"},
		"magi_extend_video":           {"prompt", "video_url"},
		"pixverse_lipsync":            {"video_url"},
		"merge_audio_video":           {"audio_url", "video_url"},
		"pixverse_extend_video_fast":  {"prompt", "video_url"},
		"animatediff_video_to_video":  {"prompt", "video_url"},
		"upscale_video":               {"video_url"},
		"interpolate_video_frames":    {"video_url"},
	}
	for _, e := range Catalog {
		in, out := reflectedSchemas(t, e)
		var got []string
		for k := range stringSet(in["required"]) {
			got = append(got, k)
		}
		sort.Strings(got)
		if !reflect.DeepEqual(got, want[e.Tool]) {
			t.Errorf("%s: required %v, want %v", e.Tool, got, want[e.Tool])
		}
		if !reflect.DeepEqual(out["required"], []any{"video"}) {
			t.Errorf("%s: output required %v, want [video]", e.Tool, out["required"])
		}
	}
}

func schemaAt(t *testing.T, root map[string]any, path string) map[string]any {
	t.Helper()
	node := root
	for _, step := range strings.Split(path, "/") {
		var next any
		if step == "[]" {
			next = node["items"]
		} else {
			props, _ := node["properties"].(map[string]any)
			next = props[step]
		}
		m, ok := next.(map[string]any)
		if !ok {
			t.Fatalf("no schema at %q (step %q)", path, step)
		}
		node = m
	}
	return node
}

// jsonEqual compares two values as JSON (so 81 equals 81.0).
func jsonEqual(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return false
	}
	var va, vb any
	_ = json.Unmarshal(ja, &va)
	_ = json.Unmarshal(jb, &vb)
	return reflect.DeepEqual(va, vb)
}

// validate is a small JSON Schema validator for the keywords the reflected
// schemas use. It lets tests check the seed examples against the very schema
// a tool advertises, and that out-of-range values are rejected by it.
func validate(schema map[string]any, v any, path string) []string {
	var errs []string
	fail := func(format string, args ...any) {
		errs = append(errs, path+": "+fmt.Sprintf(format, args...))
	}
	if enum, ok := schema["enum"].([]any); ok {
		found := false
		for _, x := range enum {
			if jsonEqual(x, v) {
				found = true
			}
		}
		if !found {
			fail("%v not in enum %v", v, enum)
		}
	}
	switch schema["type"] {
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			fail("want object, got %T", v)
			return errs
		}
		props, _ := schema["properties"].(map[string]any)
		for name := range stringSet(schema["required"]) {
			if _, ok := obj[name]; !ok {
				fail("missing required %q", name)
			}
		}
		for name, val := range obj {
			p, ok := props[name].(map[string]any)
			if !ok {
				fail("unknown property %q", name)
				continue
			}
			errs = append(errs, validate(p, val, path+"."+name)...)
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			fail("want array, got %T", v)
			return errs
		}
		items, _ := schema["items"].(map[string]any)
		for i, x := range arr {
			errs = append(errs, validate(items, x, fmt.Sprintf("%s[%d]", path, i))...)
			if schema["uniqueItems"] == true {
				for _, y := range arr[:i] {
					if jsonEqual(x, y) {
						fail("duplicate item %v", x)
					}
				}
			}
		}
	case "string":
		s, ok := v.(string)
		if !ok {
			fail("want string, got %T", v)
			return errs
		}
		if n, ok := schema["minLength"].(float64); ok && float64(len([]rune(s))) < n {
			fail("shorter than %v", n)
		}
		if n, ok := schema["maxLength"].(float64); ok && float64(len([]rune(s))) > n {
			fail("longer than %v", n)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			fail("want boolean, got %T", v)
		}
	case "integer", "number":
		n, ok := v.(float64)
		if !ok {
			fail("want %v, got %T", schema["type"], v)
			return errs
		}
		if schema["type"] == "integer" && n != math.Trunc(n) {
			fail("want integer, got %v", n)
		}
		if m, ok := schema["minimum"].(float64); ok && n < m {
			fail("%v below minimum %v", n, m)
		}
		if m, ok := schema["maximum"].(float64); ok && n > m {
			fail("%v above maximum %v", n, m)
		}
		if m, ok := schema["multipleOf"].(float64); ok && math.Mod(n, m) != 0 {
			fail("%v not a multiple of %v", n, m)
		}
	default:
		fail("unexpected schema type %v", schema["type"])
	}
	return errs
}

// TestSchemaRejects makes sure the advertised schemas themselves reject the
// out-of-range and wrong-enum values the seed rules out, before any Check.
func TestSchemaRejects(t *testing.T) {
	tests := []struct {
		tool string
		args string
	}{
		{"wan_vace_video", `{"prompt":"p","num_frames":80}`},
		{"wan_vace_video", `{"prompt":"p","num_frames":242}`},
		{"wan_vace_video", `{"prompt":"p","task":"colorize"}`},
		{"wan_vace_video", `{"prompt":"p","resolution":"1080p"}`},
		{"wan_vace_video", `{"prompt":"p","frames_per_second":31}`},
		{"wan_vace_video", `{"num_frames":81}`},
		{"magi_extend_video", `{"prompt":"","video_url":"v","num_frames":95}`},
		{"magi_extend_video", `{"prompt":"","video_url":"v","num_frames":193}`},
		{"magi_extend_video", `{"prompt":"","video_url":"v","num_inference_steps":12}`},
		{"ltx_multiconditioning_video", `{"prompt":"p","images":[{"image_url":"i","start_frame_num":7}]}`},
		{"ltx_multiconditioning_video", `{"prompt":"p","images":[{"start_frame_num":8}]}`},
		{"ltx_multiconditioning_video", `{"prompt":"p","images":[{"image_url":"i","extra":1}]}`},
		{"ray2_modify_video", `{"video_url":"v","mode":"flex_4"}`},
		{"ray2_modify_video", `{"video_url":"v","prompt":"hi"}`},
		{"pixverse_lipsync", `{"video_url":"v","voice_id":"Bob","text":"t"}`},
		{"pixverse_extend_video_fast", `{"video_url":"v","prompt":"p","resolution":"1080p"}`},
		{"animatediff_video_to_video", `{"video_url":"v","prompt":"p","motions":["zoom-in","zoom-in"]}`},
		{"animatediff_video_to_video", `{"video_url":"v","prompt":"p","motions":["spin"]}`},
		{"upscale_video", `{"video_url":"v","scale":9}`},
		{"interpolate_video_frames", `{"video_url":"v","output_fps":"24"}`},
		{"merge_audio_video", `{"video_url":"v","audio_url":"a","start_offset":-1}`},
		{"merge_audio_video", `{"video_url":"v","audio_url":"a","unknown":true}`},
	}
	for _, tc := range tests {
		t.Run(tc.tool, func(t *testing.T) {
			e, _ := Lookup(tc.tool)
			in, _ := reflectedSchemas(t, e)
			var args any
			if err := json.Unmarshal([]byte(tc.args), &args); err != nil {
				t.Fatal(err)
			}
			if errs := validate(in, args, "$"); len(errs) == 0 {
				t.Errorf("schema accepted %s", tc.args)
			}
		})
	}
}

// TestDefaultsObeyTheirSchema checks every default against the keywords of
// its own property (enum, range, multipleOf, type), so a typo in a tag cannot
// advertise a default the schema itself rejects.
func TestDefaultsObeyTheirSchema(t *testing.T) {
	var walk func(t *testing.T, node map[string]any, path string)
	walk = func(t *testing.T, node map[string]any, path string) {
		if d, ok := node["default"]; ok {
			for _, problem := range validate(node, d, path) {
				t.Errorf("default: %s", problem)
			}
		}
		if props, ok := node["properties"].(map[string]any); ok {
			for name, p := range props {
				walk(t, p.(map[string]any), path+"."+name)
			}
		}
		if items, ok := node["items"].(map[string]any); ok {
			walk(t, items, path+"[]")
		}
	}
	for _, e := range Catalog {
		t.Run(e.Tool, func(t *testing.T) {
			in, out := reflectedSchemas(t, e)
			walk(t, in, "$")
			walk(t, out, "$")
		})
	}
}

// TestSchemaTagKeys catches misspelt keywords in `jsonschema:"..."` tags,
// which invopop would silently ignore.
func TestSchemaTagKeys(t *testing.T) {
	known := map[string]bool{
		"required": true, "enum": true, "default": true, "minimum": true, "maximum": true,
		"multipleOf": true, "minLength": true, "maxLength": true, "uniqueItems": true, "maxItems": true,
	}
	check := func(owner reflect.Type, f reflect.StructField) {
		tag := strings.ReplaceAll(f.Tag.Get("jsonschema"), `\,`, "")
		if tag == "" {
			return
		}
		for _, kv := range strings.Split(tag, ",") {
			if key := strings.SplitN(kv, "=", 2)[0]; !known[key] {
				t.Errorf("%s.%s: unknown jsonschema tag key %q", owner.Name(), f.Name, key)
			}
		}
	}
	seen := map[reflect.Type]bool{}
	for _, e := range Catalog {
		eachField(e.Input, seen, check)
		eachField(e.Output, seen, check)
	}
}
