package schemas

// MergeAudioVideoInput is the input of fal-ai/ffmpeg-api/merge-audio-video.
type MergeAudioVideoInput struct {
	// video_url and audio_url are required per fal-endpoints.json (the seed is silent).
	VideoURL string `json:"video_url" fal:"media,video" jsonschema:"required" jsonschema_description:"URL of the video file to use as the video track."`
	AudioURL string `json:"audio_url" fal:"media,audio" jsonschema:"required" jsonschema_description:"URL of the audio file to use as the audio track."`
	// Minimum 0 and default 0 per fal-endpoints.json (the seed states neither).
	// fal documents a minimum of 0 and no maximum: a day (86400 s) is far
	// past the end of any video fal merges audio into.
	StartOffset *float64 `json:"start_offset,omitempty" jsonschema:"minimum=0,maximum=86400,default=0" jsonschema_description:"Offset in seconds for when the audio should start relative to the video."`
}

// MergeAudioVideoOutput is the result of fal-ai/ffmpeg-api/merge-audio-video.
type MergeAudioVideoOutput struct {
	Video File `json:"video" jsonschema:"required" jsonschema_description:"Output video with merged audio."`
}
