package schemas

import (
	"io/fs"
	"reflect"
)

// Endpoint is one row of the catalog: a fal endpoint and the MCP tool that
// serves it.
type Endpoint struct {
	ID    string // fal endpoint id, e.g. "fal-ai/pixverse/extend/fast"
	Tool  string // MCP tool name; fixed, clients depend on it
	Title string // human title of the tool
	// Purpose tells a model what the endpoint does and which inputs matter
	// most. It does not mention the endpoint id, fal's queue or how to follow
	// a job: those are the same for every endpoint and the tools layer adds
	// them.
	Purpose string
	Input   reflect.Type // input struct, e.g. reflect.TypeFor[WanVACEInput]()
	Output  reflect.Type // output struct, e.g. reflect.TypeFor[WanVACEOutput]()
	// Examples, if set, holds the row's example files (<tool>.input.json,
	// <tool>.output.json) in place of the examples/ folder beside the
	// schemas. Catalog rows leave it nil; a test's throwaway endpoint
	// brings its own.
	Examples fs.FS
}

// NewInput returns a pointer to a new zero value of the endpoint's input
// struct, ready for json.Unmarshal.
func (e Endpoint) NewInput() any { return reflect.New(e.Input).Interface() }

// NewOutput returns a pointer to a new zero value of the endpoint's output
// struct, ready for json.Unmarshal.
func (e Endpoint) NewOutput() any { return reflect.New(e.Output).Interface() }

