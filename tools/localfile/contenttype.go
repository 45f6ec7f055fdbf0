package localfile

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// byExtension covers the media fal's video models take, where the
// standard library's table may be missing or wrong.
var byExtension = map[string]string{
	".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".webm": "video/webm",
	".mkv": "video/x-matroska", ".gif": "image/gif", ".png": "image/png", ".jpg": "image/jpeg",
	".jpeg": "image/jpeg", ".webp": "image/webp", ".wav": "audio/wav", ".mp3": "audio/mpeg",
	".m4a": "audio/mp4", ".aac": "audio/aac", ".ogg": "audio/ogg", ".oga": "audio/ogg",
	".flac": "audio/flac",
}

// DetectContentType names a file's media type from its first bytes, then
// from its extension; application/octet-stream when neither tells. f is
// left at its start.
func DetectContentType(f *os.File, name string) (string, error) {
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return "", err
	}
	if _, err := readerAtStart(f); err != nil {
		return "", err
	}
	if ct := sniff(head[:n]); ct != "" {
		return ct, nil
	}
	ext := strings.ToLower(filepath.Ext(name))
	if ct, ok := byExtension[ext]; ok {
		return ct, nil
	}
	if ct := mime.TypeByExtension(ext); ct != "" {
		return ct, nil
	}
	return "application/octet-stream", nil
}

// sniff recognises media containers by their magic numbers.
func sniff(b []byte) string {
	at := func(off int, magic string) bool {
		return len(b) >= off+len(magic) && string(b[off:off+len(magic)]) == magic
	}
	switch {
	case at(4, "ftyp"):
		switch brand := string(b[8:min(len(b), 12)]); {
		case brand == "qt  ":
			return "video/quicktime"
		case brand == "M4A " || brand == "M4B ":
			return "audio/mp4"
		case brand == "M4V ":
			return "video/x-m4v"
		case brand == "avif" || brand == "avis":
			return "image/avif"
		case brand == "heic" || brand == "heix" || brand == "mif1" || brand == "msf1":
			return "image/heic"
		default:
			return "video/mp4"
		}
	case at(0, "\x1a\x45\xdf\xa3"): // EBML: Matroska or WebM
		if bytes.Contains(b, []byte("webm")) {
			return "video/webm"
		}
		return "video/x-matroska"
	case at(0, "RIFF") && at(8, "WEBP"):
		return "image/webp"
	case at(0, "RIFF") && at(8, "WAVE"):
		return "audio/wav"
	case at(0, "fLaC"):
		return "audio/flac"
	case at(0, "OggS"):
		return "audio/ogg"
	case at(0, "ID3"), len(b) >= 2 && b[0] == 0xff && (b[1]&0xe6) == 0xe2: // MPEG audio layer III frame
		return "audio/mpeg"
	case len(b) >= 2 && b[0] == 0xff && (b[1]&0xf6) == 0xf0: // ADTS AAC
		return "audio/aac"
	case at(0, "GIF87a"), at(0, "GIF89a"):
		return "image/gif"
	case at(0, "\x89PNG\r\n\x1a\n"):
		return "image/png"
	case at(0, "\xff\xd8\xff"):
		return "image/jpeg"
	}
	if ct := http.DetectContentType(b); !strings.HasPrefix(ct, "text/plain") && ct != "application/octet-stream" {
		return ct
	}
	return ""
}

// mediaExtensions is the allow-list of what a saved output may be named
// after: media types and the extension they get. Anything else is saved
// as ".bin", so no output is ever saved as a page, script or program.
var mediaExtensions = map[string]string{
	"video/mp4": "mp4", "video/x-m4v": "m4v", "video/quicktime": "mov", "video/webm": "webm",
	"video/x-matroska": "mkv", "video/ogg": "ogv",
	"image/png": "png", "image/jpeg": "jpg", "image/jpg": "jpg", "image/gif": "gif", "image/webp": "webp",
	"image/avif": "avif",
	"audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/mp4": "m4a", "audio/x-m4a": "m4a", "audio/aac": "aac",
	"audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/vnd.wave": "wav",
	"audio/ogg": "ogg", "audio/flac": "flac", "audio/x-flac": "flac",
	"application/zip": "zip", // frames_zip outputs
}

// container groups the extensions of one container format: a declared
// media type may choose among them (an mp4 declared audio/mp4 is .m4a, an
// Ogg declared video/ogg is .ogv), never across them.
var container = map[string]string{
	"mp4": "bmff", "m4v": "bmff", "m4a": "bmff", "mov": "bmff",
	"mkv": "ebml", "webm": "ebml",
	"ogg": "ogg", "ogv": "ogg",
}

// MediaExtension names the extension (without the dot) a downloaded file
// is saved with. The file's first bytes (head) decide: a known media
// container gets its extension; anything else — a page, a script, a
// program, text, bytes no sniffer knows — is "bin", whatever type fal
// declares. A declared media type (the first of declared on the
// allow-list) only chooses among the names of the container the bytes
// are. A file name fal sends is never consulted.
func MediaExtension(head []byte, declared ...string) string {
	ext, ok := mediaExtensions[sniff(head)]
	if !ok {
		return "bin"
	}
	for _, d := range declared {
		if mt, _, err := mime.ParseMediaType(d); err == nil {
			if dext, ok := mediaExtensions[mt]; ok {
				if dext == ext || container[dext] != "" && container[dext] == container[ext] {
					return dext
				}
				return ext
			}
		}
	}
	return ext
}
