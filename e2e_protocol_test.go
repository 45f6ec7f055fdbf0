package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/mark3labs/mcp-go/mcp"
)

// Shapes of MCP 2024-11-05 (schema/2024-11-05/schema.ts), as far as tool
// results and tool listings go. Decoding with DisallowUnknownFields
// refuses anything that version does not define.
type (
	annotations20241105 struct {
		Audience []string `json:"audience,omitempty"`
		Priority *float64 `json:"priority,omitempty"`
	}
	content20241105 struct {
		Type        string               `json:"type"`
		Text        *string              `json:"text,omitempty"`     // text
		Data        *string              `json:"data,omitempty"`     // image
		MIMEType    *string              `json:"mimeType,omitempty"` // image
		Resource    *json.RawMessage     `json:"resource,omitempty"` // resource (embedded)
		Annotations *annotations20241105 `json:"annotations,omitempty"`
	}
	callToolResult20241105 struct {
		Meta    map[string]any    `json:"_meta,omitempty"`
		Content []content20241105 `json:"content"`
		IsError bool              `json:"isError,omitempty"`
	}
	tool20241105 struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		InputSchema json.RawMessage `json:"inputSchema"`
		// Annotations arrived in 2025-03-26; mcp-go always sends them,
		// and clients of 2024-11-05 pass unknown tool fields through.
		Annotations json.RawMessage `json:"annotations,omitempty"`
	}
)

func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// TestProtocol20241105: a client pinned to protocol 2024-11-05 calls every
// tool — every endpoint to completion, then job_status, job_result with a
// download, job_cancel, job_list, upload_file and a call with bad
// arguments — and every tool result on the wire parses as that version
// defines it: text content only (the output URLs and saved paths are in
// the text), no structuredContent; the listing has no title or
// outputSchema.
func TestProtocol20241105(t *testing.T) {
	files, out := t.TempDir(), t.TempDir()
	clip := filepath.Join(files, "clip.mp4")
	if err := os.WriteFile(clip, []byte("\x00\x00\x00\x18ftypisom clip"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := runPiped(t, mcp.ProtocolVersion20241105, []string{"--allow-dir", files, "--output-dir", out},
		map[string]string{"FAL_VIDEO_MCP_DRY_RUN": "1", "FAL_VIDEO_MCP_STATE_DIR": t.TempDir()})
	ctx := ctxE2E(t)
	if _, err := p.client.ListTools(ctx, mcp.ListToolsRequest{}); err != nil {
		t.Fatal(err)
	}
	calls := 0
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, row := range schemas.Catalog {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args, _ := exampleArgs(row.Tool, 30)
			res, _, err := callTool(ctx, p.client, row.Tool, args, nil)
			if err != nil || res.IsError {
				t.Errorf("%s: %v %v", row.Tool, res, err)
				return
			}
			id := requestIDIn(res)
			for _, call := range []struct {
				name string
				args map[string]any
			}{
				{"job_status", map[string]any{"request_id": id, "endpoint_id": row.ID}},
				{"job_result", map[string]any{"request_id": id, "endpoint_id": row.ID, "download": true}},
				{"job_cancel", map[string]any{"request_id": id, "endpoint_id": row.ID}},
			} {
				if _, _, err := callTool(ctx, p.client, call.name, call.args, nil); err != nil {
					t.Errorf("%s: %v", call.name, err)
				}
			}
			mu.Lock()
			calls += 4
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, call := range []struct {
		name string
		args map[string]any
	}{
		{"job_list", map[string]any{}},
		{"upload_file", map[string]any{"path": clip}},
		{"upscale_video", map[string]any{"video_url": 42}},
	} {
		if _, _, err := callTool(ctx, p.client, call.name, call.args, nil); err != nil {
			t.Errorf("%s: %v", call.name, err)
		}
		calls++
	}
	p.stop() // run has returned: every byte it wrote is in p.stdout
	stdout := p.stdout.String()

	results, listings, links := 0, 0, 0
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var msg struct {
			Result json.RawMessage `json:"result"`
		}
		if json.Unmarshal([]byte(line), &msg) != nil || msg.Result == nil {
			continue
		}
		var keys map[string]json.RawMessage
		_ = json.Unmarshal(msg.Result, &keys)
		switch {
		case keys["content"] != nil:
			results++
			var r callToolResult20241105
			if err := decodeStrict(msg.Result, &r); err != nil {
				t.Errorf("a tool result is not 2024-11-05: %v\n%s", err, msg.Result)
				continue
			}
			for _, c := range r.Content {
				if c.Type != "text" && c.Type != "image" && c.Type != "resource" {
					t.Errorf("content type %q is not defined in 2024-11-05", c.Type)
				}
				if c.Text != nil && (strings.Contains(*c.Text, "file://") || strings.Contains(*c.Text, "Output: http")) {
					links++
				}
			}
		case keys["tools"] != nil:
			listings++
			var l struct {
				Tools      []json.RawMessage `json:"tools"`
				NextCursor string            `json:"nextCursor,omitempty"`
			}
			if err := decodeStrict(msg.Result, &l); err != nil {
				t.Fatal(err)
			}
			for _, raw := range l.Tools {
				var tool tool20241105
				if err := decodeStrict(raw, &tool); err != nil {
					t.Errorf("a tool is not 2024-11-05: %v\n%.300s", err, raw)
				}
			}
		}
	}
	if results != calls || listings != 1 {
		t.Errorf("%d tool results and %d listings on the wire, want %d and 1", results, listings, calls)
	}
	if links < len(schemas.Catalog) {
		t.Errorf("only %d results name their output files in the text", links)
	}
}

// requestIDIn finds the request id in a result's text ("Job <id> on …").
func requestIDIn(res *mcp.CallToolResult) string {
	for _, c := range res.Content {
		if t, ok := c.(mcp.TextContent); ok {
			if f := strings.Fields(t.Text); len(f) > 1 && f[0] == "Job" {
				return f[1]
			}
		}
	}
	return ""
}