// Catalog lists every endpoint the server exposes, in the order of the
// tools list. Adding an endpoint is one struct pair plus one row here.
var Catalog = []Endpoint{
	{
		ID:    "fal-ai/luma-dream-machine/ray-2/modify",
		Tool:  "ray2_modify_video",
		Title: "Luma Ray 2: modify a video",
		Purpose: "Restyles or retextures a whole video shot with Luma Ray 2 Modify: turn live action into CG or stylized " +
			"animation, change wardrobe, props or the overall look, swap environment, time period or weather. " +
			"Give video_url (required) and a prompt describing the change; mode sets how far to go, from adhere_1 " +
			"(least change) through flex_1 (default) to reimagine_3 (most). An optional image_url guides the first frame.",
		Input:  reflect.TypeFor[Ray2ModifyInput](),
		Output: reflect.TypeFor[Ray2ModifyOutput](),
	},
	{
		ID:    "fal-ai/wan-vace-14b",
		Tool:  "wan_vace_video",
		Title: "Wan VACE 14B: controlled video-to-video",
		Purpose: "Generates a video from a prompt controlled by a source video, masks and reference images with Wan VACE 14B. " +
			"task picks the control: depth or pose (follow the motion of video_url), inpainting (repaint the masked " +
			"region: also needs mask_video_url or mask_image_url), outpainting, or reframe. prompt and video_url are " +
			"needed by every task; " +
			"num_frames is 81 to 241 unless match_input_num_frames copies the input video's length; ref_image_urls " +
			"supply reference images; resolution (480p, 580p, 720p) and num_frames drive cost and time.",
		Input:  reflect.TypeFor[WanVACEInput](),
		Output: reflect.TypeFor[WanVACEOutput](),
	},
	{
		ID:    "fal-ai/ltx-video-13b-distilled/multiconditioning",
		Tool:  "ltx_multiconditioning_video",
		Title: "LTX Video 13B distilled: video from prompt, images and videos",
		Purpose: "Generates a video with LTX Video 13B distilled from a prompt plus any number of conditioning images and " +
			"videos, each pinned to a start frame (start_frame_num: a multiple of 8 below num_frames, default 121 frames) " +
			"with a strength from 0 to 1 — for example a first and a last keyframe, or a video to continue. prompt is " +
			"required; images and videos carry the conditioning; loras add LoRA weights; resolution is 480p or 720p.",
		Input:  reflect.TypeFor[LTXMulticonditioningInput](),
		Output: reflect.TypeFor[LTXMulticonditioningOutput](),
	},
	{
		ID:    "fal-ai/magi/extend-video",
		Tool:  "magi_extend_video",
		Title: "MAGI-1: extend a video",
		Purpose: "Extends a video with MAGI-1, which continues the action with a strong grasp of physical interactions. " +
			"Give video_url (the beginning) and prompt (how it goes on; both required). num_frames (96 to 192) sets how " +
			"many frames to generate, each 24 beyond 96 costs another billing unit; start_frame picks where generation " +
			"takes over (default 32 frames before the end); 480p costs half of 720p.",
		Input:  reflect.TypeFor[MAGIExtendVideoInput](),
		Output: reflect.TypeFor[MAGIExtendVideoOutput](),
	},
	{
		ID:    "fal-ai/pixverse/lipsync",
		Tool:  "pixverse_lipsync",
		Title: "PixVerse: lip-sync a video",
		Purpose: "Makes the person in a video speak in sync with new speech, using PixVerse Lipsync. Give video_url " +
			"(required) and either audio_url (an audio file) or text, which is spoken by text-to-speech in the voice " +
			"voice_id (default Auto). Billed per output second, plus per 100 characters when text is used.",
		Input:  reflect.TypeFor[PixverseLipsyncInput](),
		Output: reflect.TypeFor[PixverseLipsyncOutput](),
	},
	{
		ID:    "fal-ai/ffmpeg-api/merge-audio-video",
		Tool:  "merge_audio_video",
		Title: "FFmpeg: merge audio into a video",
		Purpose: "Puts an audio track onto a video with FFmpeg: video_url gives the picture, audio_url the sound (both " +
			"required); start_offset delays the audio by that many seconds. Cheap and fast; no generation.",
		Input:  reflect.TypeFor[MergeAudioVideoInput](),
		Output: reflect.TypeFor[MergeAudioVideoOutput](),
	},
	{
		ID:    "fal-ai/pixverse/extend/fast",
		Tool:  "pixverse_extend_video_fast",
		Title: "PixVerse: extend a video (fast)",
		Purpose: "Extends a video with PixVerse in fast mode. Give video_url and a prompt describing how the video " +
			"continues (both required); style, resolution (360p, 540p, 720p — no 1080p in fast mode) and model " +
			"(v3.5, v4, v4.5) are optional.",
		Input:  reflect.TypeFor[PixverseExtendFastInput](),
		Output: reflect.TypeFor[PixverseExtendFastOutput](),
	},
	{
		ID:    "fal-ai/fast-animatediff/turbo/video-to-video",
		Tool:  "animatediff_video_to_video",
		Title: "AnimateDiff Turbo: re-animate a video",
		Purpose: "Re-renders the first seconds of a video in a new look with AnimateDiff Turbo, fast. Give video_url and " +
			"a descriptive prompt (both required); strength (0.1 to 1) sets how much of the input video survives; " +
			"first_n_seconds (2 to 12) and fps choose what is animated; motions add camera moves (zoom, pan, tilt).",
		Input:  reflect.TypeFor[AnimateDiffVideoToVideoInput](),
		Output: reflect.TypeFor[AnimateDiffVideoToVideoOutput](),
	},
	{
		ID:    "fal-ai/video-upscaler",
		Tool:  "upscale_video",
		Title: "Upscale a video",
		Purpose: "Upscales a video to a higher resolution by running RealESRGAN on every frame. Give video_url " +
			"(required); scale is the factor (1 to 8, default 2). Billed per output megapixel, so large scales on long " +
			"videos cost more.",
		Input:  reflect.TypeFor[VideoUpscalerInput](),
		Output: reflect.TypeFor[VideoUpscalerOutput](),
	},
	{
		ID:    "fal-ai/amt-interpolation",
		Tool:  "interpolate_video_frames",
		Title: "AMT: interpolate video frames",
		Purpose: "Makes a video smoother by generating in-between frames with AMT interpolation. Give video_url " +
			"(required); output_fps is the frame rate of the result (default 24) and recursive_interpolation_passes " +
			"the number of recursive interpolation passes (default 2).",
		Input:  reflect.TypeFor[AMTInterpolationInput](),
		Output: reflect.TypeFor[AMTInterpolationOutput](),
	},
}

// Lookup finds a catalog row by fal endpoint id or by tool name.
func Lookup(idOrTool string) (Endpoint, bool) {
	for _, e := range Catalog {
		if e.ID == idOrTool || e.Tool == idOrTool {
			return e, true
		}
	}
	return Endpoint{}, false
}
