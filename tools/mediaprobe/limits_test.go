package mediaprobe_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/tools/mediaprobe"
)

// box is an ISO-BMFF box: a 32-bit size, the type, the body.
func box(typ string, body ...[]byte) []byte {
	b := bytes.Join(body, nil)
	out := binary.BigEndian.AppendUint32(nil, uint32(8+len(b)))
	return append(append(out, typ...), b...)
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// movie is a small mp4: an mvhd of the given version, timescale and
// duration, and one video track of 10 frames at 10 fps whose tkhd has
// the display matrix m (a, b, c, d in 16.16).
func movie(version byte, timescale uint32, duration uint64, m [4]int32) []byte {
	var mvhd []byte
	if version == 1 {
		mvhd = bytes.Join([][]byte{{1, 0, 0, 0}, u64(0), u64(0), u32(timescale), u64(duration), make([]byte, 80)}, nil)
	} else {
		mvhd = bytes.Join([][]byte{{0, 0, 0, 0}, u32(0), u32(0), u32(timescale), u32(uint32(duration)), make([]byte, 80)}, nil)
	}
	matrix := bytes.Join([][]byte{u32(uint32(m[0])), u32(uint32(m[1])), u32(0), u32(uint32(m[2])), u32(uint32(m[3])), u32(0), u32(0), u32(0), u32(0x40000000)}, nil)
	tkhd := bytes.Join([][]byte{{0, 0, 0, 3}, u32(0), u32(0), u32(1), u32(0), u32(1000), make([]byte, 8), make([]byte, 8), matrix, u32(64 << 16), u32(48 << 16)}, nil)
	mdhd := bytes.Join([][]byte{{0, 0, 0, 0}, u32(0), u32(0), u32(10), u32(10), u32(0)}, nil)
	hdlr := bytes.Join([][]byte{{0, 0, 0, 0}, u32(0), []byte("vide"), make([]byte, 13)}, nil)
	avc1 := box("avc1", make([]byte, 6), []byte{0, 1}, make([]byte, 16), []byte{0, 64, 0, 48}, make([]byte, 50))
	stsd := box("stsd", u32(0), u32(1), avc1)
	stts := box("stts", u32(0), u32(1), u32(10), u32(1))
	trak := box("trak", box("tkhd", tkhd), box("mdia", box("mdhd", mdhd), box("hdlr", hdlr), box("minf", box("stbl", stsd, stts))))
	return append(box("ftyp", []byte("isom"), u32(0)), box("moov", box("mvhd", mvhd), trak)...)
}

const one = 1 << 16 // 1.0 in 16.16

// TestRotationFromTheMatrix: the rotation is 0, 90, 180 or 270, whatever
// the header says: a matrix read by the built-in reader, and ffprobe's
// display-matrix angle or rotate tag, however large.
func TestRotationFromTheMatrix(t *testing.T) {
	for _, c := range []struct {
		name string
		m    [4]int32
		want int
	}{
		{"identity", [4]int32{one, 0, 0, one}, 0},
		{"90", [4]int32{0, one, -one, 0}, 270},
		{"-90", [4]int32{0, -one, one, 0}, 90},
		{"180", [4]int32{-one, 0, 0, -one}, 180},
		{"skewed", [4]int32{one, one / 3, 0, one}, 0},
		{"extreme", [4]int32{-0x80000000, -1, 0x7fffffff, 0x7fffffff}, 180},
		{"zero", [4]int32{0, 0, 0, 0}, 0},
	} {
		data := movie(0, 10, 10, c.m)
		in, err := mediaprobe.ReadBMFF(byteReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if in.Rotation != c.want {
			t.Errorf("builtin %s: rotation %d, want %d", c.name, in.Rotation, c.want)
		}
	}
	for _, c := range []struct {
		stream string
		want   int
	}{
		{`"side_data_list":[{"rotation":-90}]`, 270},
		{`"side_data_list":[{"rotation":90}]`, 90},
		{`"side_data_list":[{"rotation":1e300}]`, 0},
		{`"side_data_list":[{"rotation":-1e19}]`, 0},
		{`"side_data_list":[{"rotation":9223372036854775807}]`, 0},
		{`"side_data_list":[{"rotation":450}]`, 0}, // no matrix gives it
		{`"side_data_list":[{"rotation":-180.4}]`, 180},
		{`"tags":{"rotate":"90"}`, 270},
		{`"tags":{"rotate":"9223372036854775807"}`, 0},
		{`"tags":{"rotate":"9223372036854775000"}`, 0},
		{`"tags":{"rotate":"-9223372036854775808"}`, 0},
		{`"tags":{"rotate":"1e400"}`, 0},
	} {
		out := `{"streams":[{"codec_type":"video","codec_name":"h264","width":64,"height":48,"avg_frame_rate":"10/1",` + c.stream + `}],"format":{"format_name":"mov,mp4","duration":"1.0","size":"10"}}`
		in, err := mediaprobe.ParseFFprobe([]byte(out))
		if err != nil {
			t.Fatalf("%s: %v", c.stream, err)
		}
		if in.Rotation != c.want {
			t.Errorf("ffprobe %s: rotation %d°, want %d°", c.stream, in.Rotation, c.want)
		}
	}
}

// TestImpossibleDurations: a header duration that is negative, not a
// number, or longer than any real recording is refused, not reported.
func TestImpossibleDurations(t *testing.T) {
	for _, c := range []struct {
		name    string
		version byte
		scale   uint32
		dur     uint64
	}{
		{"v1 1.8e19 s", 1, 1, 1<<64 - 2},
		{"v1 1e12 s", 1, 1, 1e12},
		{"v0 a century", 0, 1, 100 * 365 * 86400},
	} {
		data := movie(c.version, c.scale, c.dur, [4]int32{one, 0, 0, one})
		in, err := mediaprobe.ReadBMFF(byteReader(data), int64(len(data)))
		if err == nil || !strings.Contains(err.Error(), "duration") {
			t.Errorf("builtin %s: got %+v, %v; want a refused duration", c.name, in, err)
		}
	}
	// All ones is the standard's "unknown": the track's duration (1 s) is
	// reported instead of 1.8e19 s.
	for _, v := range []byte{0, 1} {
		data := movie(v, 1, 1<<64-1, [4]int32{one, 0, 0, one})
		if v == 0 {
			data = movie(v, 1, 1<<32-1, [4]int32{one, 0, 0, one})
		}
		if in, err := mediaprobe.ReadBMFF(byteReader(data), int64(len(data))); err != nil || in.DurationSeconds != 1 {
			t.Errorf("mvhd v%d duration all ones: %+v, %v; want the track's 1 s", v, in, err)
		}
	}
	data := movie(0, 1000, 2500, [4]int32{one, 0, 0, one})
	if in, err := mediaprobe.ReadBMFF(byteReader(data), int64(len(data))); err != nil || in.DurationSeconds != 2.5 {
		t.Errorf("a 2.5 s movie: %+v, %v", in, err)
	}
	for _, d := range []string{"-1", "-0.5", "1.8e19", "1e300", "604801"} {
		out := `{"streams":[{"codec_type":"video","codec_name":"h264","width":64,"height":48,"avg_frame_rate":"10/1"}],"format":{"format_name":"matroska,webm","duration":"` + d + `","size":"10"}}`
		in, err := mediaprobe.ParseFFprobe([]byte(out))
		if err == nil || !strings.Contains(err.Error(), "duration") {
			t.Errorf("ffprobe duration %s: got %+v, %v; want a refused duration", d, in, err)
		}
	}
	for _, d := range []string{`"-1"`, `"3e19"`} { // a stream's own duration
		out := `{"streams":[{"codec_type":"video","codec_name":"h264","width":64,"height":48,"avg_frame_rate":"10/1","duration":` + d + `}],"format":{"format_name":"matroska,webm","size":"10"}}`
		if in, err := mediaprobe.ParseFFprobe([]byte(out)); err == nil && in.FrameCount < 0 {
			t.Errorf("stream duration %s: frame count %d", d, in.FrameCount)
		}
	}
}

// TestRangeRequestsCapped: a file of 100,000 tiny boxes before its moov
// costs a bounded number of range requests, and the error says why the
// probe stopped.
func TestRangeRequestsCapped(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{})
	t.Cleanup(emu.Close)
	var data []byte
	data = append(data, box("ftyp", []byte("isom"), u32(0))...)
	for range 100_000 {
		data = append(data, box("free")...)
	}
	data = append(data, movie(0, 10, 10, [4]int32{one, 0, 0, one})[20:]...) // its moov
	u := emu.AddFile("boxes.mp4", "video/mp4", data)
	emu.ResetRequests()
	_, err := (&mediaprobe.Prober{FFprobe: "-"}).ProbeURL(context.Background(), u)
	n := len(emu.Requests())
	t.Logf("%d range requests: %v", n, err)
	if n > mediaprobe.MaxRangeRequests {
		t.Errorf("%d range requests for one probe, want at most %d", n, mediaprobe.MaxRangeRequests)
	}
	host := mustHost(t, u)
	if err == nil || !strings.Contains(err.Error(), "range requests") || !strings.Contains(err.Error(), host) {
		t.Errorf("error %v: want why the probe stopped, naming the media host %s", err, host)
	}
}

func mustHost(t *testing.T, raw string) string {
	t.Helper()
	pu, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return pu.Host
}

// TestURLErrorsNameTheMediaHost: an error from reading a URL says which
// host it is about, so it does not read as this server's.
func TestURLErrorsNameTheMediaHost(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "av25.mp4")) // moov after mdat: needs a ranged read past the start
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"no ranges", func(w http.ResponseWriter, r *http.Request) { w.Write(data) }, "does not answer range requests"},
		{"not found", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, "404"},
	}
	for _, c := range cases {
		srv := httptest.NewServer(c.handler)
		_, err := (&mediaprobe.Prober{FFprobe: "-"}).ProbeURL(context.Background(), srv.URL+"/in.mp4")
		srv.Close()
		host := mustHost(t, srv.URL)
		if err == nil || !strings.Contains(err.Error(), "media host "+host) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want %q naming the media host %s", c.name, err, c.want, host)
		}
	}
}

