package schemas

import (
	"fmt"
	"math"
	"strings"
)

// Unit is what an endpoint's price is charged per.
type Unit string

// The units fal prices these endpoints in.
const (
	PerVideo       Unit = "video"          // one output video, whatever its length
	PerVideoSecond Unit = "second"         // one second of output (video or audio)
	PerMegapixel   Unit = "megapixel"      // one million output pixels, summed over every frame
	PerFiveSeconds Unit = "5 seconds"      // one 5-second output video
	PerComputeSec  Unit = "compute second" // one second of GPU time: unknowable before the run
)

// UnitOf reads a unit as fal's pricing API or model pages write it
// ("video", "videos", "second", "seconds", "megapixels" …); "" if it is
// none this server can estimate from.
func UnitOf(s string) Unit {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "per ")
	switch strings.TrimSuffix(s, "s") {
	case "video", "request", "generation":
		return PerVideo
	case "second", "video second", "output second", "sec":
		return PerVideoSecond
	case "megapixel", "mp":
		return PerMegapixel
	case "5 second":
		return PerFiveSeconds
	case "compute second", "gpu second":
		return PerComputeSec
	}
	return ""
}

// Price is what fal publishes as the price of one endpoint. USD is per
// Unit; ByResolution, when set, holds the price per Unit at each output
// resolution instead. Source says where fal states it.
type Price struct {
	EndpointID   string
	Unit         Unit
	USD          float64
	ByResolution map[string]float64
	// TextUSDPer100Chars, when set, is charged for every 100 characters of
	// text turned to speech (Pixverse lipsync without audio).
	TextUSDPer100Chars float64
	// FramesPerSecond, when set, is the frame rate at which fal counts
	// video seconds (num_frames / FramesPerSecond), whatever the output's.
	FramesPerSecond float64
	Source          string
}

// Prices is the built-in table of fal's published prices, used when fal's
// pricing API cannot be reached. An endpoint missing here has no price
// fal publishes: its cost is unknown, never guessed.
var Prices = []Price{
	{
		EndpointID: "fal-ai/wan-vace-14b", Unit: PerVideoSecond, FramesPerSecond: 16,
		ByResolution: map[string]float64{"720p": 0.08, "580p": 0.06, "480p": 0.04},
		Source: "https://fal.ai/models/fal-ai/wan-vace-14b/pose (stated for the sibling endpoint fal-ai/wan-vace-14b/pose: " +
			"$0.08 per video second at 720p, $0.06 at 580p, $0.04 at 480p, video seconds counted at 16 frames per second)",
	},
	{
		EndpointID: "fal-ai/ltx-video-13b-distilled/multiconditioning", Unit: PerVideo, USD: 0.04,
		Source: "https://fal.ai/models/fal-ai/ltx-video-13b-distilled/multiconditioning ($0.04 per video)",
	},
	{
		EndpointID: "fal-ai/pixverse/lipsync", Unit: PerVideoSecond, USD: 0.04, TextUSDPer100Chars: 0.24,
		Source: "https://fal.ai/models/fal-ai/pixverse/lipsync ($0.04 per second of output video; " +
			"without audio, $0.24 per 100 characters of text)",
	},
	{
		EndpointID: "fal-ai/ffmpeg-api/merge-audio-video", Unit: PerVideoSecond, USD: 0.0002,
		Source: "https://fal.ai/models/fal-ai/ffmpeg-api/merge-audio-video ($0.0002 per second)",
	},
	{
		EndpointID: "fal-ai/pixverse/extend/fast", Unit: PerFiveSeconds,
		ByResolution: map[string]float64{"360p": 0.3, "540p": 0.3, "720p": 0.4, "1080p": 0.8},
		Source: "https://fal.ai/models/fal-ai/pixverse/extend/fast ($0.3 per 5 s video at 360p and 540p, $0.4 at 720p, " +
			"$0.8 at 1080p)",
	},
	{
		EndpointID: "fal-ai/video-upscaler", Unit: PerMegapixel, USD: 0.0008,
		Source: "https://fal.ai/models/fal-ai/video-upscaler ($0.0008 per megapixel)",
	},
	{
		// fal's page states "$0 per compute second": a paid endpoint billed
		// by GPU time, not a free one. EstimateCost never turns a compute
		// second price (nor any $0 price) into a figure: its cost is
		// unknown, and says why.
		EndpointID: "fal-ai/amt-interpolation", Unit: PerComputeSec, USD: 0,
		Source: "https://fal.ai/models/fal-ai/amt-interpolation ($0 per compute second, as published: billed by compute time)",
	},
}

