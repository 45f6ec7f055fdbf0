package schemas

import (
	"reflect"
	"strings"
)

// MediaField is one media field of an input: its path (as MediaPaths
// writes it) and the kind of media it takes: "video", "image" or "audio".
type MediaField struct {
	Path string
	Kind string
}

// MediaKinds are the kinds a media field's tag may name.
var MediaKinds = []string{"video", "image", "audio"}

// MediaPaths lists the input fields of t that take media — a video,
// image, audio or mask URL — as paths into the JSON input: "video_url",
// "ref_image_urls[]" (every item of a list), "images[].image_url" (a field
// of every item). A field is a media field when its struct tag says
// fal:"media,<kind>"; the tools layer accepts local files there.
func MediaPaths(t reflect.Type) []string {
	var out []string
	for _, f := range MediaFields(t) {
		out = append(out, f.Path)
	}
	return out
}

// MediaFields lists the media fields of t with their kinds, in the order
// of MediaPaths.
func MediaFields(t reflect.Type) []MediaField {
	var out []MediaField
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
			if tag, kind, _ := strings.Cut(f.Tag.Get("fal"), ","); tag == "media" {
				if ft.Kind() == reflect.Slice {
					path += "[]"
				}
				out = append(out, MediaField{Path: path, Kind: kind})
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
