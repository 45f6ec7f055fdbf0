package tools_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// eras are the protocol versions mcp-go speaks; every client-visible test
// runs in both.
var eras = []string{mcp.ProtocolVersion20251125, mcp.ProtocolVersion20260728}

const testKey = "tools-test-key"

// harness is a server on an emulator, driven by an in-process client.
type harness struct {
	emu    *faltest.Server
	client *client.Client
	notes  chan mcp.JSONRPCNotification
}

func newHarness(t *testing.T, version string, opts ...func(*tools.Options)) *harness {
	t.Helper()
	emu := faltest.NewServer(faltest.Options{Key: testKey})
	t.Cleanup(emu.Close)
	return newHarnessOn(t, emu, version, opts...)
}

// newHarnessOn is a harness on an existing emulator: a second server, or
// the same server after a restart.
func newHarnessOn(t testing.TB, emu *faltest.Server, version string, opts ...func(*tools.Options)) *harness {
	t.Helper()
	fal, err := falqueue.New(falqueue.Config{Key: testKey, QueueURL: emu.QueueURL, RestURL: emu.RestURL, CDNURL: emu.CDNURL,
		PollInterval: 5 * time.Millisecond, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	o := tools.Options{Version: "test", Fal: fal}
	for _, f := range opts {
		f(&o)
	}
	if o.Context == nil {
		// The server's followers end with the test: a follower left behind
		// would keep knocking at its emulator's port, which a later test's
		// emulator may get.
		ctx, cancel := context.WithCancel(context.Background())
		var background sync.WaitGroup
		o.Context, o.Background = ctx, &background
		t.Cleanup(func() { cancel(); background.Wait() })
	}
	srv, err := tools.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.NewInProcessClient(srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	h := &harness{emu: emu, client: c, notes: make(chan mcp.JSONRPCNotification, 1000)}
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		select {
		case h.notes <- n:
		default:
		}
	})
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = version
	init.Params.ClientInfo = mcp.Implementation{Name: "tools-test", Version: "1"}
	res, err := c.Initialize(ctx, init)
	if err != nil {
		t.Fatal(err)
	}
	if res.ProtocolVersion != version {
		t.Fatalf("negotiated %s, want %s", res.ProtocolVersion, version)
	}
	return h
}

// call calls a tool; args is anything that marshals to a JSON object.
func (h *harness) call(t *testing.T, ctx context.Context, name string, args any, meta ...*mcp.Meta) *mcp.CallToolResult {
	t.Helper()
	res, err := h.callErr(ctx, name, args, meta...)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

func (h *harness) callErr(ctx context.Context, name string, args any, meta ...*mcp.Meta) (*mcp.CallToolResult, error) {
	var m map[string]any
	b, _ := json.Marshal(args)
	_ = json.Unmarshal(b, &m)
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = m
	if len(meta) > 0 {
		req.Params.Meta = meta[0]
	}
	return h.client.CallTool(ctx, req)
}

// jobOf decodes a result's structured content as a Job.
func jobOf(t testing.TB, res *mcp.CallToolResult) tools.Job {
	t.Helper()
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	var j tools.Job
	if err := json.Unmarshal(b, &j); err != nil || j.RequestID == "" {
		t.Fatalf("structured content is not a Job: %s (%v); text: %s", b, err, text(res))
	}
	return j
}

func text(res *mcp.CallToolResult) string {
	var s string
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			s += tc.Text
		}
	}
	return s
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// jsonEqual compares two JSON documents semantically.
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}

// schemasScript is a job that completes at once with an empty output.
func schemasScript() faltest.Script { return faltest.Script{Output: map[string]any{}} }

// conformsToOutputSchema checks a result's structured content against the
// output schema the tool declares (from its snapshot).
func conformsToOutputSchema(t *testing.T, tool string, res *mcp.CallToolResult) {
	t.Helper()
	snap, err := os.ReadFile(filepath.Join("testdata", "tools", tool+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OutputSchema json.RawMessage `json:"outputSchema"`
	}
	if err := json.Unmarshal(snap, &doc); err != nil {
		t.Fatal(err)
	}
	schemaDoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc.OutputSchema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("mem://out.json", schemaDoc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("mem://out.json")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res.StructuredContent)
	inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err := s.Validate(inst); err != nil {
		t.Errorf("%s: structured content does not match its output schema: %v\n%s", tool, err, b)
	}
}
