package mediaprobe_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
	"github.com/fal-video-mcp/fal-video-mcp/tools/mediaprobe"
)

// sample is a media file with what it must probe as. The files are made
// here with ffmpeg when it is installed, from the very parameters the
// expectations state; otherwise the committed copies in testdata/ (made
// by the same commands) are used.
type sample struct {
	name string
	args []string // ffmpeg arguments before the output path
	want mediaprobe.Info
	// builtin: the built-in reader answers for it (mp4/mov).
	builtin bool
}

var samples = []sample{
	{name: "video10.mp4", builtin: true,
		args: []string{"-f", "lavfi", "-i", "color=c=0x3366cc:size=64x48:rate=10:duration=1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart"},
		want: mediaprobe.Info{Container: "mp4", DurationSeconds: 1, FrameRate: 10, FrameCount: 10, Width: 64, Height: 48, VideoCodec: "h264"}},
	{name: "av25.mp4", builtin: true, // moov after mdat
		args: []string{"-f", "lavfi", "-i", "color=c=0xcc6633:size=64x48:rate=25:duration=2", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=2",
			"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "8k", "-shortest"},
		want: mediaprobe.Info{Container: "mp4", DurationSeconds: 2, FrameRate: 25, FrameCount: 50, Width: 64, Height: 48, VideoCodec: "h264",
			HasAudio: true, AudioCodec: "aac", SampleRate: 44100}},
	{name: "rot.mov", builtin: true, // made in two steps, see makeSample
		args: []string{"-f", "lavfi", "-i", "color=c=0x33cc66:size=48x32:rate=30000/1001:duration=1", "-c:v", "mpeg4", "-f", "mov"},
		want: mediaprobe.Info{Container: "mov", DurationSeconds: 1.001, FrameRate: 30000.0 / 1001, FrameCount: 30, Width: 48, Height: 32, VideoCodec: "mpeg4", Rotation: 90}},
	{name: "clip.webm",
		args: []string{"-f", "lavfi", "-i", "color=c=0x33cc66:size=48x32:rate=10:duration=1", "-c:v", "libvpx-vp9"},
		want: mediaprobe.Info{Container: "matroska", DurationSeconds: 1, FrameRate: 10, FrameCount: 10, FrameCountEst: true, Width: 48, Height: 32, VideoCodec: "vp9"}},
}

// makeSample returns the path of the sample: made now with ffmpeg, or the
// committed copy.
func makeSample(t *testing.T, s sample) string {
	t.Helper()
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Logf("ffmpeg is not installed: using the committed testdata/%s", s.name)
		return filepath.Join("testdata", s.name)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, s.name)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := append(append([]string{"-v", "error", "-y"}, s.args...), out)
	if s.want.Rotation != 0 { // rotation is set on a stream copy
		args[len(args)-1] = filepath.Join(dir, "plain.mov")
	}
	if b, err := exec.CommandContext(ctx, ffmpeg, args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, b)
	}
	if s.want.Rotation != 0 {
		args := []string{"-v", "error", "-y", "-i", filepath.Join(dir, "plain.mov"), "-c", "copy", "-metadata:s:v:0", "rotate=90", "-f", "mov", out}
		if b, err := exec.CommandContext(ctx, ffmpeg, args...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %v: %v\n%s", args, err, b)
		}
	}
	return out
}

func checkInfo(t *testing.T, got, want mediaprobe.Info) {
	t.Helper()
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
	if got.Container != want.Container || !near(got.DurationSeconds, want.DurationSeconds) || !near(got.FrameRate, want.FrameRate) ||
		got.FrameCount != want.FrameCount || got.FrameCountEst != want.FrameCountEst || got.Width != want.Width || got.Height != want.Height ||
		got.Rotation != want.Rotation || got.VideoCodec != want.VideoCodec || got.AudioCodec != want.AudioCodec ||
		got.HasAudio != want.HasAudio || got.SampleRate != want.SampleRate || got.SizeBytes != want.SizeBytes || got.Prober != want.Prober {
		t.Errorf("probed\n %+v\nwant\n %+v", got, want)
	}
}

