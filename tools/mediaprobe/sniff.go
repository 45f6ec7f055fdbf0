package mediaprobe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrUnsupportedContainer is matched (errors.Is) when a file's first bytes
// are not those of a container the prober reads: ISO-BMFF (mp4, mov, m4a,
// 3gp), Matroska/WebM or MPEG-TS. Manifests and playlists (DASH, HLS,
// ffmpeg concat scripts) are refused this way before ffprobe runs: they
// name other files, which ffprobe would open wherever they are.
var ErrUnsupportedContainer = errors.New("not an mp4/mov, Matroska/WebM or MPEG-TS file")

// sniffLen is how many first bytes the sniffer reads.
const sniffLen = 512

// family is a container family and the ffprobe demuxer forced for it: the
// demuxer is never chosen by ffprobe from the file's content.
type family struct {
	name    string // for messages
	demuxer string // ffprobe -f
}

var (
	famBMFF     = family{"mp4/mov", "mov"}
	famMatroska = family{"Matroska/WebM", "matroska"}
	famTS       = family{"MPEG-TS", "mpegts"}
)

// sniff tells the family of a file from its first bytes, or why it is
// none of them (an ErrUnsupportedContainer).
func sniff(head []byte) (family, error) {
	switch {
	case len(head) >= 8 && firstBoxes[string(head[4:8])] && boxSizeOK(head):
		return famBMFF, nil
	case bytes.HasPrefix(head, []byte{0x1a, 0x45, 0xdf, 0xa3}): // EBML
		return famMatroska, nil
	case isTS(head):
		return famTS, nil
	}
	return family{}, fmt.Errorf("%w: its first bytes look like %s", ErrUnsupportedContainer, lookalike(head))
}

// boxSizeOK: the first box's size field is 0 (to the end), 1 (64-bit
// size follows) or at least a header.
func boxSizeOK(head []byte) bool {
	n := binary.BigEndian.Uint32(head[0:4])
	return n == 0 || n == 1 || n >= 8
}

// isTS: sync bytes (0x47) at the start of the first packets, for packets
// of 188 bytes, 192 (M2TS: a 4-byte time code first) or 204 (with FEC).
func isTS(head []byte) bool {
	for _, p := range []struct{ start, size int }{{0, 188}, {4, 192}, {0, 204}} {
		ok, seen := true, 0
		for off := p.start; off < len(head); off += p.size {
			if head[off] != 0x47 {
				ok = false
				break
			}
			seen++
		}
		if ok && seen >= 2 {
			return true
		}
	}
	return false
}

// lookalike names what a refused file seems to be, for the message.
func lookalike(head []byte) string {
	t := bytes.TrimLeft(head, "\xef\xbb\xbf \t\r\n")
	has := func(s string) bool { return bytes.Contains(bytes.ToLower(t), []byte(s)) }
	switch {
	case len(head) == 0:
		return "nothing (the file is empty)"
	case bytes.HasPrefix(t, []byte("#EXTM3U")):
		return "an HLS playlist, which names other files"
	case has("<mpd"):
		return "a DASH manifest, which names other files"
	case bytes.HasPrefix(t, []byte("ffconcat")) || bytes.HasPrefix(t, []byte("file ")):
		return "an ffmpeg concat script, which names other files"
	case has("<smil") || has("<?xml"):
		return "an XML document (a manifest or playlist names other files)"
	case has("<html") || has("<!doctype"):
		return "an HTML page"
	case bytes.HasPrefix(head, []byte("RIFF")) && len(head) >= 12:
		return fmt.Sprintf("a RIFF %q file (WAV or AVI)", head[8:12])
	case bytes.HasPrefix(head, []byte("OggS")):
		return "an Ogg file"
	case bytes.HasPrefix(head, []byte("ID3")) || len(head) >= 2 && head[0] == 0xff && head[1]&0xe0 == 0xe0:
		return "an MP3 file"
	case bytes.HasPrefix(head, []byte("fLaC")):
		return "a FLAC file"
	case bytes.HasPrefix(head, []byte("\x89PNG")):
		return "a PNG image"
	case bytes.HasPrefix(head, []byte{0xff, 0xd8, 0xff}):
		return "a JPEG image"
	case bytes.HasPrefix(head, []byte("GIF8")):
		return "a GIF image"
	case isText(head):
		return "text (a manifest, playlist or script names other files)"
	}
	return "another format"
}

func isText(b []byte) bool {
	for _, c := range b {
		if c < 0x09 || c > 0x0d && c < 0x20 && c != 0x1b {
			return false
		}
	}
	return true
}

// readHead reads up to sniffLen first bytes.
func readHead(r io.ReaderAt) ([]byte, error) {
	b := make([]byte, sniffLen)
	n, err := r.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b[:n], nil
}
