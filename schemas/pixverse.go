package schemas

// PixverseLipsyncInput is the input of fal-ai/pixverse/lipsync.
type PixverseLipsyncInput struct {
	// Required per fal-endpoints.json (the seed is silent).
	VideoURL string  `json:"video_url" fal:"media,video" jsonschema:"required" jsonschema_description:"URL of the input video."`
	AudioURL *string `json:"audio_url,omitempty" fal:"media,audio" jsonschema_description:"URL of the input audio. If not provided, TTS of text will be used. Give audio_url or text."`
	VoiceID  *string `json:"voice_id,omitempty" jsonschema:"enum=Emily,enum=James,enum=Isabella,enum=Liam,enum=Chloe,enum=Adrian,enum=Harper,enum=Ava,enum=Sophia,enum=Julia,enum=Mason,enum=Jack,enum=Oliver,enum=Ethan,enum=Auto,default=Auto" jsonschema_description:"Voice to use for TTS when audio_url is not provided."`
	Text     *string `json:"text,omitempty" jsonschema_description:"Text content for TTS when audio_url is not provided. Give audio_url or text."`
}

// Check enforces that there is something to lip-sync to: audio_url, or text
// for TTS (seed: "If not provided, TTS will be used"; fal marks neither
// required). voice_id alongside audio_url is not an error: the seed's own
// example sends audio_url, text and voice_id together.
func (in PixverseLipsyncInput) Check() error {
	if isBlank(in.AudioURL) && isBlank(in.Text) {
		return &FieldError{Field: "audio_url", Value: valueOf(in.AudioURL),
			Allowed: "lipsync needs speech: give audio_url (an audio file) or text (spoken by TTS with voice_id)"}
	}
	return nil
}

// PixverseLipsyncOutput is the result of fal-ai/pixverse/lipsync.
type PixverseLipsyncOutput struct {
	Video File `json:"video" jsonschema:"required" jsonschema_description:"The generated video."`
}

// PixverseExtendFastInput is the input of fal-ai/pixverse/extend/fast.
type PixverseExtendFastInput struct {
	// video_url and prompt are required per fal-endpoints.json (the seed is silent).
	VideoURL       string  `json:"video_url" fal:"media,video" jsonschema:"required" jsonschema_description:"URL of the input video to extend."`
	Prompt         string  `json:"prompt" jsonschema:"required" jsonschema_description:"Prompt describing how to extend the video."`
	NegativePrompt *string `json:"negative_prompt,omitempty" jsonschema:"default=" jsonschema_description:"Negative prompt to be used for the generation."`
	// Enum from the seed (with "day"); fal's schema lists clay instead of day.
	Style      *string `json:"style,omitempty" jsonschema:"enum=anime,enum=3d_animation,enum=day,enum=cyberpunk,enum=comic" jsonschema_description:"The style of the extended video."`
	Resolution *string `json:"resolution,omitempty" jsonschema:"enum=360p,enum=540p,enum=720p,default=720p" jsonschema_description:"The resolution of the generated video. Fast mode doesn't support 1080p."`
	// Enum from the seed; fal's schema adds v5, v5.5, v5.6 (and a later page v6).
	Model *string `json:"model,omitempty" jsonschema:"enum=v3.5,enum=v4,enum=v4.5,default=v4.5" jsonschema_description:"The model version to use for generation."`
	// fal documents no range for seed: it is a 32-bit unsigned integer
	// (0 to 4294967295), what the models' random generators take.
	Seed *int `json:"seed,omitempty" jsonschema:"minimum=0,maximum=4294967295" jsonschema_description:"Random seed for generation."`
}

// PixverseExtendFastOutput is the result of fal-ai/pixverse/extend/fast.
type PixverseExtendFastOutput struct {
	Video File `json:"video" jsonschema:"required" jsonschema_description:"The extended video."`
}
