package schemas

import "fmt"

// ltxDefaultNumFrames is num_frames when the caller leaves it out (seed).
const ltxDefaultNumFrames = 121

// LTXMulticonditioningInput is the input of
// fal-ai/ltx-video-13b-distilled/multiconditioning.
//
// Ranges and the required flag come from fal-endpoints.json (the 2026-01-28
// OpenAPI of this endpoint, LTX 0.9.7); the seed gives none. Fields that only
// a later fal page lists (enable_detail_pass, temporal_adain_factor,
// tone_map_compression_ratio) are not in the seed and are left out.
type LTXMulticonditioningInput struct {
	// Required per fal-endpoints.json.
	Prompt         string  `json:"prompt" jsonschema:"required" jsonschema_description:"Text prompt to guide generation."`
	NegativePrompt *string `json:"negative_prompt,omitempty" jsonschema:"default=worst quality\\, inconsistent motion\\, blurry\\, jittery\\, distorted" jsonschema_description:"Negative prompt for generation."`
	// fal documents no limit on LoRAs: 10 is more than any generation
	// stacks.
	Loras       []LoRAWeight `json:"loras,omitzero" jsonschema:"maxItems=10" jsonschema_description:"LoRA weights to use for generation."`
	Resolution  *string      `json:"resolution,omitempty" jsonschema:"enum=480p,enum=720p,default=720p" jsonschema_description:"Resolution of the generated video (480p or 720p)."`
	AspectRatio *string      `json:"aspect_ratio,omitempty" jsonschema:"enum=9:16,enum=1:1,enum=16:9,enum=auto,default=auto" jsonschema_description:"The aspect ratio of the video."`
	// fal documents no range for seed: it is a 32-bit unsigned integer
	// (0 to 4294967295), what the models' random generators take.
	Seed *int `json:"seed,omitempty" jsonschema:"minimum=0,maximum=4294967295" jsonschema_description:"Random seed for generation."`
	// Range 9–161 per fal-endpoints.json.
	NumFrames *int `json:"num_frames,omitempty" jsonschema:"minimum=9,maximum=161,default=121" jsonschema_description:"The number of frames in the video. Conditioning start frames (images[].start_frame_num, videos[].start_frame_num) must be below it."`
	// Range 2–20 per fal-endpoints.json.
	FirstPassNumInferenceSteps *int `json:"first_pass_num_inference_steps,omitempty" jsonschema:"minimum=2,maximum=20,default=8" jsonschema_description:"Number of inference steps during the first pass."`
	// Range 0–20 per fal-endpoints.json.
	FirstPassSkipFinalSteps *int `json:"first_pass_skip_final_steps,omitempty" jsonschema:"minimum=0,maximum=20,default=1" jsonschema_description:"Number of inference steps to skip in the final steps of the first pass. By skipping some steps at the end, the first pass can focus on larger changes instead of smaller details."`
	// Range 2–20 per fal-endpoints.json.
	SecondPassNumInferenceSteps *int `json:"second_pass_num_inference_steps,omitempty" jsonschema:"minimum=2,maximum=20,default=8" jsonschema_description:"Number of inference steps during the second pass."`
	// Range 1–20 per fal-endpoints.json.
	SecondPassSkipInitialSteps *int `json:"second_pass_skip_initial_steps,omitempty" jsonschema:"minimum=1,maximum=20,default=5" jsonschema_description:"The number of inference steps to skip in the initial steps of the second pass. By skipping some steps at the beginning, the second pass can focus on smaller details instead of larger changes."`
	// Range 1–60 per fal-endpoints.json.
	FrameRate *int `json:"frame_rate,omitempty" jsonschema:"minimum=1,maximum=60,default=30" jsonschema_description:"The frame rate of the video."`
	// Default false per fal-endpoints.json (the seed states none).
	ExpandPrompt *bool `json:"expand_prompt,omitempty" jsonschema:"default=false" jsonschema_description:"Whether to expand the prompt using a language model."`
	// Default false per fal-endpoints.json (the seed states none).
	ReverseVideo        *bool `json:"reverse_video,omitempty" jsonschema:"default=false" jsonschema_description:"Whether to reverse the video."`
	EnableSafetyChecker *bool `json:"enable_safety_checker,omitempty" jsonschema:"default=true" jsonschema_description:"Whether to enable the safety checker."`
	// Range 20–60 per fal-endpoints.json.
	ConstantRateFactor *int `json:"constant_rate_factor,omitempty" jsonschema:"minimum=20,maximum=60,default=35" jsonschema_description:"The constant rate factor (CRF) to compress input media with. Compressed input media more closely matches the model's training data, which can improve motion quality."`
	// fal documents no limit on images or videos: at most 21 of each, one
	// per place a conditioning can start (start_frame_num is a multiple of 8
	// from 0 to 160).
	Images []LTXImageConditioningInput `json:"images,omitzero" jsonschema:"maxItems=21" jsonschema_description:"Images to use as conditioning, each placed at a start frame."`
	Videos []LTXVideoConditioningInput `json:"videos,omitzero" jsonschema:"maxItems=21" jsonschema_description:"Videos to use as conditioning, each placed at a start frame."`
}

