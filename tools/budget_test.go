package tools_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/mark3labs/mcp-go/mcp"
)

// The tools/list budget, in bytes of compact JSON as a plain client (one
// that does not declare the MCP Apps extension) receives it: a byte proxy
// of the tokens an agent pays before it calls anything (about
// bytesPerToken bytes a token for this JSON). It is per tool, and the
// whole listing's cap is the sum of its tools' budgets: adding an endpoint
// never breaks it, while bloat in any tool still does.
const (
	bytesPerToken = 4.3
	// maxBytesPerEndpointTool and maxTokensPerEndpointTool: the endpoint
	// tools on average (one endpoint's input is far larger than another's).
	maxBytesPerEndpointTool  = 2900
	maxTokensPerEndpointTool = 675
	// maxEndpointToolOverhead: what the server adds to each endpoint tool
	// beyond its endpoint's own input fields — the description, the
	// job-shaping arguments, the output schema, the annotations.
	maxEndpointToolOverhead = 1600
	// maxBytesPerOtherTool: each job tool, upload_file and probe_media.
	maxBytesPerOtherTool = 1500
	// listEnvelope: the tools/list result around its tools.
	listEnvelope = 200
)

// TestToolsListBudget: tools/list stays within the budget, and every
// endpoint tool still advertises every input field, enum value, range and
// default its endpoint's input struct declares (as schemas.InputSchema
// reflects it).
func TestToolsListBudget(t *testing.T) {
	h := newHarness(t, mcp.ProtocolVersion20260728)
	res, err := h.client.ListTools(ctxT(t), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	whole, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]mcp.Tool{}
	var endpointBytes, endpoints, others int
	for _, tool := range res.Tools {
		byName[tool.Name] = tool
		b, err := json.Marshal(tool)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%-28s %5d bytes ≈ %4.0f tokens", tool.Name, len(b), float64(len(b))/bytesPerToken)
		if !isEndpointTool(tool.Name) {
			others++
			if len(b) > maxBytesPerOtherTool {
				t.Errorf("%s takes %d bytes in tools/list; the budget is %d", tool.Name, len(b), maxBytesPerOtherTool)
			}
			continue
		}
		endpoints++
		endpointBytes += len(b)
		row, _ := schemas.Lookup(tool.Name)
		own, err := schemas.InputSchema(row.Input)
		if err != nil {
			t.Fatal(err)
		}
		over := len(b) - len(own)
		t.Logf("%-28s %5d bytes beyond its input fields", tool.Name, over)
		if over > maxEndpointToolOverhead {
			t.Errorf("%s adds %d bytes to its endpoint's %d bytes of input fields; the budget is %d", tool.Name, over, len(own), maxEndpointToolOverhead)
		}
	}
	if endpoints != len(schemas.Catalog) {
		t.Fatalf("%d endpoint tools listed, the catalog has %d", endpoints, len(schemas.Catalog))
	}
	perEndpoint := endpointBytes / endpoints
	tokens := float64(perEndpoint) / bytesPerToken
	total := endpoints*maxBytesPerEndpointTool + others*maxBytesPerOtherTool + listEnvelope
	t.Logf("tools/list: %d bytes (≈ %.0f tokens) for %d tools, budget %d; %d bytes (≈ %.0f tokens) per endpoint tool on average",
		len(whole), float64(len(whole))/bytesPerToken, len(res.Tools), total, perEndpoint, tokens)
	if perEndpoint > maxBytesPerEndpointTool {
		t.Errorf("endpoint tools take %d bytes each on average in tools/list; the budget is %d", perEndpoint, maxBytesPerEndpointTool)
	}
	if tokens > maxTokensPerEndpointTool {
		t.Errorf("endpoint tools take ≈ %.0f tokens each on average in tools/list; the budget is %d", tokens, maxTokensPerEndpointTool)
	}
	if len(whole) > total {
		t.Errorf("tools/list takes %d bytes; the budget for %d endpoint and %d other tools is %d", len(whole), endpoints, others, total)
	}

	for _, row := range schemas.Catalog {
		tool, ok := byName[row.Tool]
		if !ok {
			t.Errorf("%s is not listed", row.Tool)
			continue
		}
		raw, err := schemas.InputSchema(row.Input)
		if err != nil {
			t.Fatal(err)
		}
		var want, got map[string]any
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(tool)
		var listed struct {
			InputSchema map[string]any `json:"inputSchema"`
		}
		if err := json.Unmarshal(b, &listed); err != nil {
			t.Fatal(err)
		}
		got = listed.InputSchema
		for _, p := range missingKeywords(want, got, "") {
			t.Errorf("%s: %s", row.Tool, p)
		}
	}
}

func isEndpointTool(name string) bool {
	for _, row := range schemas.Catalog {
		if row.Tool == name {
			return true
		}
	}
	return false
}

// keptKeywords are what a schema must keep for an agent to call the tool
// right: the fields (properties, required, items) and every constraint
// and default.
var keptKeywords = []string{"type", "required", "enum", "default", "const", "minimum", "maximum", "exclusiveMinimum",
	"exclusiveMaximum", "multipleOf", "minLength", "maxLength", "pattern", "format", "minItems", "maxItems", "uniqueItems",
	"additionalProperties"}

