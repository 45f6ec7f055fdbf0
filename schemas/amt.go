package schemas

// AMTInterpolationInput is the input of fal-ai/amt-interpolation.
type AMTInterpolationInput struct {
	// Required per fal-endpoints.json (the seed is silent).
	VideoURL string `json:"video_url" fal:"media,video" jsonschema:"required" jsonschema_description:"URL of the video to be processed."`
	// Range 1–60 per fal-endpoints.json (the seed states none).
	OutputFPS *int `json:"output_fps,omitempty" jsonschema:"minimum=1,maximum=60,default=24" jsonschema_description:"Output frames per second. probe_media gives the input's frame rate."`
	// Range 1–10 per fal-endpoints.json (the seed states none).
	RecursiveInterpolationPasses *int `json:"recursive_interpolation_passes,omitempty" jsonschema:"minimum=1,maximum=10,default=2" jsonschema_description:"Number of recursive interpolation passes."`
}

// AMTInterpolationOutput is the result of fal-ai/amt-interpolation.
type AMTInterpolationOutput struct {
	Video File `json:"video" jsonschema:"required" jsonschema_description:"Generated video."`
}
