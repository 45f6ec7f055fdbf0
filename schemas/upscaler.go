package schemas

// VideoUpscalerInput is the input of fal-ai/video-upscaler.
type VideoUpscalerInput struct {
	// Required per fal-endpoints.json (the seed is silent).
	VideoURL string `json:"video_url" fal:"media,video" jsonschema:"required" jsonschema_description:"The URL of the video to upscale."`
	// Range 1–8 per fal-endpoints.json (the seed states none).
	Scale *float64 `json:"scale,omitempty" jsonschema:"minimum=1,maximum=8,default=2" jsonschema_description:"The scale factor."`
}

// VideoUpscalerOutput is the result of fal-ai/video-upscaler.
type VideoUpscalerOutput struct {
	Video File `json:"video" jsonschema:"required" jsonschema_description:"The stitched video."`
}
