package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/tools/localfile"
	"github.com/fal-video-mcp/fal-video-mcp/tools/mediaprobe"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

type probeArgs struct {
	Source string `json:"source" jsonschema:"required,minLength=1" jsonschema_description:"The media to probe: an http(s) URL (a fal output, say), or an absolute local path / file:// URL inside the folders the user allowed."`
}

// probeTool is probe_media: what a video (or image, or audio file) is —
// duration, frame rate and count, size — so frame numbers are not guessed.
func (s *toolset) probeTool() (server.ServerTool, error) {
	out, err := terseSchema(reflect.TypeFor[mediaprobe.Info]()) // the description names the fields
	if err != nil {
		return server.ServerTool{}, err
	}
	// URLs are read with the client of downloads: fal's hosts or public
	// addresses only, never this machine's or its network's. Made on the
	// first call: a server built only to list its tools (mcpb) has no fal
	// client.
	prober := sync.OnceValue(func() *mediaprobe.Prober {
		p := &mediaprobe.Prober{NoRemoteFFprobe: true}
		if s.opts.Fal != nil {
			hc := *s.opts.Fal.PublicHTTPClient()
			hc.Timeout = 30 * time.Second
			p.HTTP = &hc
		}
		return p
	})
	st, _, err := s.build(toolSpec{
		name: "probe_media", title: "Probe a media file", input: reflect.TypeFor[probeArgs](), output: out,
		readOnly: true, idempotent: true,
		description: "Reports what a video or audio file is: container, duration, frame rate and count, size, rotation, codecs, audio. " +
			"Probe an input before choosing frame numbers or frame rates (magi_extend_video num_frames/start_frame, LTX start_frame_num, " +
			"Wan VACE match_input_num_frames, interpolate_video_frames output_fps). Reads only the headers; nothing is sent to fal or billed.",
		handle: func(ctx context.Context, _ mcp.CallToolRequest, raw json.RawMessage) *mcp.CallToolResult {
			return s.probe(ctx, prober(), decodeArgs[probeArgs](raw).Source)
		},
	})
	return st, err
}

// probe is probe_media's call: what src is.
func (s *toolset) probe(ctx context.Context, prober *mediaprobe.Prober, src string) *mcp.CallToolResult {
	var info mediaprobe.Info
	var err error
	lower := strings.ToLower(src)
	if deadDryRunOutput(src, s.uploads.dryRun) {
		return mcp.NewToolResultError("probe_media: source: " + src + ": " + deadDryRunMessage)
	}
	switch {
	case localfile.IsLocal(src):
		f, err := s.uploads.open(ctx, src)
		if err != nil {
			return mcp.NewToolResultError("probe_media: source: " + err.Error())
		}
		info, err = prober.ProbeFile(ctx, f.File, f.Size)
		f.Close()
		if err != nil {
			return mcp.NewToolResultError(probeError(src, err))
		}
	case strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "http://"):
		if prober.HTTP == nil {
			return mcp.NewToolResultError("probe_media: this server has no fal client to read URLs with")
		}
		if info, err = prober.ProbeURL(ctx, src); err != nil {
			return mcp.NewToolResultError(probeError(src, err))
		}
	default:
		return mcp.NewToolResultError(fmt.Sprintf("probe_media: source: got %s — allowed an http(s) URL, or an absolute local path or file:// URL inside the allowed folders",
			display(src)))
	}
	return &mcp.CallToolResult{
		Content:           []mcp.Content{mcp.NewTextContent(fmt.Sprintf("%s: %s", src, info.Summary()))},
		StructuredContent: info,
	}
}

func probeError(src string, err error) string {
	if errors.Is(err, mediaprobe.ErrNeedFFprobe) {
		return fmt.Sprintf("probe_media: %s is %v", src, err)
	}
	return fmt.Sprintf("probe_media: %s: %v", src, err)
}