// PriceOf returns the built-in price of an endpoint.
func PriceOf(endpointID string) (Price, bool) {
	for _, p := range Prices {
		if p.EndpointID == endpointID {
			return p, true
		}
	}
	return Price{}, false
}

// MediaFacts is what is known of an input media file; zero fields are not
// known.
type MediaFacts struct {
	Seconds float64
	Frames  float64
	Width   int
	Height  int
}

// Estimate is a job's estimated cost: USD is nil when it cannot be known,
// and Basis says how it was reached, or why it is unknown.
type Estimate struct {
	USD   *float64
	Basis string
}

// Estimator reads an endpoint's input: amount is how many price units the
// job will use, tier the resolution tier (for ByResolution), what
// describes the amount ("5.06 s of video (81 frames at 16 fps)"). An
// amount < 0 is unknown and what says why.
type estimator func(in any, media func(url string) (MediaFacts, bool), p Price) (amount float64, tier, what string)

// measures holds, per priced endpoint, how its input makes the amount.
var measures = map[string]estimator{
	"fal-ai/wan-vace-14b": func(in any, media func(string) (MediaFacts, bool), p Price) (float64, string, string) {
		w := in.(*WanVACEInput)
		tier := deref(w.Resolution, "720p")
		frames := float64(deref(w.NumFrames, 81))
		how := fmt.Sprintf("%d frames", int(frames))
		if deref(w.MatchInputNumFrames, false) {
			f, ok := media(deref(w.VideoURL, ""))
			if !ok || f.Frames <= 0 {
				return -1, tier, "the output has as many frames as video_url, whose length is not known (probe_media tells it)"
			}
			frames, how = f.Frames, fmt.Sprintf("%d frames (as video_url)", int(f.Frames))
		}
		secs := frames / p.FramesPerSecond
		return secs, tier, fmt.Sprintf("%s s (%s at %s fps)", num(secs), how, num(p.FramesPerSecond))
	},
	"fal-ai/ltx-video-13b-distilled/multiconditioning": oneVideo,
	"fal-ai/pixverse/lipsync": func(in any, media func(string) (MediaFacts, bool), p Price) (float64, string, string) {
		l := in.(*PixverseLipsyncInput)
		f, ok := media(l.VideoURL)
		if !ok || f.Seconds <= 0 {
			return -1, "", "the output is as long as video_url, whose length is not known (probe_media tells it)"
		}
		return f.Seconds, "", num(f.Seconds) + " s (as video_url)"
	},
	"fal-ai/ffmpeg-api/merge-audio-video": func(in any, media func(string) (MediaFacts, bool), p Price) (float64, string, string) {
		m := in.(*MergeAudioVideoInput)
		f, ok := media(m.VideoURL)
		if !ok || f.Seconds <= 0 {
			return -1, "", "the output is as long as video_url, whose length is not known (probe_media tells it)"
		}
		return f.Seconds, "", num(f.Seconds) + " s (as video_url)"
	},
	"fal-ai/pixverse/extend/fast": func(in any, _ func(string) (MediaFacts, bool), p Price) (float64, string, string) {
		e := in.(*PixverseExtendFastInput)
		return 1, deref(e.Resolution, "720p"), "5 s"
	},
	"fal-ai/video-upscaler": func(in any, media func(string) (MediaFacts, bool), p Price) (float64, string, string) {
		u := in.(*VideoUpscalerInput)
		scale := deref(u.Scale, 2)
		f, ok := media(u.VideoURL)
		if !ok || f.Frames <= 0 || f.Width <= 0 || f.Height <= 0 {
			return -1, "", "the output has video_url's frames and size × scale, which are not known (probe_media tells them)"
		}
		w, h := float64(f.Width)*scale, float64(f.Height)*scale
		mp := w * h * f.Frames / 1e6
		return mp, "", fmt.Sprintf("%s MP (%d frames of %s×%s)", num(mp), int(f.Frames), num(w), num(h))
	},
	"fal-ai/amt-interpolation": func(any, func(string) (MediaFacts, bool), Price) (float64, string, string) {
		return -1, "", "fal prices fal-ai/amt-interpolation per compute second, and the compute time of a job is not known before it runs"
	},
}

