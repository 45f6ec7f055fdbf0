package mediaprobe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// ErrNotBMFF is matched (errors.Is) when the data is not an ISO-BMFF
// (mp4/mov) file.
var ErrNotBMFF = errors.New("not an mp4/mov (ISO-BMFF) file")

// Limits of the built-in reader: what a real file's headers stay far below.
const (
	maxMoov      = 64 << 20 // bytes of the moov box read into memory
	maxTopBoxes  = 4096     // top-level boxes walked looking for moov
	maxBoxDepth  = 8
	maxFtypBytes = 256
)

// firstBoxes are the box types an mp4/mov file can start with.
var firstBoxes = map[string]bool{"ftyp": true, "moov": true, "mdat": true, "free": true, "skip": true, "wide": true, "pnot": true}

type sizer interface{ Size() int64 }

// readBMFF walks the top-level boxes (reading 16 header bytes each) to
// ftyp and moov, reads them, and parses moov. size < 0: unknown (a URL;
// the reader learns it from its first answer).
func readBMFF(r io.ReaderAt, size int64) (Info, error) {
	var hdr [16]byte
	var off int64
	brand := ""
	var moov []byte
	for i := 0; i < maxTopBoxes && moov == nil; i++ {
		if size >= 0 && off >= size {
			break
		}
		n, err := r.ReadAt(hdr[:], off)
		if err != nil && !errors.Is(err, io.EOF) {
			return Info{}, err
		}
		if size < 0 {
			if s, ok := r.(sizer); ok && s.Size() >= 0 {
				size = s.Size()
			}
		}
		if n < 8 {
			if i == 0 {
				return Info{}, ErrNotBMFF
			}
			break
		}
		typ := string(hdr[4:8])
		if i == 0 && !firstBoxes[typ] {
			return Info{}, ErrNotBMFF
		}
		boxSize := int64(binary.BigEndian.Uint32(hdr[0:4]))
		hlen := int64(8)
		switch boxSize {
		case 1:
			if n < 16 {
				return Info{}, fmt.Errorf("mp4: box %q at %d is cut short", typ, off)
			}
			boxSize, hlen = int64(binary.BigEndian.Uint64(hdr[8:16])), 16
		case 0: // to the end of the file
			if size < 0 {
				return Info{}, fmt.Errorf("mp4: box %q at %d runs to the end of a file of unknown size", typ, off)
			}
			boxSize = size - off
		}
		if boxSize < hlen || boxSize > math.MaxInt64-off {
			return Info{}, fmt.Errorf("mp4: box %q at %d has a bad size %d", typ, off, boxSize)
		}
		switch typ {
		case "ftyp":
			b, err := readFull(r, off+hlen, min(boxSize-hlen, maxFtypBytes))
			if err != nil {
				return Info{}, err
			}
			if len(b) >= 4 {
				brand = string(b[0:4])
			}
		case "moov":
			if boxSize-hlen > maxMoov {
				return Info{}, fmt.Errorf("mp4: moov box of %d bytes is over the reader's %d-byte limit", boxSize-hlen, maxMoov)
			}
			if moov, err = readFull(r, off+hlen, boxSize-hlen); err != nil {
				return Info{}, err
			}
		}
		off += boxSize
	}
	if moov == nil {
		return Info{}, errors.New("mp4: no moov box (the file is cut short, or not a complete mp4/mov)")
	}
	in := Info{Container: "mp4", Prober: "builtin", SizeBytes: max(size, 0)}
	if brand == "qt  " {
		in.Container = "mov"
	}
	if err := parseMoov(moov, &in); err != nil {
		return Info{}, err
	}
	return in, nil
}

func readFull(r io.ReaderAt, off, n int64) ([]byte, error) {
	b := make([]byte, n)
	got, err := r.ReadAt(b, off)
	if int64(got) < n {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("mp4: reading %d bytes at %d: %w", n, off, err)
	}
	return b, nil
}

