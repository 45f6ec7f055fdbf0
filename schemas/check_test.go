package schemas

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestCheckRules(t *testing.T) {
	tests := []struct {
		name       string
		input      any
		wantFields []string // nil: Check passes
	}{
		// Wan VACE: every task needs a video; inpainting also a mask.
		{"wan inpainting with video and mask video", WanVACEInput{Prompt: "p", Task: ptr("inpainting"), VideoURL: ptr("v"), MaskVideoURL: ptr("m")}, nil},
		{"wan inpainting with video and mask image", WanVACEInput{Prompt: "p", Task: ptr("inpainting"), VideoURL: ptr("v"), MaskImageURL: ptr("m")}, nil},
		{"wan inpainting without anything", WanVACEInput{Prompt: "p", Task: ptr("inpainting")}, []string{"video_url", "mask_video_url"}},
		{"wan inpainting with empty video", WanVACEInput{Prompt: "p", Task: ptr("inpainting"), VideoURL: ptr(""), MaskVideoURL: ptr("m")}, []string{"video_url"}},
		{"wan inpainting without mask", WanVACEInput{Prompt: "p", Task: ptr("inpainting"), VideoURL: ptr("v")}, []string{"mask_video_url"}},
		{"wan inpainting with empty masks", WanVACEInput{Prompt: "p", Task: ptr("inpainting"), VideoURL: ptr("v"), MaskVideoURL: ptr(""), MaskImageURL: ptr("")}, []string{"mask_video_url"}},
		{"wan default task with video", WanVACEInput{Prompt: "p", VideoURL: ptr("v")}, nil},
		{"wan default task without video", WanVACEInput{Prompt: "p"}, []string{"video_url"}},
		{"wan depth with empty video (the seed's example)", WanVACEInput{Prompt: "p", Task: ptr("depth"), VideoURL: ptr("")}, []string{"video_url"}},
		{"wan pose without video", WanVACEInput{Prompt: "p", Task: ptr("pose")}, []string{"video_url"}},
		{"wan outpainting without video", WanVACEInput{Prompt: "p", Task: ptr("outpainting")}, []string{"video_url"}},
		{"wan reframe without video", WanVACEInput{Prompt: "p", Task: ptr("reframe"), MatchInputNumFrames: ptr(true)}, []string{"video_url"}},
		{"wan reframe with video", WanVACEInput{Prompt: "p", Task: ptr("reframe"), VideoURL: ptr("v"), MatchInputNumFrames: ptr(true), MatchInputFramesPerSecond: ptr(true)}, nil},

		// Pixverse lipsync: audio_url or text.
		{"lipsync with audio", PixverseLipsyncInput{VideoURL: "v", AudioURL: ptr("a")}, nil},
		{"lipsync with text", PixverseLipsyncInput{VideoURL: "v", Text: ptr("hello"), VoiceID: ptr("Emily")}, nil},
		{"lipsync with both (the seed's example)", PixverseLipsyncInput{VideoURL: "v", AudioURL: ptr("a"), Text: ptr("t"), VoiceID: ptr("Auto")}, nil},
		{"lipsync with neither", PixverseLipsyncInput{VideoURL: "v"}, []string{"audio_url"}},
		{"lipsync with empty both", PixverseLipsyncInput{VideoURL: "v", AudioURL: ptr(""), Text: ptr("")}, []string{"audio_url"}},
		{"lipsync voice only", PixverseLipsyncInput{VideoURL: "v", VoiceID: ptr("Emily")}, []string{"audio_url"}},

		// LTX: conditioning frames inside the video.
		{"ltx frames inside default length", LTXMulticonditioningInput{Prompt: "p", Images: []LTXImageConditioningInput{{ImageURL: "a", StartFrameNum: ptr(0)}, {ImageURL: "b", StartFrameNum: ptr(120)}}}, nil},
		{"ltx frame unset", LTXMulticonditioningInput{Prompt: "p", Videos: []LTXVideoConditioningInput{{VideoURL: "v"}}}, nil},
		{"ltx frame at default length", LTXMulticonditioningInput{Prompt: "p", Images: []LTXImageConditioningInput{{ImageURL: "a", StartFrameNum: ptr(128)}}}, []string{"images[0].start_frame_num"}},
		{"ltx frame beyond short video", LTXMulticonditioningInput{Prompt: "p", NumFrames: ptr(65), Images: []LTXImageConditioningInput{{ImageURL: "a", StartFrameNum: ptr(64)}, {ImageURL: "b", StartFrameNum: ptr(72)}}}, []string{"images[1].start_frame_num"}},
		{"ltx frame at last frame", LTXMulticonditioningInput{Prompt: "p", NumFrames: ptr(65), Videos: []LTXVideoConditioningInput{{VideoURL: "v", StartFrameNum: ptr(64)}}}, nil},
		{"ltx video frame beyond", LTXMulticonditioningInput{Prompt: "p", NumFrames: ptr(9), Videos: []LTXVideoConditioningInput{{VideoURL: "v", StartFrameNum: ptr(0)}, {VideoURL: "w", StartFrameNum: ptr(16)}}}, []string{"videos[1].start_frame_num"}},
		{"ltx negative frame", LTXMulticonditioningInput{Prompt: "p", Images: []LTXImageConditioningInput{{ImageURL: "a", StartFrameNum: ptr(-8)}}}, []string{"images[0].start_frame_num"}},
		{"ltx images and videos both out", LTXMulticonditioningInput{Prompt: "p", NumFrames: ptr(33), Images: []LTXImageConditioningInput{{ImageURL: "a", StartFrameNum: ptr(40)}}, Videos: []LTXVideoConditioningInput{{VideoURL: "v", StartFrameNum: ptr(160)}}}, []string{"images[0].start_frame_num", "videos[0].start_frame_num"}},

		// Types without cross-field rules pass Check.
		{"upscaler has no rules", VideoUpscalerInput{VideoURL: "v"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, input := range []any{tc.input, pointerTo(tc.input)} {
				err := Check(input)
				fes := FieldErrors(err)
				var got []string
				for _, fe := range fes {
					got = append(got, fe.Field)
					if fe.Allowed == "" {
						t.Errorf("%s: FieldError without Allowed", fe.Field)
					}
					if !strings.HasPrefix(fe.Error(), fe.Field+": got ") {
						t.Errorf("message %q does not start with the field", fe.Error())
					}
				}
				if tc.wantFields == nil {
					if err != nil {
						t.Errorf("Check(%T) = %v, want nil", input, err)
					}
					continue
				}
				if !reflect.DeepEqual(got, tc.wantFields) {
					t.Errorf("Check(%T) fields %v, want %v (err: %v)", input, got, tc.wantFields, err)
				}
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != tc.wantFields[0] {
					t.Errorf("errors.As does not find the first FieldError in %v", err)
				}
			}
		})
	}
}