// TestProbeFile: each sample, through ffprobe (when installed) and through
// the built-in reader with ffprobe hidden from PATH.
func TestProbeFile(t *testing.T) {
	ffprobe, ffErr := exec.LookPath("ffprobe")
	for _, s := range samples {
		path := makeSample(t, s)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		want := s.want
		want.SizeBytes = fi.Size()
		probe := func(t *testing.T, p *mediaprobe.Prober) (mediaprobe.Info, error) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			return p.ProbeFile(context.Background(), f, fi.Size())
		}
		t.Run(s.name+"/ffprobe", func(t *testing.T) {
			if ffErr != nil {
				t.Skip("ffprobe is not installed")
			}
			got, err := probe(t, &mediaprobe.Prober{FFprobe: ffprobe})
			if err != nil {
				t.Fatal(err)
			}
			w := want
			w.Prober = "ffprobe"
			checkInfo(t, got, w)
		})
		t.Run(s.name+"/builtin", func(t *testing.T) {
			t.Setenv("PATH", t.TempDir()) // no ffprobe on PATH
			got, err := probe(t, &mediaprobe.Prober{})
			if !s.builtin {
				if !errors.Is(err, mediaprobe.ErrNeedFFprobe) {
					t.Fatalf("got %+v, %v; want ErrNeedFFprobe", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			w := want
			w.Prober = "builtin"
			checkInfo(t, got, w)
		})
	}
}

// topBoxes walks a file's top-level boxes (independently of the reader).
func topBoxes(t *testing.T, data []byte) map[string]int64 {
	t.Helper()
	boxes := map[string]int64{}
	for off := 0; off+8 <= len(data); {
		size := int(binary.BigEndian.Uint32(data[off:]))
		if size < 8 || off+size > len(data) {
			t.Fatalf("unexpected box size %d at %d", size, off)
		}
		boxes[string(data[off+4:off+8])] += int64(size)
		off += size
	}
	return boxes
}

// TestProbeURL: a URL probe reads the header boxes with range requests —
// never the media data — and finds what a local probe finds.
func TestProbeURL(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{})
	t.Cleanup(emu.Close)
	for _, s := range samples {
		if !s.builtin {
			continue
		}
		t.Run(s.name, func(t *testing.T) {
			data, err := os.ReadFile(makeSample(t, s))
			if err != nil {
				t.Fatal(err)
			}
			u := emu.AddFile(s.name, "video/mp4", data)
			emu.ResetRequests()
			got, err := (&mediaprobe.Prober{FFprobe: "-"}).ProbeURL(context.Background(), u)
			if err != nil {
				t.Fatal(err)
			}
			want := s.want
			want.SizeBytes, want.Prober = int64(len(data)), "builtin"
			checkInfo(t, got, want)
			var sent int64
			for _, r := range emu.Requests() {
				if r.Header.Get("Range") == "" {
					t.Errorf("a read without Range: %s %s", r.Method, r.Path)
				}
				sent += r.BodySent
			}
			boxes := topBoxes(t, data)
			// At most 16 bytes per top-level box header, ftyp and moov whole.
			limit := 16*int64(len(boxes)) + boxes["ftyp"] + boxes["moov"]
			if sent > limit || sent > int64(len(data))-boxes["mdat"]+16*int64(len(boxes)) {
				t.Errorf("read %d bytes of %d (mdat %d): more than the headers (%d)", sent, len(data), boxes["mdat"], limit)
			}
			t.Logf("%s: %d of %d bytes read over %d requests", s.name, sent, len(data), len(emu.Requests()))
		})
	}
}

// TestProbeURLNotMP4: another container without ffprobe is a clear error
// after one small read.
func TestProbeURLNotMP4(t *testing.T) {
	emu := faltest.NewServer(faltest.Options{})
	t.Cleanup(emu.Close)
	data, err := os.ReadFile(filepath.Join("testdata", "clip.webm"))
	if err != nil {
		t.Fatal(err)
	}
	u := emu.AddFile("clip.webm", "video/webm", data)
	_, err = (&mediaprobe.Prober{FFprobe: "-"}).ProbeURL(context.Background(), u)
	if !errors.Is(err, mediaprobe.ErrNeedFFprobe) {
		t.Fatalf("got %v, want ErrNeedFFprobe", err)
	}
	var sent int64
	for _, r := range emu.Requests() {
		sent += r.BodySent
	}
	if sent > 16 {
		t.Errorf("read %d bytes to find it is not an mp4", sent)
	}
}

// FuzzReadBMFF: the built-in reader never panics on any input, and what
// it answers is in range.
func FuzzReadBMFF(f *testing.F) {
	for _, s := range samples {
		if data, err := os.ReadFile(filepath.Join("testdata", s.name)); err == nil {
			f.Add(data)
			f.Add(data[:len(data)/2])
		}
	}
	f.Add([]byte("\x00\x00\x00\x08ftyp"))
	f.Add([]byte("\x00\x00\x00\x01moov\xff\xff\xff\xff\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := mediaprobe.ReadBMFF(byteReader(data), int64(len(data)))
		if err != nil {
			return
		}
		for _, v := range []float64{in.DurationSeconds, in.FrameRate} {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				t.Fatalf("out of range: %+v", in)
			}
		}
		if in.Rotation%90 != 0 || in.Rotation < 0 || in.Rotation >= 360 || in.FrameCount < 0 || in.Width < 0 || in.Height < 0 {
			t.Fatalf("out of range: %+v", in)
		}
	})
}

type byteReader []byte

func (b byteReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