// eachBox calls fn for every child box in b, in order, until fn returns
// false. Malformed sizes end the walk.
func eachBox(b []byte, fn func(typ string, body []byte) bool) {
	for len(b) >= 8 {
		size := uint64(binary.BigEndian.Uint32(b[0:4]))
		typ := string(b[4:8])
		hlen := uint64(8)
		switch size {
		case 1:
			if len(b) < 16 {
				return
			}
			size, hlen = binary.BigEndian.Uint64(b[8:16]), 16
		case 0:
			size = uint64(len(b))
		}
		if size < hlen || size > uint64(len(b)) {
			return
		}
		if !fn(typ, b[hlen:size]) {
			return
		}
		b = b[size:]
	}
}

// track is what the reader keeps of one trak box.
type track struct {
	handler    string
	timescale  uint32
	duration   uint64
	samples    uint64 // sum of stts counts
	deltas     uint64 // sum of stts count × delta, in timescale units
	codec      string
	width      int
	height     int
	rotation   int
	sampleRate int
}

func parseMoov(moov []byte, in *Info) error {
	var timescale uint32
	var duration uint64
	var video, audio *track
	eachBox(moov, func(typ string, body []byte) bool {
		switch typ {
		case "mvhd":
			timescale, duration, _ = timeHeader(body)
		case "trak":
			t := parseTrak(body)
			switch {
			case t.handler == "vide" && video == nil:
				video = &t
			case t.handler == "soun" && audio == nil:
				audio = &t
			}
		}
		return true
	})
	if timescale > 0 {
		in.DurationSeconds = float64(duration) / float64(timescale)
	}
	if video == nil && audio == nil {
		return errors.New("mp4: no video or audio track in moov")
	}
	trackSeconds := func(t *track) float64 {
		if t.timescale == 0 {
			return 0
		}
		return float64(t.duration) / float64(t.timescale)
	}
	if video != nil {
		in.VideoCodec, in.Width, in.Height, in.Rotation = video.codec, video.width, video.height, video.rotation
		in.FrameCount = int64(min(video.samples, math.MaxInt64))
		if video.deltas > 0 && video.timescale > 0 {
			in.FrameRate = float64(video.samples) * float64(video.timescale) / float64(video.deltas)
		}
		if in.DurationSeconds == 0 {
			in.DurationSeconds = trackSeconds(video)
		}
	}
	if audio != nil {
		in.HasAudio, in.AudioCodec, in.SampleRate = true, audio.codec, audio.sampleRate
		if in.SampleRate == 0 {
			in.SampleRate = int(audio.timescale)
		}
		if in.DurationSeconds == 0 {
			in.DurationSeconds = trackSeconds(audio)
		}
	}
	return checkDuration(in.DurationSeconds)
}

// timeHeader reads the timescale and duration of an mvhd or mdhd body. A
// duration of all ones is ISO 14496-12's "unknown": read as 0.
func timeHeader(b []byte) (timescale uint32, duration uint64, ok bool) {
	if len(b) < 4 {
		return 0, 0, false
	}
	if b[0] == 1 { // version 1: 64-bit times
		if len(b) < 4+8+8+4+8 {
			return 0, 0, false
		}
		if duration = binary.BigEndian.Uint64(b[24:32]); duration == math.MaxUint64 {
			duration = 0
		}
		return binary.BigEndian.Uint32(b[20:24]), duration, true
	}
	if len(b) < 4+4+4+4+4 {
		return 0, 0, false
	}
	if duration = uint64(binary.BigEndian.Uint32(b[16:20])); duration == math.MaxUint32 {
		duration = 0
	}
	return binary.BigEndian.Uint32(b[12:16]), duration, true
}

