package mediaprobe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// ffprobeOutput is the part of `ffprobe -print_format json -show_format
// -show_streams` the probe reads.
type ffprobeOutput struct {
	Streams []struct {
		CodecType    string `json:"codec_type"`
		CodecName    string `json:"codec_name"`
		Width        int    `json:"width"`
		Height       int    `json:"height"`
		AvgFrameRate string `json:"avg_frame_rate"`
		RFrameRate   string `json:"r_frame_rate"`
		NbFrames     string `json:"nb_frames"`
		Duration     string `json:"duration"`
		SampleRate   string `json:"sample_rate"`
		Tags         struct {
			Rotate string `json:"rotate"`
		} `json:"tags"`
		SideData []struct {
			Rotation *float64 `json:"rotation"`
		} `json:"side_data_list"`
		Disposition struct {
			AttachedPic int `json:"attached_pic"`
		} `json:"disposition"`
	} `json:"streams"`
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
		Size       string `json:"size"`
		Tags       struct {
			MajorBrand string `json:"major_brand"`
		} `json:"tags"`
	} `json:"format"`
}

// runFFprobe runs ffprobe on f (passed as descriptor 3) or on url, with
// the demuxer of fam forced: ffprobe never picks one from the content, so
// a playlist or manifest (HLS, DASH, concat …) is never read as one and
// names no other file for it to open. Its protocols are limited to what
// reading that one input needs (file, for /dev/fd/3: ffprobe 5 has no
// fd: protocol, and pipe: cannot seek to an mp4's moov at the end), and
// only the forced demuxer may open anything. The arguments are argv,
// never a shell line.
func runFFprobe(ctx context.Context, bin string, f *os.File, url string, fam family) (Info, error) {
	args := []string{"-hide_banner", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
		"-format_whitelist", fam.demuxer, "-f", fam.demuxer}
	if fam == famBMFF {
		args = append(args, "-enable_drefs", "0") // the default; a mov's data references name other files
	}
	var cmd *exec.Cmd
	if f != nil {
		if _, err := f.Seek(0, 0); err != nil {
			return Info{}, err
		}
		cmd = exec.CommandContext(ctx, bin, append(args, "-protocol_whitelist", "file", "-i", "/dev/fd/3")...)
		cmd.ExtraFiles = []*os.File{f}
	} else {
		cmd = exec.CommandContext(ctx, bin, append(args, "-protocol_whitelist", "http,https,tcp,tls", "-i", url)...)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return Info{}, fmt.Errorf("ffprobe did not finish in time: %w", ctx.Err())
		}
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		return Info{}, fmt.Errorf("ffprobe could not read the file as %s: %v: %s", fam.name, err, msg)
	}
	return parseFFprobe(stdout.Bytes())
}

func parseFFprobe(out []byte) (Info, error) {
	var o ffprobeOutput
	if err := json.Unmarshal(out, &o); err != nil {
		return Info{}, fmt.Errorf("ffprobe's answer is not the JSON expected: %w", err)
	}
	in := Info{Prober: "ffprobe", Container: strings.Split(o.Format.FormatName, ",")[0]}
	if strings.HasPrefix(o.Format.FormatName, "mov,mp4") {
		in.Container = "mp4"
		if o.Format.Tags.MajorBrand == "qt  " {
			in.Container = "mov"
		}
	}
	if d, err := strconv.ParseFloat(o.Format.Duration, 64); err == nil || errors.Is(err, strconv.ErrRange) { // 1e400 is +Inf
		if err := checkDuration(d); err != nil {
			return Info{}, err
		}
		in.DurationSeconds = d
	}
	in.SizeBytes, _ = strconv.ParseInt(o.Format.Size, 10, 64)
	seenVideo := false
	for _, s := range o.Streams {
		switch {
		case s.CodecType == "video" && !seenVideo && s.Disposition.AttachedPic == 0:
			seenVideo = true
			in.VideoCodec, in.Width, in.Height = s.CodecName, s.Width, s.Height
			in.FrameRate = parseRate(s.AvgFrameRate)
			if in.FrameRate == 0 {
				in.FrameRate = parseRate(s.RFrameRate)
			}
			if n, err := strconv.ParseInt(s.NbFrames, 10, 64); err == nil && n > 0 {
				in.FrameCount = n
			} else if d := max(parseFloat(s.Duration), in.DurationSeconds); d > 0 && d <= MaxDurationSeconds && in.FrameRate > 0 && in.FrameRate < 1e6 {
				in.FrameCount, in.FrameCountEst = int64(math.Round(d*in.FrameRate)), true
			}
			// The display matrix's counter-clockwise angle, as ffprobe
			// prints it; the old rotate tag is clockwise.
			rot := 0.0
			for _, sd := range s.SideData {
				if sd.Rotation != nil {
					rot = *sd.Rotation
				}
			}
			if r, err := strconv.ParseFloat(s.Tags.Rotate, 64); err == nil && rot == 0 {
				rot = -r
			}
			in.Rotation = quarterTurn(rot)
		case s.CodecType == "audio" && !in.HasAudio:
			in.HasAudio, in.AudioCodec = true, s.CodecName
			in.SampleRate, _ = strconv.Atoi(s.SampleRate)
		}
	}
	return in, nil
}

// quarterTurn is an angle in degrees as 0, 90, 180 or 270: the nearest
// quarter turn, in [0, 360). A display matrix's angle is within ±180°
// (±360° allows for the rotate tag's clockwise sense); anything beyond, or
// not a number, is no matrix's and reads as no rotation.
func quarterTurn(deg float64) int {
	if math.IsNaN(deg) || math.Abs(deg) > 360 {
		return 0
	}
	q := int(math.Round(deg / 90)) // -4 … 4
	return (q%4 + 4) % 4 * 90
}

// MaxDurationSeconds is the longest duration a probe reports: a week. A
// header that says more (or less than zero) is damaged or made up — the
// all-ones "unknown" of an mp4's mvhd reads as 1.8e19 s — and the probe
// refuses it rather than pass on a figure costs and frame counts would be
// computed from.
const MaxDurationSeconds = 7 * 24 * 3600

// checkDuration refuses an impossible duration.
func checkDuration(d float64) error {
	if math.IsNaN(d) || d < 0 || d > MaxDurationSeconds {
		return fmt.Errorf("the file's header gives a duration of %g s, which is impossible (a real file lasts 0 to %d s): the file is damaged or not what it claims", d, MaxDurationSeconds)
	}
	return nil
}

func parseFloat(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// parseRate reads ffprobe's "30000/1001".
func parseRate(s string) float64 {
	num, den, ok := strings.Cut(s, "/")
	if !ok {
		return parseFloat(s)
	}
	n, d := parseFloat(num), parseFloat(den)
	if d == 0 {
		return 0
	}
	return n / d
}
