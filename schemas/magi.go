package schemas

// MAGIExtendVideoInput is the input of fal-ai/magi/extend-video.
type MAGIExtendVideoInput struct {
	// prompt and video_url are required per fal-endpoints.json (the seed is
	// silent); the seed's example sends an empty prompt, which is allowed.
	Prompt    string `json:"prompt" jsonschema:"required" jsonschema_description:"The text prompt to guide video generation."`
	VideoURL  string `json:"video_url" fal:"media,video" jsonschema:"required" jsonschema_description:"URL of the input video to represent the beginning of the video. If the input video does not match the chosen aspect ratio, it is resized and center cropped."`
	NumFrames *int   `json:"num_frames,omitempty" jsonschema:"minimum=96,maximum=192,default=96" jsonschema_description:"Number of frames to generate. Must be between 96 and 192 (inclusive). Each additional 24 frames beyond 96 incurs an additional billing unit. probe_media gives the input's frame count."`
	// Minimum 0 per fal-endpoints.json (the seed states none).
	// fal documents a minimum of 0 and no maximum: 1,000,000 frames is over
	// nine hours at 30 fps, longer than any video fal extends.
	StartFrame *int `json:"start_frame,omitempty" jsonschema:"minimum=0,maximum=1000000" jsonschema_description:"The frame to begin the generation from; the frames before it are kept unchanged as the prefix video, followed by the generated frames. The default, 32 frames before the end of the video, works best. probe_media gives the input's frame count."`
	// fal documents no range for seed: it is a 32-bit unsigned integer
	// (0 to 4294967295), what the models' random generators take.
	Seed       *int    `json:"seed,omitempty" jsonschema:"minimum=0,maximum=4294967295" jsonschema_description:"Random seed for reproducibility. If not set, a random seed is chosen."`
	Resolution *string `json:"resolution,omitempty" jsonschema:"enum=480p,enum=720p,default=720p" jsonschema_description:"Resolution of the generated video (480p or 720p). 480p is 0.5 billing units, and 720p is 1 billing unit."`
	// An integer enum: the seed renders the default as "16" (it quotes every
	// enum default) but its example sends the number 16, as fal's schema types it.
	NumInferenceSteps   *int    `json:"num_inference_steps,omitempty" jsonschema:"enum=4,enum=8,enum=16,enum=32,enum=64,default=16" jsonschema_description:"Number of inference steps for sampling. Higher values give better quality but take longer."`
	EnableSafetyChecker *bool   `json:"enable_safety_checker,omitempty" jsonschema:"default=true" jsonschema_description:"If set to true, the safety checker will be enabled."`
	AspectRatio         *string `json:"aspect_ratio,omitempty" jsonschema:"enum=auto,enum=16:9,enum=9:16,enum=1:1,default=auto" jsonschema_description:"Aspect ratio of the generated video. If auto, the aspect ratio will be determined automatically based on the input image."`
}

// MAGIExtendVideoOutput is the result of fal-ai/magi/extend-video. fal marks
// seed required; the seed's example output has none, so it is optional here.
type MAGIExtendVideoOutput struct {
	Video File `json:"video" jsonschema:"required" jsonschema_description:"The generated video file."`
	Seed  *int `json:"seed,omitempty" jsonschema_description:"The seed used for generation."`
}
