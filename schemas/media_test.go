package schemas

import (
	"reflect"
	"strings"
	"testing"
)

func TestMediaPaths(t *testing.T) {
	want := map[string]string{
		"wan_vace_video":              "video_url mask_video_url mask_image_url ref_image_urls[]",
		"ltx_multiconditioning_video": "images[].image_url videos[].video_url",
		"merge_audio_video":           "video_url audio_url",
		"pixverse_lipsync":            "video_url audio_url",
		"ray2_modify_video":           "video_url image_url",
		"upscale_video":               "video_url",
	}
	for _, row := range Catalog {
		got := strings.Join(MediaPaths(row.Input), " ")
		if w, ok := want[row.Tool]; ok && got != w {
			t.Errorf("%s: media paths %q, want %q", row.Tool, got, w)
		}
		if got == "" {
			t.Errorf("%s has no media field", row.Tool)
		}
	}
	if got := MediaPaths(reflect.TypeFor[File]()); len(got) != 0 {
		t.Errorf("File output has media paths %v", got)
	}
}
