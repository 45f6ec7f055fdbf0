package schemas

// AnimateDiffVideoToVideoInput is the input of
// fal-ai/fast-animatediff/turbo/video-to-video.
//
// Required flags, every range and the motions values come from
// fal-endpoints.json (the seed gives none of them).
type AnimateDiffVideoToVideoInput struct {
	VideoURL          string   `json:"video_url" fal:"media,video" jsonschema:"required" jsonschema_description:"URL of the video."`
	FirstNSeconds     *int     `json:"first_n_seconds,omitempty" jsonschema:"minimum=2,maximum=12,default=3" jsonschema_description:"The first N number of seconds of video to animate."`
	Prompt            string   `json:"prompt" jsonschema:"required" jsonschema_description:"The prompt to use for generating the image. Be as descriptive as possible for best results."`
	NegativePrompt    *string  `json:"negative_prompt,omitempty" jsonschema:"default=(bad quality\\, worst quality:1.2)\\, ugly faces\\, bad anime" jsonschema_description:"The negative prompt to use: details you don't want in the image, such as colors, objects, scenery and small details (e.g. moustache, blurry, low resolution)."`
	NumInferenceSteps *int     `json:"num_inference_steps,omitempty" jsonschema:"minimum=1,maximum=32,default=8" jsonschema_description:"The number of inference steps to perform. 4-12 is recommended for turbo mode."`
	Strength          *float64 `json:"strength,omitempty" jsonschema:"minimum=0.1,maximum=1,default=0.7" jsonschema_description:"The strength of the input video in the final output."`
	GuidanceScale     *float64 `json:"guidance_scale,omitempty" jsonschema:"minimum=0,maximum=20,default=1" jsonschema_description:"The CFG (Classifier Free Guidance) scale: how close the model sticks to the prompt."`
	// fal documents no range for seed: it is a 32-bit unsigned integer
	// (0 to 4294967295), what the models' random generators take.
	Seed    *int     `json:"seed,omitempty" jsonschema:"minimum=0,maximum=4294967295" jsonschema_description:"Random seed: the same seed and prompt give the same video."`
	FPS     *int     `json:"fps,omitempty" jsonschema:"minimum=1,maximum=16,default=8" jsonschema_description:"Number of frames per second to extract from the video."`
	Motions []string `json:"motions,omitzero" jsonschema:"uniqueItems=true,maxItems=6,enum=zoom-out,enum=zoom-in,enum=pan-left,enum=pan-right,enum=tilt-up,enum=tilt-down" jsonschema_description:"The motions to apply to the video, each at most once."`
}

// AnimateDiffVideoToVideoOutput is the result of
// fal-ai/fast-animatediff/turbo/video-to-video. fal marks seed required; the
// seed's example output has none, so it is optional here.
type AnimateDiffVideoToVideoOutput struct {
	Video File `json:"video" jsonschema:"required" jsonschema_description:"Generated video file."`
	Seed  *int `json:"seed,omitempty" jsonschema_description:"Seed used for generating the video."`
}
