// Package mediaprobe tells what a media file is: container, duration,
// frame rate and count, size, rotation, codecs, audio. It runs ffprobe when
// one is on PATH; without it, a small reader of ISO-BMFF headers (mp4, mov)
// answers for those containers. URLs are read with range requests, header
// boxes only: the media data is never downloaded.
//
// Only self-contained containers are probed: ISO-BMFF (mp4, mov), Matroska
// / WebM and MPEG-TS, told by their first bytes before ffprobe runs, and
// ffprobe is held to that demuxer. Playlists and manifests (HLS, DASH,
// concat scripts) name other files, which ffprobe would open wherever
// they are; they are refused (ErrUnsupportedContainer).
package mediaprobe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"time"
)

// Info is what a probe finds. Zero fields were not found (an audio-only
// file has no frame rate, a video without sound no sample rate).
type Info struct {
	Container       string  `json:"container" jsonschema:"required" jsonschema_description:"The container format: mp4, mov, or ffprobe's name for others (matroska, webm, avi …)."`
	DurationSeconds float64 `json:"duration_seconds" jsonschema:"required" jsonschema_description:"Duration in seconds."`
	FrameRate       float64 `json:"frame_rate,omitempty" jsonschema_description:"Average frames per second of the video stream (frame_count / video duration)."`
	FrameCount      int64   `json:"frame_count,omitempty" jsonschema_description:"Number of video frames."`
	FrameCountEst   bool    `json:"frame_count_estimated,omitempty" jsonschema_description:"True when the container does not record the frame count and frame_count is duration × frame_rate, rounded."`
	Width           int     `json:"width,omitempty" jsonschema_description:"Coded width in pixels, before rotation."`
	Height          int     `json:"height,omitempty" jsonschema_description:"Coded height in pixels, before rotation."`
	Rotation        int     `json:"rotation" jsonschema_description:"Display rotation in degrees (0, 90, 180 or 270): the counter-clockwise angle of the video's display matrix, as ffprobe reports it. 90 or 270: the picture shows as height × width."`
	VideoCodec      string  `json:"video_codec,omitempty" jsonschema_description:"Video codec, in ffprobe's names (h264, hevc, av1, vp9, prores …)."`
	AudioCodec      string  `json:"audio_codec,omitempty" jsonschema_description:"Audio codec, in ffprobe's names (aac, opus, mp3 …)."`
	HasAudio        bool    `json:"has_audio" jsonschema:"required" jsonschema_description:"Whether the file has an audio stream."`
	SampleRate      int     `json:"sample_rate,omitempty" jsonschema_description:"Audio sample rate in Hz."`
	SizeBytes       int64   `json:"size_bytes" jsonschema:"required" jsonschema_description:"File size in bytes."`
	Prober          string  `json:"prober" jsonschema:"required,enum=ffprobe,enum=builtin" jsonschema_description:"What read the file: ffprobe, or the built-in mp4/mov header reader."`
}

// Summary is Info in one line.
func (in Info) Summary() string {
	s := fmt.Sprintf("%s, %.3f s", in.Container, in.DurationSeconds)
	if in.VideoCodec != "" {
		s += fmt.Sprintf(", %s %dx%d", in.VideoCodec, in.Width, in.Height)
		if in.FrameRate > 0 {
			s += fmt.Sprintf(" at %s fps", trimFloat(in.FrameRate))
		}
		if in.FrameCount > 0 {
			approx := ""
			if in.FrameCountEst {
				approx = "about "
			}
			s += fmt.Sprintf(", %s%d frames", approx, in.FrameCount)
		}
		if in.Rotation != 0 {
			s += fmt.Sprintf(", display rotation %d°", in.Rotation)
		}
	}
	if in.HasAudio {
		s += fmt.Sprintf(", audio %s %d Hz", in.AudioCodec, in.SampleRate)
	} else {
		s += ", no audio"
	}
	return s + fmt.Sprintf(", %d bytes", in.SizeBytes)
}

func trimFloat(f float64) string {
	if f == math.Trunc(f) {
		return fmt.Sprintf("%.0f", f)
	}
	return fmt.Sprintf("%.3f", f)
}

