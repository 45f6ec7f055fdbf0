package schemas

import "fmt"

// WanVACEInput is the input of fal-ai/wan-vace-14b, the all-task endpoint of
// Wan VACE 14B (depth, pose, inpainting, outpainting, reframe).
//
// Only the fields the seed lists are exposed. fal's published schema has more
// (sampler, shift, first_frame_url, last_frame_url, video_quality, ...); they
// are left out because the seed, the user's contract, does not list them.
type WanVACEInput struct {
	// Required per fal-endpoints.json (the seed is silent).
	Prompt         string  `json:"prompt" jsonschema:"required" jsonschema_description:"The text prompt to guide video generation."`
	NegativePrompt *string `json:"negative_prompt,omitempty" jsonschema:"default=letterboxing\\, borders\\, black bars\\, bright colors\\, overexposed\\, static\\, blurred details\\, subtitles\\, style\\, artwork\\, painting\\, picture\\, still\\, overall gray\\, worst quality\\, low quality\\, JPEG compression residue\\, ugly\\, incomplete\\, extra fingers\\, poorly drawn hands\\, poorly drawn faces\\, deformed\\, disfigured\\, malformed limbs\\, fused fingers\\, still picture\\, cluttered background\\, three legs\\, many people in the background\\, walking backwards" jsonschema_description:"Negative prompt for video generation."`
	// Default false per fal-endpoints.json (the seed states none).
	MatchInputNumFrames *bool `json:"match_input_num_frames,omitempty" jsonschema:"default=false" jsonschema_description:"If true, the number of frames in the generated video will match the number of frames in the input video (video_url). If false, the number of frames will be determined by num_frames. probe_media gives the input's frame count."`
	// Range 81–241 from the seed; fal's schema says minimum 17, the seed wins.
	NumFrames *int `json:"num_frames,omitempty" jsonschema:"minimum=81,maximum=241,default=81" jsonschema_description:"Number of frames to generate. Must be between 81 to 241 (inclusive)."`
	// Default false per fal-endpoints.json (the seed states none).
	MatchInputFramesPerSecond *bool   `json:"match_input_frames_per_second,omitempty" jsonschema:"default=false" jsonschema_description:"If true, the frames per second of the generated video will match the input video (video_url). If false, the frames per second will be determined by frames_per_second."`
	FramesPerSecond           *int    `json:"frames_per_second,omitempty" jsonschema:"minimum=5,maximum=30,default=16" jsonschema_description:"Frames per second of the generated video. Must be between 5 to 30. Ignored if match_input_frames_per_second is true."`
	Task                      *string `json:"task,omitempty" jsonschema:"enum=depth,enum=pose,enum=inpainting,enum=outpainting,enum=reframe,default=depth" jsonschema_description:"Task type for the model. Every task needs video_url; inpainting also needs a mask (mask_video_url or mask_image_url)."`
	// fal documents no range for seed: it is a 32-bit unsigned integer
	// (0 to 4294967295), what the models' random generators take.
	Seed *int `json:"seed,omitempty" jsonschema:"minimum=0,maximum=4294967295" jsonschema_description:"Random seed for reproducibility. If not set, a random seed is chosen."`
	// Enum and default from the seed; fal's schema has auto, 240p, 360p, 480p,
	// 580p, 720p with default auto.
	Resolution  *string `json:"resolution,omitempty" jsonschema:"enum=480p,enum=580p,enum=720p,default=720p" jsonschema_description:"Resolution of the generated video (480p, 580p or 720p)."`
	AspectRatio *string `json:"aspect_ratio,omitempty" jsonschema:"enum=auto,enum=16:9,enum=1:1,enum=9:16,default=auto" jsonschema_description:"Aspect ratio of the generated video."`
	// Range 2–50 per fal-endpoints.json (the seed states none).
	NumInferenceSteps *int `json:"num_inference_steps,omitempty" jsonschema:"minimum=2,maximum=50,default=30" jsonschema_description:"Number of inference steps for sampling. Higher values give better quality but take longer."`
	// Range 1–10 per fal-endpoints.json (the seed states none).
	GuidanceScale *float64 `json:"guidance_scale,omitempty" jsonschema:"minimum=1,maximum=10,default=5" jsonschema_description:"Guidance scale for classifier-free guidance. Higher values encourage the model to generate images closely related to the text prompt."`
	// Optional in fal's schema of this all-task endpoint, but every task
	// needs it (see Check).
	VideoURL     *string `json:"video_url,omitempty" fal:"media,video" jsonschema_description:"URL to the source video file, used as the reference. Needed by every task (depth, pose, inpainting, outpainting, reframe)."`
	MaskVideoURL *string `json:"mask_video_url,omitempty" fal:"media,video" jsonschema_description:"URL to the source mask file. If provided, the model will use this mask as a reference. Inpainting needs this or mask_image_url."`
	MaskImageURL *string `json:"mask_image_url,omitempty" fal:"media,image" jsonschema_description:"URL to the guiding mask file. If provided, the model will use this mask as a reference to create masked video. If provided, mask_video_url will be ignored."`
	// fal documents no limit on reference images: 16 is more than a
	// video has subjects to match.
	RefImageURLs []string `json:"ref_image_urls,omitzero" fal:"media,image" jsonschema:"maxItems=16" jsonschema_description:"URLs to source reference images. If provided, the model will use these images as reference."`
	// Default false per fal-endpoints.json (the seed states none; its example sends true).
	EnableSafetyChecker *bool `json:"enable_safety_checker,omitempty" jsonschema:"default=false" jsonschema_description:"If set to true, the safety checker will be enabled."`
	// Default false per fal-endpoints.json (the seed states none).
	EnablePromptExpansion *bool `json:"enable_prompt_expansion,omitempty" jsonschema:"default=false" jsonschema_description:"Whether to enable prompt expansion."`
	// Default false per fal-endpoints.json (the seed states none).
	Preprocess *bool `json:"preprocess,omitempty" jsonschema:"default=false" jsonschema_description:"Whether to preprocess the input video."`
	// Enum from the seed (fal's schema also has "low"); default regular per
	// fal-endpoints.json (the seed states none).
	Acceleration *string `json:"acceleration,omitempty" jsonschema:"enum=none,enum=regular,default=regular" jsonschema_description:"Acceleration to use for inference: none or regular. Accelerated inference will very slightly affect output but is significantly faster."`
}

