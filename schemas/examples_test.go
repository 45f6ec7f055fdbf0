package schemas

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// readExample reads a row's example input or output (examples/, beside
// the schemas).
func readExample(t *testing.T, e Endpoint, kind string) []byte {
	t.Helper()
	var b []byte
	var err error
	if kind == "input" {
		b, err = e.ExampleInput()
	} else {
		b, err = e.ExampleOutput()
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeStrict(data []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(into)
}

// assertRoundTrip re-marshals v and checks it equals the original JSON: no
// field lost, none added, no value changed.
func assertRoundTrip(t *testing.T, original []byte, v any) {
	t.Helper()
	again, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	if err := json.Unmarshal(original, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(again, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("round trip changed the JSON\nseed: %s\ngot:  %s", compact(original), again)
	}
}

func compact(b []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return string(b)
	}
	return buf.String()
}

func TestSeedExampleInputs(t *testing.T) {
	for _, e := range Catalog {
		t.Run(e.Tool, func(t *testing.T) {
			data := readExample(t, e, "input")
			in := e.NewInput()
			if err := decodeStrict(data, in); err != nil {
				t.Fatalf("seed example does not decode into %s: %v", e.Input.Name(), err)
			}
			if err := Check(in); err != nil {
				t.Errorf("seed example fails Check: %v", err)
			}
			assertRoundTrip(t, data, in)

			schema, _ := reflectedSchemas(t, e)
			var args any
			if err := json.Unmarshal(data, &args); err != nil {
				t.Fatal(err)
			}
			for _, problem := range validate(schema, args, "$") {
				t.Errorf("seed example breaks the advertised schema: %s", problem)
			}
		})
	}
}

func TestSeedExampleOutputs(t *testing.T) {
	for _, e := range Catalog {
		t.Run(e.Tool, func(t *testing.T) {
			data := readExample(t, e, "output")
			out := e.NewOutput()
			if err := decodeStrict(data, out); err != nil {
				t.Fatalf("seed example does not decode into %s: %v", e.Output.Name(), err)
			}
			assertRoundTrip(t, data, out)

			_, schema := reflectedSchemas(t, e)
			var result any
			if err := json.Unmarshal(data, &result); err != nil {
				t.Fatal(err)
			}
			for _, problem := range validate(schema, result, "$") {
				t.Errorf("seed example output breaks the output schema: %s", problem)
			}
		})
	}
}

// TestUnsetFieldsAreNotSent checks that decoding the smallest valid call and
// encoding it again sends exactly what the caller gave, and that zero values
// the caller did give are kept.
func TestUnsetFieldsAreNotSent(t *testing.T) {
	tests := []struct{ tool, args string }{
		{"upscale_video", `{"video_url":"v"}`},
		{"magi_extend_video", `{"prompt":"","video_url":"v","start_frame":0,"seed":0}`},
		{"wan_vace_video", `{"prompt":"p","enable_safety_checker":false,"negative_prompt":"","ref_image_urls":[]}`},
		{"ltx_multiconditioning_video", `{"prompt":"p","loras":[],"images":[{"image_url":"i","start_frame_num":0,"strength":0}]}`},
		{"merge_audio_video", `{"video_url":"v","audio_url":"a","start_offset":0}`},
	}
	for _, tc := range tests {
		t.Run(tc.tool, func(t *testing.T) {
			e, _ := Lookup(tc.tool)
			in := e.NewInput()
			if err := decodeStrict([]byte(tc.args), in); err != nil {
				t.Fatal(err)
			}
			assertRoundTrip(t, []byte(tc.args), in)
		})
	}
}

// TestCheckCatalog: the catalog passes; a row without an example, with a
// malformed one, or doubling a tool name is refused with a message that
// says what to add or fix.
func TestCheckCatalog(t *testing.T) {
	if err := CheckCatalog(Catalog); err != nil {
		t.Fatal(err)
	}
	row := func(files fstest.MapFS) Endpoint {
		e := Catalog[0]
		e.ID, e.Tool, e.Examples = "fal-ai/throwaway", "throwaway_video", files
		return e
	}
	in := &fstest.MapFile{Data: []byte(`{"video_url":"https://x/a.mp4"}`)}
	tests := []struct {
		name string
		rows []Endpoint
		want string
	}{
		{"no output", []Endpoint{row(fstest.MapFS{"throwaway_video.input.json": in})},
			"throwaway_video has no example output: add schemas/examples/throwaway_video.output.json"},
		{"no input", []Endpoint{row(fstest.MapFS{})}, "throwaway_video has no example input"},
		{"not an object", []Endpoint{row(fstest.MapFS{"throwaway_video.input.json": in,
			"throwaway_video.output.json": {Data: []byte(`[]`)}})}, "throwaway_video.output.json is not a JSON object"},
		{"tool twice", []Endpoint{Catalog[0], Catalog[0]}, "two catalog rows name the tool " + Catalog[0].Tool},
	}
	for _, tc := range tests {
		err := CheckCatalog(tc.rows)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: CheckCatalog = %v, want %q", tc.name, err, tc.want)
		}
	}
}
