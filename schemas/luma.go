package schemas

// Ray2ModifyInput is the input of fal-ai/luma-dream-machine/ray-2/modify.
//
// From fal-endpoints.json (the seed is silent): video_url is the only required
// field; prompt is 3 to 5000 characters.
type Ray2ModifyInput struct {
	VideoURL string  `json:"video_url" fal:"media,video" jsonschema:"required" jsonschema_description:"URL of the input video to modify."`
	ImageURL *string `json:"image_url,omitempty" fal:"media,image" jsonschema_description:"Optional URL of the first frame image for modification."`
	Prompt   *string `json:"prompt,omitempty" jsonschema:"minLength=3,maxLength=5000" jsonschema_description:"Instruction for modifying the video."`
	Mode     *string `json:"mode,omitempty" jsonschema:"enum=adhere_1,enum=adhere_2,enum=adhere_3,enum=flex_1,enum=flex_2,enum=flex_3,enum=reimagine_1,enum=reimagine_2,enum=reimagine_3,default=flex_1" jsonschema_description:"Amount of modification to apply to the video: adhere_1 is the least amount of modification, reimagine_3 is the most."`
}

// Ray2ModifyOutput is the result of fal-ai/luma-dream-machine/ray-2/modify.
type Ray2ModifyOutput struct {
	Video File `json:"video" jsonschema:"required" jsonschema_description:"URL of the modified video."`
}