// ErrNeedFFprobe is matched (errors.Is) when a file is not mp4/mov and no
// ffprobe is on PATH.
var ErrNeedFFprobe = errors.New("not an mp4/mov file, and ffprobe is not on PATH: install ffmpeg (it provides ffprobe) to probe other containers")

// ErrRemoteNotBMFF is matched when a URL is not mp4/mov and the prober may
// not hand URLs to ffprobe.
var ErrRemoteNotBMFF = errors.New("only mp4 and mov files can be probed by URL: save the file first (job_result with download: true) and probe the local file")

// Prober probes files and URLs. The zero value is ready: ffprobe from PATH,
// a 30 s timeout, http.DefaultClient.
type Prober struct {
	// FFprobe is the ffprobe to run; "" looks "ffprobe" up on PATH at each
	// probe; "-" never runs one (the built-in reader only).
	FFprobe string
	// HTTP fetches URLs (range requests).
	HTTP *http.Client
	// Timeout bounds one probe (default 30 s).
	Timeout time.Duration
	// NoRemoteFFprobe never hands a URL to ffprobe, which would fetch it
	// with no check of where it connects: a URL that is not mp4/mov is
	// refused with ErrRemoteNotBMFF.
	NoRemoteFFprobe bool
}

func (p *Prober) timeout() time.Duration {
	if p.Timeout > 0 {
		return p.Timeout
	}
	return 30 * time.Second
}

func (p *Prober) ffprobe() string {
	switch p.FFprobe {
	case "-":
		return ""
	case "":
		path, err := exec.LookPath("ffprobe")
		if err != nil {
			return ""
		}
		return path
	}
	return p.FFprobe
}

// ProbeFile probes an opened local file of the given size. The file is
// passed to ffprobe as an inherited descriptor, never by name, so what is
// probed is what the caller opened; its first bytes are sniffed first, and
// a file that is not mp4/mov, Matroska/WebM or MPEG-TS (a playlist or
// manifest that names other files, say) is refused before ffprobe runs,
// with ErrUnsupportedContainer and what it looks like.
func (p *Prober) ProbeFile(ctx context.Context, f *os.File, size int64) (Info, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout())
	defer cancel()
	head, err := readHead(f)
	if err != nil {
		return Info{}, err
	}
	fam, err := sniff(head)
	if err != nil {
		return Info{}, err
	}
	if bin := p.ffprobe(); bin != "" {
		in, err := runFFprobe(ctx, bin, f, "", fam)
		if err != nil {
			return Info{}, err
		}
		in.SizeBytes = size
		return in, nil
	}
	if fam != famBMFF {
		return Info{}, ErrNeedFFprobe
	}
	return ReadBMFF(f, size)
}

// ProbeURL probes an http(s) URL. mp4 and mov are read by the built-in
// reader with range requests for the header boxes only (at most
// MaxRangeRequests); other containers go to ffprobe (which reads what it
// needs itself), when there is one and the prober may hand it URLs, after
// the same sniff of the first bytes as ProbeFile.
func (p *Prober) ProbeURL(ctx context.Context, url string) (Info, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout())
	defer cancel()
	hc := p.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	r := newRangeReader(ctx, hc, url)
	in, err := readBMFF(r, -1)
	if err == nil || !errors.Is(err, ErrNotBMFF) {
		return in, err
	}
	if p.NoRemoteFFprobe {
		return Info{}, ErrRemoteNotBMFF
	}
	bin := p.ffprobe()
	if bin == "" {
		return Info{}, ErrNeedFFprobe
	}
	head, err := readHead(r)
	if err != nil {
		return Info{}, err
	}
	fam, err := sniff(head)
	if err != nil {
		return Info{}, err
	}
	in, err = runFFprobe(ctx, bin, nil, url, fam)
	if err != nil {
		return Info{}, err
	}
	if in.SizeBytes == 0 {
		in.SizeBytes = r.total
	}
	return in, nil
}

// ReadBMFF reads an mp4/mov file's header boxes. It reads the top-level
// box headers and the whole moov box (capped), nothing of the media data.
func ReadBMFF(r io.ReaderAt, size int64) (Info, error) { return readBMFF(r, size) }