// pointerTo returns a pointer to a copy of v, the form json.Unmarshal fills.
func pointerTo(v any) any {
	p := reflect.New(reflect.TypeOf(v))
	p.Elem().Set(reflect.ValueOf(v))
	return p.Interface()
}

// TestCheckersHaveValueReceivers: an input type with cross-field rules has
// them on its value, so Check finds them on the struct and on the pointer
// json.Unmarshal fills.
func TestCheckersHaveValueReceivers(t *testing.T) {
	checker := reflect.TypeFor[Checker]()
	found := 0
	for _, e := range Catalog {
		if reflect.PointerTo(e.Input).Implements(checker) {
			found++
			if !e.Input.Implements(checker) {
				t.Errorf("%s: Check has a pointer receiver; Check(%s{}) would skip it", e.Tool, e.Input.Name())
			}
		}
	}
	if found == 0 {
		t.Error("no input type has cross-field rules; the seed states some")
	}
}

// TestWanTasksAreTheEnum: every task the schema advertises says what it
// does with video_url, and no rule names a task the schema lacks.
func TestWanTasksAreTheEnum(t *testing.T) {
	e, _ := Lookup("wan_vace_video")
	in, _ := reflectedSchemas(t, e)
	enum := in["properties"].(map[string]any)["task"].(map[string]any)["enum"].([]any)
	if len(enum) != len(wanTaskVideo) {
		t.Errorf("task enum %v, rules for %v", enum, wanTaskVideo)
	}
	for _, task := range enum {
		if _, ok := wanTaskVideo[task.(string)]; !ok {
			t.Errorf("task %v has no video_url rule", task)
		}
	}
}

func TestFieldErrorMessage(t *testing.T) {
	tests := []struct {
		err  *FieldError
		want string
	}{
		{&FieldError{Field: "video_url", Value: "", Allowed: "inpainting needs video_url and a mask"}, `video_url: got "" — inpainting needs video_url and a mask`},
		{&FieldError{Field: "mask_video_url", Allowed: "a mask"}, `mask_video_url: got nothing — a mask`},
		{&FieldError{Field: "images[1].start_frame_num", Value: 128, Allowed: "below 121"}, `images[1].start_frame_num: got 128 — below 121`},
		{&FieldError{Field: "x", Value: make(chan int), Allowed: "y"}, "x: got "},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); !strings.HasPrefix(got, tc.want) {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestFieldErrorsUnwraps(t *testing.T) {
	a := &FieldError{Field: "a", Allowed: "x"}
	b := &FieldError{Field: "b", Allowed: "y"}
	err := fmt.Errorf("invalid: %w", errors.Join(a, fmt.Errorf("wrapped: %w", b), errors.New("other")))
	got := FieldErrors(err)
	if len(got) != 2 || got[0] != a || got[1] != b {
		t.Errorf("FieldErrors = %v", got)
	}
	if FieldErrors(nil) != nil {
		t.Error("FieldErrors(nil) not nil")
	}
}