// TestSniffRefusesOtherFormats: manifests, playlists and formats outside
// the ISO-BMFF/Matroska/MPEG-TS family are refused before ffprobe runs
// (an ffprobe that would answer is given, and must not be run), with the
// reason; the families themselves are accepted.
func TestSniffRefusesOtherFormats(t *testing.T) {
	dir := t.TempDir()
	// A fake ffprobe that leaves a mark when it runs.
	mark := filepath.Join(dir, "ran")
	fake := filepath.Join(dir, "ffprobe")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\ntouch "+mark+"\necho '{}'\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, body, want string
	}{
		{"dash", `<?xml version="1.0"?><MPD><Period><BaseURL>file:///etc/x.mp4</BaseURL></Period></MPD>`, "DASH manifest"},
		{"hls", "#EXTM3U\n#EXTINF:1,\nfile:///etc/x.mp4\n", "HLS playlist"},
		{"concat", "ffconcat version 1.0\nfile /etc/x.mp4\n", "concat script"},
		{"html", "<!DOCTYPE html><html></html>", "HTML"},
		{"wav", "RIFF\x24\x00\x00\x00WAVEfmt ", "RIFF"},
		{"empty", "", "empty"},
		{"binary", "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09", "another format"},
	} {
		p := filepath.Join(dir, c.name+".mp4")
		if err := os.WriteFile(p, []byte(c.body), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		_, err = (&mediaprobe.Prober{FFprobe: fake}).ProbeFile(context.Background(), f, int64(len(c.body)))
		f.Close()
		if !errors.Is(err, mediaprobe.ErrUnsupportedContainer) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want ErrUnsupportedContainer saying %q", c.name, err, c.want)
		}
		if _, err := os.Stat(mark); err == nil {
			t.Fatalf("%s: ffprobe was run on it", c.name)
		}
	}
}

// TestProbeMPEGTS: an MPEG-TS file is sniffed as one and probed by
// ffprobe with its demuxer forced.
func TestProbeMPEGTS(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg is not installed")
	}
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe is not installed")
	}
	p := filepath.Join(t.TempDir(), "clip.ts")
	if b, err := exec.Command(ffmpeg, "-v", "error", "-f", "lavfi", "-i", "color=size=32x32:rate=5:duration=1", "-c:v", "mpeg2video", "-f", "mpegts", p).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	in, err := (&mediaprobe.Prober{}).ProbeFile(context.Background(), f, fi.Size())
	if err != nil || in.Container != "mpegts" || in.Width != 32 || in.VideoCodec != "mpeg2video" {
		t.Errorf("probed %+v, %v", in, err)
	}
}
