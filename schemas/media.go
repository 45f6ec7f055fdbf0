package schemas

import (
	"reflect"
	"strings"
)

// MediaPaths lists the input fields of t that take media — a video,
// image, audio or mask URL — as paths into the JSON input: "video_url",
// "ref_image_urls[]" (every item of a list), "images[].image_url" (a field
// of every item). A field is a media field when its struct tag says
// fal:"media"; the tools layer accepts local files there.
func MediaPaths(t reflect.Type) []string {
	var out []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			path := prefix + name
			if f.Tag.Get("fal") == "media" {
				if ft.Kind() == reflect.Slice {
					path += "[]"
				}
				out = append(out, path)
				continue
			}
			switch ft.Kind() {
			case reflect.Struct:
				walk(ft, path+".")
			case reflect.Slice:
				walk(ft.Elem(), path+"[].")
			}
		}
	}
	walk(t, "")
	return out
}
