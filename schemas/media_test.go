package schemas

import (
	"reflect"
	"slices"
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

// TestMediaKinds: every media field names its kind, and the kind fits the
// field's name (a mask video is a video, reference images are images).
func TestMediaKinds(t *testing.T) {
	for _, row := range Catalog {
		for _, f := range MediaFields(row.Input) {
			if !slices.Contains(MediaKinds, f.Kind) {
				t.Errorf("%s %s: kind %q, want one of %v", row.Tool, f.Path, f.Kind, MediaKinds)
				continue
			}
			if !strings.Contains(f.Path, f.Kind) {
				t.Errorf("%s %s: kind %s does not fit its name", row.Tool, f.Path, f.Kind)
			}
		}
	}
}