// oneVideo measures a job priced per video: one.
func oneVideo(any, func(string) (MediaFacts, bool), Price) (float64, string, string) {
	return 1, "", "1 video"
}

// EstimateCost estimates what a job of the endpoint with this input (a
// pointer to its input struct) will cost at price p. media tells what is
// known of an input media URL.
func EstimateCost(p Price, in any, media func(url string) (MediaFacts, bool)) Estimate {
	m, ok := measures[p.EndpointID]
	if !ok && p.Unit == PerVideo { // one video, whatever the input
		m, ok = oneVideo, true
	}
	if !ok {
		return Estimate{Basis: "unknown: fal publishes no price for " + p.EndpointID + " that this server can apply"}
	}
	amount, tier, what := m(in, media, p)
	if amount < 0 {
		return Estimate{Basis: "unknown: " + what}
	}
	unit := p.USD
	at := ""
	if p.ByResolution != nil {
		u, ok := p.ByResolution[tier]
		if !ok {
			return Estimate{Basis: fmt.Sprintf("unknown: fal publishes no price at %s", tier)}
		}
		unit, at = u, " at "+tier
	}
	if p.Unit == PerComputeSec {
		return Estimate{Basis: fmt.Sprintf("unknown: fal prices %s per compute second ($%s per compute second as published), "+
			"and the compute time of a job is not known before it runs", p.EndpointID, num(unit))}
	}
	if unit <= 0 {
		// Every endpoint of the catalog is paid: a price of $0 is one this
		// server cannot read, never a free job.
		return Estimate{Basis: fmt.Sprintf("unknown: fal's price for %s reads $%s per %s%s, which cannot be the price of a paid endpoint",
			p.EndpointID, num(unit), p.Unit, at)}
	}
	usd := amount * unit
	basis := fmt.Sprintf("%s × $%s/%s%s", what, num(unit), short(p.Unit), at)
	if p.Unit == PerVideo || p.Unit == PerFiveSeconds {
		basis = fmt.Sprintf("%s × $%s%s", what, num(unit), at)
		if p.Unit == PerFiveSeconds {
			basis = fmt.Sprintf("%s video × $%s%s", what, num(unit), at)
		}
	}
	if l, ok := in.(*PixverseLipsyncInput); ok && p.TextUSDPer100Chars > 0 && isBlank(l.AudioURL) && l.Text != nil {
		blocks := math.Ceil(float64(len([]rune(*l.Text))) / 100)
		usd += blocks * p.TextUSDPer100Chars
		basis += fmt.Sprintf(" + %d × $%s per 100 characters of text", int(blocks), num(p.TextUSDPer100Chars))
	}
	usd = math.Round(usd*1e9) / 1e9 // no float noise in what users read
	return Estimate{USD: &usd, Basis: basis}
}

func short(u Unit) string {
	switch u {
	case PerVideoSecond:
		return "s"
	case PerMegapixel:
		return "MP"
	}
	return string(u)
}

// num formats a number without trailing zeros.
func num(f float64) string {
	s := fmt.Sprintf("%.4f", f)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "" || s == "-" {
		return "0"
	}
	return s
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
