package faltest

import (
	"embed"
	"path"
	"strings"
)

// The sample media the CDN serves as model outputs: small, real, playable
// files (made once with ffmpeg: a one-second 96×54 H.264/AAC test pattern
// with a tone, the same tone as MP3, one frame as PNG, three frames as a
// ZIP). A rehearsal against the emulator handles the same kinds of bytes
// as a real run.
//
//go:embed media/sample.*
var sampleFiles embed.FS

// A Sample is one of the emulator's sample media files.
type Sample struct {
	Kind        string // "video", "audio", "image" or "zip"
	Ext         string // file name extension, with the dot
	ContentType string
	Data        []byte
}

var samples = map[string]Sample{
	"video": {Kind: "video", Ext: ".mp4", ContentType: "video/mp4"},
	"audio": {Kind: "audio", Ext: ".mp3", ContentType: "audio/mpeg"},
	"image": {Kind: "image", Ext: ".png", ContentType: "image/png"},
	"zip":   {Kind: "zip", Ext: ".zip", ContentType: "application/zip"},
}

func init() {
	for kind, s := range samples {
		b, err := sampleFiles.ReadFile("media/sample" + s.Ext)
		if err != nil {
			panic("faltest: sample media: " + err.Error())
		}
		s.Data = b
		samples[kind] = s
	}
}

// SampleOf returns the sample media file of a kind: "video", "audio",
// "image" or "zip".
func SampleOf(kind string) (Sample, bool) {
	s, ok := samples[kind]
	if ok {
		s.Data = append([]byte(nil), s.Data...)
	}
	return s, ok
}

// mediaKind decides which sample stands for a file object of a model
// output: by the name of the field that holds it ("video", "audio_file",
// "images", "frames_zip"), else by its content type, else by the
// extension of its file name or URL. "" means none fits.
func mediaKind(field, contentType, name string) string {
	field = strings.ToLower(field)
	for _, k := range []struct{ word, kind string }{{"video", "video"}, {"audio", "audio"}, {"zip", "zip"}, {"image", "image"}, {"frame", "image"}} {
		if strings.Contains(field, k.word) {
			return k.kind
		}
	}
	ct := strings.ToLower(contentType)
	switch {
	case strings.HasPrefix(ct, "video/"):
		return "video"
	case strings.HasPrefix(ct, "audio/"):
		return "audio"
	case strings.HasPrefix(ct, "image/"):
		return "image"
	case strings.Contains(ct, "zip"):
		return "zip"
	}
	switch strings.ToLower(path.Ext(name)) {
	case ".mp4", ".mov", ".webm", ".mkv", ".avi":
		return "video"
	case ".mp3", ".wav", ".m4a", ".aac", ".ogg", ".flac":
		return "audio"
	case ".png", ".jpg", ".jpeg", ".webp", ".gif":
		return "image"
	case ".zip":
		return "zip"
	}
	return ""
}
