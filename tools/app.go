package tools

import (
	"context"
	_ "embed"
	"slices"
	"strings"

	"github.com/fal-video-mcp/fal-video-mcp/schemas"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// The MCP Apps extension (SEP-1865): one view, the player, renders the
// results of the endpoint tools, job_status and job_result in clients that
// declare the extension. Every other client sees the server exactly as it
// is without it: no extension, no resources capability, no tool _meta.
const (
	// UIExtension is the MCP Apps extension's identifier.
	UIExtension = "io.modelcontextprotocol/ui"
	// PlayerURI is the player view's resource.
	PlayerURI = "ui://fal-video-mcp/player"
	// AppMIMEType is the MIME type of an MCP App's HTML.
	AppMIMEType = "text/html;profile=mcp-app"
)

// playerHTML is the view: one self-contained HTML file, vanilla
// JavaScript, no build step.
//
//go:embed app/player.html
var playerHTML string

// FalMediaOrigins are where fal serves output (and uploaded) files: its
// CDN, and its Google Cloud Storage bucket, where the example inputs of
// fal's docs live (path-scoped: a CSP source with a path ending in "/"
// matches only the paths under it, not the rest of storage.googleapis.com).
var FalMediaOrigins = []string{"https://*.fal.media", "https://fal.media", "https://v3.fal.media", "https://v2.fal.media",
	"https://storage.googleapis.com/falserverless/"}

// clientHasUI reports whether the client making this request declared the
// MCP Apps extension: per request in protocol 2026-07-28, at initialize
// before it.
func clientHasUI(ctx context.Context) bool {
	if info := server.RequestProtocolInfoFromContext(ctx); info != nil && info.Modern {
		return info.ClientCapabilities != nil && declaresUI(info.ClientCapabilities.Extensions)
	}
	if s, ok := server.ClientSessionFromContext(ctx).(server.SessionWithClientInfo); ok {
		return declaresUI(s.GetClientCapabilities().Extensions)
	}
	return false
}

// declaresUI: the extension is declared, and if it lists the MIME types
// the client renders, ours is among them.
func declaresUI(ext map[string]any) bool {
	v, ok := ext[UIExtension]
	if !ok {
		return false
	}
	settings, _ := v.(map[string]any)
	types, listed := settings["mimeTypes"].([]any)
	if !listed {
		return true
	}
	for _, t := range types {
		if s, _ := t.(string); s == AppMIMEType {
			return true
		}
	}
	return false
}

// viewTools are the tools whose results the player renders.
func viewTools() map[string]bool {
	m := map[string]bool{"job_status": true, "job_result": true}
	for _, row := range schemas.Catalog {
		m[row.Tool] = true
	}
	return m
}

// appCSP is the view's declared Content Security Policy: media from fal's
// hosts, and from the emulator in dry-run.
func (s *toolset) appCSP() map[string]any {
	origins := slices.Concat(FalMediaOrigins, s.opts.MediaOrigins)
	return map[string]any{"resourceDomains": origins, "connectDomains": origins}
}

func (s *toolset) appMeta() map[string]any {
	return map[string]any{"ui": map[string]any{"csp": s.appCSP(), "prefersBorder": true}}
}

// appOptions are the server options of the extension: the tool filter
// that links the view for clients that declared it, and the hooks that
// advertise it to those clients only; and the filter that lists tools as
// the client's protocol defines them (annotations.go).
func (s *toolset) appOptions() []server.ServerOption {
	linked := viewTools()
	filter := func(ctx context.Context, tools []mcp.Tool) []mcp.Tool {
		if !clientHasUI(ctx) {
			return tools
		}
		out := make([]mcp.Tool, len(tools))
		for i, t := range tools {
			if linked[t.Name] {
				t.Meta = mcp.NewMetaFromMap(map[string]any{"ui": map[string]any{"resourceUri": PlayerURI}})
			}
			out[i] = t
		}
		return out
	}
	advertise := func(caps *mcp.ServerCapabilities, ui bool) {
		if !ui {
			caps.Resources = nil // the player is the only resource
			delete(caps.Extensions, UIExtension)
			if len(caps.Extensions) == 0 {
				caps.Extensions = nil
			}
			return
		}
		if caps.Extensions == nil {
			caps.Extensions = map[string]any{}
		}
		caps.Extensions[UIExtension] = map[string]any{"mimeTypes": []string{AppMIMEType}}
	}
	hooks := &server.Hooks{}
	hooks.AddAfterInitialize(func(_ context.Context, _ any, req *mcp.InitializeRequest, res *mcp.InitializeResult) {
		advertise(&res.Capabilities, declaresUI(req.Params.Capabilities.Extensions))
	})
	hooks.AddAfterDiscover(func(ctx context.Context, _ any, _ *mcp.DiscoverRequest, res *mcp.DiscoverResult) {
		advertise(&res.Capabilities, clientHasUI(ctx))
	})
	hooks.AddAfterListResources(func(ctx context.Context, _ any, _ *mcp.ListResourcesRequest, res *mcp.ListResourcesResult) {
		if !clientHasUI(ctx) {
			res.Resources = slices.DeleteFunc(res.Resources, func(r mcp.Resource) bool { return strings.HasPrefix(r.URI, "ui://") })
		}
	})
	return []server.ServerOption{server.WithToolFilter(filter), server.WithHooks(hooks), annotationsOption()}
}

// addApp registers the player resource.
func (s *toolset) addApp(srv *server.MCPServer) {
	res := mcp.NewResource(PlayerURI, "Job player",
		mcp.WithResourceDescription("Shows a fal job: its status, queue position and last log line while it runs; the output video, image or audio (beside the input for video-to-video tools) when it completes; the error when it fails."),
		mcp.WithMIMEType(AppMIMEType))
	res.Meta = mcp.NewMetaFromMap(s.appMeta())
	srv.AddResource(res, func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		return []mcp.ResourceContents{mcp.TextResourceContents{URI: PlayerURI, MIMEType: AppMIMEType, Text: playerHTML, Meta: s.appMeta()}}, nil
	})
}