// LoRAWeight is one LoRA to load (seed "Other types"; required flag and the
// scale range 0–4 per fal-endpoints.json).
type LoRAWeight struct {
	Path       string   `json:"path" jsonschema:"required,minLength=1" jsonschema_description:"URL or path to the LoRA weights."`
	WeightName *string  `json:"weight_name,omitempty" jsonschema_description:"Name of the LoRA weight. Only used if path is a HuggingFace repository, and only required when the repository contains multiple LoRA weights."`
	Scale      *float64 `json:"scale,omitempty" jsonschema:"minimum=0,maximum=4,default=1" jsonschema_description:"Scale of the LoRA weight. This is a multiplier applied to the LoRA weight when loading it."`
}

// LTXImageConditioningInput is fal's ImageConditioningInput. The seed only
// names the type; every field, range and the multiple-of-8 rule come from
// fal-endpoints.json.
type LTXImageConditioningInput struct {
	ImageURL      string   `json:"image_url" fal:"media,image" jsonschema:"required" jsonschema_description:"URL of image to use as conditioning."`
	StartFrameNum *int     `json:"start_frame_num,omitempty" jsonschema:"minimum=0,maximum=160,multipleOf=8,default=0" jsonschema_description:"Frame number of the image from which the conditioning starts. Must be a multiple of 8 and below num_frames."`
	Strength      *float64 `json:"strength,omitempty" jsonschema:"minimum=0,maximum=1,default=1" jsonschema_description:"Strength of the conditioning. 0.0 means no conditioning, 1.0 means full conditioning."`
}

// LTXVideoConditioningInput is fal's VideoConditioningInput. The seed only
// names the type; every field, range and the multiple-of-8 rule come from
// fal-endpoints.json.
type LTXVideoConditioningInput struct {
	VideoURL         string   `json:"video_url" fal:"media,video" jsonschema:"required" jsonschema_description:"URL of video to use as conditioning."`
	ConditioningType *string  `json:"conditioning_type,omitempty" jsonschema:"enum=rgb,enum=depth,enum=pose,enum=canny,default=rgb" jsonschema_description:"Type of conditioning this video provides. This ensures in-context LoRA weights are applied correctly and selects the preprocessing pipeline, when enabled."`
	Preprocess       *bool    `json:"preprocess,omitempty" jsonschema:"default=false" jsonschema_description:"Whether to preprocess the video to match the conditioning type. A no-op for rgb conditioning."`
	StartFrameNum    *int     `json:"start_frame_num,omitempty" jsonschema:"minimum=0,maximum=160,multipleOf=8,default=0" jsonschema_description:"Frame number of the video from which the conditioning starts. Must be a multiple of 8 and below num_frames. probe_media gives a video's frame count."`
	Strength         *float64 `json:"strength,omitempty" jsonschema:"minimum=0,maximum=1,default=1" jsonschema_description:"Strength of the conditioning. 0.0 means no conditioning, 1.0 means full conditioning."`
	LimitNumFrames   *bool    `json:"limit_num_frames,omitempty" jsonschema:"default=false" jsonschema_description:"Whether to limit the number of frames used from the video. If true, max_num_frames is used."`
	MaxNumFrames     *int     `json:"max_num_frames,omitempty" jsonschema:"minimum=1,maximum=161,default=121" jsonschema_description:"Maximum number of frames to use from the video (when limit_num_frames is true)."`
	ResampleFPS      *bool    `json:"resample_fps,omitempty" jsonschema:"default=false" jsonschema_description:"Whether to resample the video to a specific FPS. If true, target_fps is used."`
	TargetFPS        *int     `json:"target_fps,omitempty" jsonschema:"minimum=1,maximum=60,default=30" jsonschema_description:"Target FPS to resample the video to. Only relevant if resample_fps is true."`
	ReverseVideo     *bool    `json:"reverse_video,omitempty" jsonschema:"default=false" jsonschema_description:"Whether to reverse the video, for tasks where the video conditioning should be applied in reverse order."`
}

// Check enforces that every conditioning item starts inside the video:
// 0 ≤ start_frame_num < num_frames (121 when num_frames is left out). The
// lower bound and the multiple of 8 are also in the schema.
func (in LTXMulticonditioningInput) Check() error {
	numFrames := ltxDefaultNumFrames
	if in.NumFrames != nil {
		numFrames = *in.NumFrames
	}
	var errs []*FieldError
	inside := func(field string, start *int) {
		if start == nil {
			return
		}
		if *start < 0 || *start >= numFrames {
			errs = append(errs, &FieldError{Field: field, Value: *start,
				Allowed: fmt.Sprintf("a frame inside the video: a multiple of 8 from 0 to %d (num_frames is %d)", lastMultipleOf8Below(numFrames), numFrames)})
		}
	}
	for i, img := range in.Images {
		inside(fmt.Sprintf("images[%d].start_frame_num", i), img.StartFrameNum)
	}
	for i, v := range in.Videos {
		inside(fmt.Sprintf("videos[%d].start_frame_num", i), v.StartFrameNum)
	}
	return joinFieldErrors(errs)
}

// lastMultipleOf8Below returns the largest multiple of 8 below n (0 for n ≤ 8).
func lastMultipleOf8Below(n int) int {
	if n <= 0 {
		return 0
	}
	return (n - 1) / 8 * 8
}

// LTXMulticonditioningOutput is the result of
// fal-ai/ltx-video-13b-distilled/multiconditioning. fal marks prompt and seed
// required; the seed's example output has no seed, so both are optional here.
type LTXMulticonditioningOutput struct {
	Video  File    `json:"video" jsonschema:"required" jsonschema_description:"The generated video file."`
	Prompt *string `json:"prompt,omitempty" jsonschema_description:"The prompt used for generation."`
	Seed   *int    `json:"seed,omitempty" jsonschema_description:"The seed used for generation."`
}