// missingKeywords lists what want (a schema) says that got does not say
// alike, walking properties and items.
func missingKeywords(want, got map[string]any, path string) []string {
	var out []string
	at := path
	if at == "" {
		at = "(input)"
	}
	for _, k := range keptKeywords {
		w, ok := want[k]
		if !ok {
			continue
		}
		g, ok := got[k]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s: %s %v is not advertised", at, k, w))
		case k == "required":
			if missing := notIn(w, g); len(missing) > 0 {
				out = append(out, fmt.Sprintf("%s: required %v is not advertised", at, missing))
			}
		case !reflect.DeepEqual(w, g):
			out = append(out, fmt.Sprintf("%s: %s is %v, the input struct says %v", at, k, g, w))
		}
	}
	if wp, ok := want["properties"].(map[string]any); ok {
		gp, _ := got["properties"].(map[string]any)
		names := make([]string, 0, len(wp))
		for name := range wp {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			sub := strings.TrimPrefix(path+"."+name, ".")
			g, ok := gp[name].(map[string]any)
			if !ok {
				out = append(out, fmt.Sprintf("%s: field is not advertised", sub))
				continue
			}
			out = append(out, missingKeywords(wp[name].(map[string]any), g, sub)...)
		}
	}
	if wi, ok := want["items"].(map[string]any); ok {
		gi, ok := got["items"].(map[string]any)
		if !ok {
			return append(out, fmt.Sprintf("%s: items are not advertised", at))
		}
		out = append(out, missingKeywords(wi, gi, path+"[]")...)
	}
	return out
}

func notIn(want, got any) []any {
	w, _ := want.([]any)
	g, _ := got.([]any)
	var missing []any
	for _, x := range w {
		found := false
		for _, y := range g {
			found = found || x == y
		}
		if !found {
			missing = append(missing, x)
		}
	}
	return missing
}

// TestMissingKeywords: the comparison of TestToolsListBudget sees a lost
// field, enum value, range, default and required field.
func TestMissingKeywords(t *testing.T) {
	want := map[string]any{"type": "object", "required": []any{"a"}, "properties": map[string]any{
		"a": map[string]any{"type": "string", "enum": []any{"x", "y"}, "default": "x"},
		"b": map[string]any{"type": "array", "items": map[string]any{"type": "integer", "minimum": 1.0, "maximum": 8.0}},
		"c": map[string]any{"type": "boolean"},
	}}
	same := func() map[string]any {
		var m map[string]any
		b, _ := json.Marshal(want)
		_ = json.Unmarshal(b, &m)
		return m
	}
	if got := missingKeywords(want, same(), ""); len(got) != 0 {
		t.Errorf("an identical schema: %v", got)
	}
	for name, cut := range map[string]func(m map[string]any){
		"field":   func(m map[string]any) { delete(m["properties"].(map[string]any), "c") },
		"enum":    func(m map[string]any) { m["properties"].(map[string]any)["a"].(map[string]any)["enum"] = []any{"x"} },
		"default": func(m map[string]any) { delete(m["properties"].(map[string]any)["a"].(map[string]any), "default") },
		"range": func(m map[string]any) {
			delete(m["properties"].(map[string]any)["b"].(map[string]any)["items"].(map[string]any), "maximum")
		},
		"required": func(m map[string]any) { m["required"] = []any{} },
	} {
		got := same()
		cut(got)
		if len(missingKeywords(want, got, "")) == 0 {
			t.Errorf("%s: a lost %s goes unseen", name, name)
		}
	}
}

// TestCommonWordsSaidOnce: what every tool shares is in the instructions
// (sent once, at initialize) — how jobs run and are followed, the
// statuses, every field of the job the tools return, what media fields
// take — and no endpoint tool's description repeats it.
func TestCommonWordsSaidOnce(t *testing.T) {
	h := newHarness(t, mcp.ProtocolVersion20260728)
	ctx := ctxT(t)
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.ProtocolVersion20260728
	init.Params.ClientInfo = mcp.Implementation{Name: "budget", Version: "1"}
	ires, err := h.client.Initialize(ctx, init)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"wait_seconds", "job_status", "job_result", "request_id", "costs money", "uploaded to fal"}
	for _, s := range []string{tools.StatusQueued, tools.StatusRunning, tools.StatusCompleted, tools.StatusFailed, tools.StatusCancelled, tools.StatusUnknown} {
		want = append(want, s)
	}
	job := reflect.TypeFor[tools.Job]()
	for i := range job.NumField() {
		if name, _, _ := strings.Cut(job.Field(i).Tag.Get("json"), ","); job.Field(i).IsExported() && name != "" && name != "-" {
			want = append(want, name)
		}
	}
	for _, w := range want {
		if !strings.Contains(ires.Instructions, w) {
			t.Errorf("the instructions do not say %q:\n%s", w, ires.Instructions)
		}
	}
	res, err := h.client.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range res.Tools {
		for _, common := range []string{"inside the folders the user allowed; a local file", "job_status with the request_id", "costs money"} {
			if isEndpointTool(tool.Name) && strings.Contains(tool.Description, common) {
				t.Errorf("%s: the description repeats %q, which the instructions say", tool.Name, common)
			}
		}
	}
}