// wanTaskVideo says what each task does with video_url. The seed marks
// video_url required for depth, pose, inpainting and outpainting and says
// the reframe task reframes it; fal-endpoints.json: "required on
// depth/pose/inpainting/outpainting/reframe". So every task needs it, the
// default task (depth) too.
var wanTaskVideo = map[string]string{
	"depth":       "the video whose depth guides the motion",
	"pose":        "the video whose poses guide the motion",
	"inpainting":  "the video to inpaint",
	"outpainting": "the video to extend beyond its frame",
	"reframe":     "the video to reframe",
}

// Check enforces the rules the seed states:
//   - every task needs video_url (see wanTaskVideo); task defaults to depth;
//   - inpainting also needs a mask: mask_video_url, or mask_image_url (from
//     which the seed says a masked video is made).
//
// fal marks video_url optional on this all-task endpoint and the seed's own
// example sends task depth with an empty video_url, but the seed's per-task
// schemas require it for every task; the stricter reading wins.
func (in WanVACEInput) Check() error {
	var errs []*FieldError
	task := "depth"
	if in.Task != nil {
		task = *in.Task
	}
	if what, ok := wanTaskVideo[task]; ok && isBlank(in.VideoURL) {
		errs = append(errs, &FieldError{Field: "video_url", Value: valueOf(in.VideoURL),
			Allowed: fmt.Sprintf("task %s needs video_url (%s); every task needs one", task, what)})
	}
	if task == "inpainting" && isBlank(in.MaskVideoURL) && isBlank(in.MaskImageURL) {
		errs = append(errs, &FieldError{Field: "mask_video_url", Value: valueOf(in.MaskVideoURL),
			Allowed: "inpainting needs a mask: mask_video_url or mask_image_url"})
	}
	return joinFieldErrors(errs)
}

// WanVACEOutput is the result of fal-ai/wan-vace-14b. fal's schema types video
// as VideoFile (File plus width, height, fps, duration, num_frames) and adds
// frames_zip; the seed says File and lists neither, and the seed wins. fal
// marks prompt and seed required, but the seed's example output has no seed,
// so both are optional here.
type WanVACEOutput struct {
	Video  File    `json:"video" jsonschema:"required" jsonschema_description:"The generated video file."`
	Prompt *string `json:"prompt,omitempty" jsonschema_description:"The prompt used for generation."`
	Seed   *int    `json:"seed,omitempty" jsonschema_description:"The seed used for generation."`
}
