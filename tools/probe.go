package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/schemas"
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
	in, err := schemas.InputSchema(reflect.TypeFor[probeArgs]())
	if err != nil {
		return server.ServerTool{}, err
	}
	out, err := schemas.OutputSchema(reflect.TypeFor[mediaprobe.Info]())
	if err != nil {
		return server.ServerTool{}, err
	}
	v, err := newValidator("probe_media", in)
	if err != nil {
		return server.ServerTool{}, err
	}
	// URLs are read with the client of downloads: fal's hosts or public
	// addresses only, never this machine's or its network's.
	prober := &mediaprobe.Prober{NoRemoteFFprobe: true}
	if s.opts.Fal != nil {
		hc := *s.opts.Fal.PublicHTTPClient()
		hc.Timeout = 30 * time.Second
		prober.HTTP = &hc
	}
	tool := mcp.Tool{
		Name:  "probe_media",
		Title: "Probe a media file",
		Description: "Reports what a video or audio file is: container, duration, frame rate, frame count, width, height, rotation, " +
			"video and audio codecs, whether it has audio, sample rate and file size. Probe an input before choosing frame numbers " +
			"or frame rates (magi_extend_video num_frames/start_frame, LTX start_frame_num, Wan VACE match_input_num_frames, " +
			"interpolate_video_frames output_fps). Uses ffprobe when installed, else reads mp4/mov headers itself; a URL is read " +
			"with range requests for the headers only. Nothing is sent to fal and nothing is billed.",
		RawInputSchema: in, RawOutputSchema: out,
		Annotations: mcp.ToolAnnotation{Title: "Probe a media file", ReadOnlyHint: mcp.ToBoolPtr(true),
			DestructiveHint: mcp.ToBoolPtr(false), IdempotentHint: mcp.ToBoolPtr(true), OpenWorldHint: mcp.ToBoolPtr(true)},
	}
	return server.ServerTool{Tool: tool, Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		raw, _ := json.Marshal(orEmpty(req.GetArguments()))
		if err := v.check(raw); err != nil {
			return mcp.NewToolResultError("probe_media: " + err.Error()), nil
		}
		src := decodeArgs[probeArgs](raw).Source
		var info mediaprobe.Info
		lower := strings.ToLower(src)
		switch {
		case localfile.IsLocal(src):
			f, err := s.uploads.open(ctx, src)
			if err != nil {
				return mcp.NewToolResultError("probe_media: source: " + err.Error()), nil
			}
			info, err = prober.ProbeFile(ctx, f.File, f.Size)
			f.Close()
			if err != nil {
				return mcp.NewToolResultError(probeError(src, err)), nil
			}
		case strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "http://"):
			if prober.HTTP == nil {
				return mcp.NewToolResultError("probe_media: this server has no fal client to read URLs with"), nil
			}
			if info, err = prober.ProbeURL(ctx, src); err != nil {
				return mcp.NewToolResultError(probeError(src, err)), nil
			}
		default:
			return mcp.NewToolResultError(fmt.Sprintf("probe_media: source: got %s — allowed an http(s) URL, or an absolute local path or file:// URL inside the allowed folders",
				display(src))), nil
		}
		return &mcp.CallToolResult{
			Content:           []mcp.Content{mcp.NewTextContent(fmt.Sprintf("%s: %s", src, info.Summary()))},
			StructuredContent: info,
		}, nil
	}}, nil
}

func probeError(src string, err error) string {
	if errors.Is(err, mediaprobe.ErrNeedFFprobe) {
		return fmt.Sprintf("probe_media: %s is %v", src, err)
	}
	return fmt.Sprintf("probe_media: %s: %v", src, err)
}