func parseTrak(trak []byte) track {
	var t track
	var walk func(b []byte, depth int)
	walk = func(b []byte, depth int) {
		if depth > maxBoxDepth {
			return
		}
		eachBox(b, func(typ string, body []byte) bool {
			switch typ {
			case "mdia", "minf", "stbl":
				walk(body, depth+1)
			case "tkhd":
				t.rotation = tkhdRotation(body)
			case "mdhd":
				t.timescale, t.duration, _ = timeHeader(body)
			case "hdlr":
				if len(body) >= 12 && t.handler == "" { // mdia's; a mov's minf has a data handler too
					t.handler = string(body[8:12])
				}
			case "stsd":
				parseStsd(body, &t)
			case "stts":
				parseStts(body, &t)
			}
			return true
		})
	}
	walk(trak, 0)
	return t
}

// tkhdRotation reads the display matrix of a tkhd body as ffprobe reports
// it: the matrix's counter-clockwise angle (0, 90, 180, 270).
func tkhdRotation(b []byte) int {
	matrixAt := 4 + 4 + 4 + 4 + 4 + 4 + 8 + 2 + 2 + 2 + 2 // version 0
	if len(b) > 0 && b[0] == 1 {
		matrixAt = 4 + 8 + 8 + 4 + 4 + 8 + 8 + 2 + 2 + 2 + 2
	}
	if len(b) < matrixAt+36 {
		return 0
	}
	fixed := func(i int) float64 {
		return float64(int32(binary.BigEndian.Uint32(b[matrixAt+4*i:]))) / 65536
	}
	a, bb := fixed(0), fixed(1)
	deg := -math.Round(math.Atan2(bb, a)*180/math.Pi/90) * 90
	return (int(deg)%360 + 360) % 360
}

// codecNames maps sample entry types to ffprobe's codec names.
var codecNames = map[string]string{
	"avc1": "h264", "avc3": "h264", "hvc1": "hevc", "hev1": "hevc", "av01": "av1", "vp09": "vp9", "vp08": "vp8",
	"mp4v": "mpeg4", "jpeg": "mjpeg", "mjpa": "mjpeg", "apch": "prores", "apcn": "prores", "apcs": "prores",
	"apco": "prores", "ap4h": "prores", "ap4x": "prores", "mp4a": "aac", "Opus": "opus", "ac-3": "ac3",
	"ec-3": "eac3", "fLaC": "flac", ".mp3": "mp3", "alac": "alac", "sowt": "pcm_s16le", "twos": "pcm_s16be",
	"lpcm": "pcm", "ipcm": "pcm", "fpcm": "pcm",
}

func codecName(fourcc string) string {
	if n, ok := codecNames[fourcc]; ok {
		return n
	}
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return -1
		}
		return r
	}, fourcc))
}

// parseStsd reads the first sample entry: its codec, and the coded size
// (video) or sample rate (audio).
func parseStsd(b []byte, t *track) {
	if len(b) < 8 {
		return
	}
	eachBox(b[8:], func(typ string, entry []byte) bool {
		t.codec = codecName(typ)
		switch t.handler {
		case "vide":
			if len(entry) >= 28 { // SampleEntry (8) + 16 pre-defined/reserved, then width, height
				t.width = int(binary.BigEndian.Uint16(entry[24:26]))
				t.height = int(binary.BigEndian.Uint16(entry[26:28]))
			}
		case "soun":
			if len(entry) >= 28 { // SampleEntry (8) + 16, then 16.16 sample rate
				t.sampleRate = int(binary.BigEndian.Uint32(entry[24:28]) >> 16)
			}
		}
		return false // the first entry only
	})
}

// parseStts sums the time-to-sample table: the sample (frame) count and
// the total duration in the track's timescale.
func parseStts(b []byte, t *track) {
	if len(b) < 8 {
		return
	}
	n := uint64(binary.BigEndian.Uint32(b[4:8]))
	entries := b[8:]
	n = min(n, uint64(len(entries)/8))
	for i := uint64(0); i < n; i++ {
		count := uint64(binary.BigEndian.Uint32(entries[8*i:]))
		delta := uint64(binary.BigEndian.Uint32(entries[8*i+4:]))
		t.samples += count
		t.deltas += count * delta
	}
}
