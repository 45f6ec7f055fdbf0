package tools_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

// uiCaps are the capabilities of a client that renders MCP Apps.
func uiCaps() mcp.ClientCapabilities {
	return mcp.ClientCapabilities{Extensions: map[string]any{tools.UIExtension: map[string]any{"mimeTypes": []any{tools.AppMIMEType}}}}
}

// appClient is a client of a server on emu, declaring caps; it returns
// the client and what the server answered at initialize (or discover).
func appClient(t *testing.T, emu *faltest.Server, version string, caps mcp.ClientCapabilities, opts ...func(*tools.Options)) (*client.Client, *mcp.InitializeResult) {
	t.Helper()
	fal, err := falqueue.New(falqueue.Config{Key: testKey, QueueURL: emu.QueueURL, RestURL: emu.RestURL,
		PollInterval: 5 * time.Millisecond, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	o := tools.Options{Version: "test", Fal: fal, DryRun: true, MediaOrigins: []string{emu.CDNURL}}
	for _, f := range opts {
		f(&o)
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
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = version
	init.Params.ClientInfo = mcp.Implementation{Name: "app-test", Version: "1"}
	init.Params.Capabilities = caps
	res, err := c.Initialize(context.Background(), init)
	if err != nil {
		t.Fatal(err)
	}
	return c, res
}

// TestAppOnlyForUIClients: a client that declares the MCP Apps extension
// is told of it, lists and reads the player, and sees the view linked
// from the endpoint tools, job_status and job_result; a client that does
// not sees no extension, no resources, no _meta: the server as it was.
func TestAppOnlyForUIClients(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{Key: testKey})
	t.Cleanup(emu.Close)
	linked := []string{"job_result", "job_status"}
	for _, row := range schemas.Catalog {
		linked = append(linked, row.Tool)
	}
	slices.Sort(linked)
	for _, era := range eras {
		t.Run(era, func(t *testing.T) {
			ctx := ctxT(t)
			// Without the extension.
			plain, res := appClient(t, emu, era, mcp.ClientCapabilities{})
			if res.Capabilities.Extensions != nil || res.Capabilities.Resources != nil {
				t.Errorf("a client without the extension is offered extensions %v, resources %v", res.Capabilities.Extensions, res.Capabilities.Resources)
			}
			list, err := plain.ListTools(ctx, mcp.ListToolsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(list.Tools)
			if strings.Contains(string(b), "_meta") || strings.Contains(string(b), "ui://") {
				t.Errorf("a client without the extension sees tool _meta")
			}
			if rl, err := plain.ListResources(ctx, mcp.ListResourcesRequest{}); err == nil && len(rl.Resources) != 0 {
				t.Errorf("a client without the extension lists %+v", rl.Resources)
			}

			// With it.
			ui, res := appClient(t, emu, era, uiCaps())
			if _, ok := res.Capabilities.Extensions[tools.UIExtension]; !ok || res.Capabilities.Resources == nil {
				t.Errorf("a client with the extension is not offered it: %+v", res.Capabilities)
			}
			list, err = ui.ListTools(ctx, mcp.ListToolsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, tool := range list.Tools {
				b, _ := json.Marshal(tool)
				var doc struct {
					Meta struct {
						UI struct {
							ResourceURI string `json:"resourceUri"`
						} `json:"ui"`
					} `json:"_meta"`
				}
				_ = json.Unmarshal(b, &doc)
				if doc.Meta.UI.ResourceURI != "" {
					if doc.Meta.UI.ResourceURI != tools.PlayerURI {
						t.Errorf("%s links %s", tool.Name, doc.Meta.UI.ResourceURI)
					}
					got = append(got, tool.Name)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, linked) {
				t.Errorf("tools linking the view: %v, want %v", got, linked)
			}
			rl, err := ui.ListResources(ctx, mcp.ListResourcesRequest{})
			if err != nil || len(rl.Resources) != 1 || rl.Resources[0].URI != tools.PlayerURI || rl.Resources[0].MIMEType != tools.AppMIMEType {
				t.Fatalf("resources/list = %+v, %v", rl, err)
			}
			rr, err := ui.ReadResource(ctx, mcp.ReadResourceRequest{Params: mcp.ReadResourceParams{URI: tools.PlayerURI}})
			if err != nil || len(rr.Contents) != 1 {
				t.Fatalf("resources/read = %+v, %v", rr, err)
			}
			tc, ok := rr.Contents[0].(mcp.TextResourceContents)
			if !ok || tc.MIMEType != tools.AppMIMEType || tc.URI != tools.PlayerURI || !strings.Contains(tc.Text, "ui/initialize") {
				t.Fatalf("resources/read content = %T %+v", rr.Contents[0], rr.Contents[0])
			}
			csp := cspOf(t, tc.Meta)
			// fal's own example inputs live on Google Cloud Storage, in
			// fal's bucket only.
			if !slices.Contains(csp["resourceDomains"], "https://storage.googleapis.com/falserverless/") {
				t.Errorf("csp resourceDomains = %v: fal's storage bucket is missing", csp["resourceDomains"])
			}
			for _, dir := range []string{"resourceDomains", "connectDomains"} {
				for _, want := range append(tools.FalMediaOrigins, emu.CDNURL) {
					if !slices.Contains(csp[dir], want) {
						t.Errorf("csp %s = %v, missing %s", dir, csp[dir], want)
					}
				}
			}
		})
	}
}

// cspOf reads _meta.ui.csp.
func cspOf(t *testing.T, meta map[string]any) map[string][]string {
	t.Helper()
	b, _ := json.Marshal(meta)
	var doc struct {
		UI struct {
			CSP map[string][]string `json:"csp"`
		} `json:"ui"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || doc.UI.CSP == nil {
		t.Fatalf("no _meta.ui.csp in %s (%v)", b, err)
	}
	return doc.UI.CSP
}
