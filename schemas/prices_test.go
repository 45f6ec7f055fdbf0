package schemas

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPricesTable(t *testing.T) {
	for _, p := range Prices {
		if _, ok := Lookup(p.EndpointID); !ok {
			t.Errorf("price for %s, which is not in the catalog", p.EndpointID)
		}
		if !strings.HasPrefix(p.Source, "https://fal.ai/models/") {
			t.Errorf("%s: source %q does not name fal's page", p.EndpointID, p.Source)
		}
		if _, ok := measures[p.EndpointID]; !ok {
			t.Errorf("%s: priced but no way to measure its input", p.EndpointID)
		}
	}
}

func TestEstimateCost(t *testing.T) {
	known := map[string]MediaFacts{
		"https://x/10s.mp4":  {Seconds: 10, Frames: 240, Width: 640, Height: 360},
		"https://x/12s.mp4":  {Seconds: 12, Frames: 288, Width: 640, Height: 360},
		"https://x/48fr.mp4": {Seconds: 2, Frames: 48, Width: 640, Height: 360},
	}
	media := func(u string) (MediaFacts, bool) { f, ok := known[u]; return f, ok }
	text150 := strings.Repeat("a", 150)
	cases := []struct {
		name  string
		id    string
		in    any
		want  float64 // computed by hand from fal's published price
		basis string
	}{
		{"wan default 81 frames 720p", "fal-ai/wan-vace-14b", &WanVACEInput{}, 81.0 / 16 * 0.08, "5.0625 s (81 frames at 16 fps) × $0.08/s at 720p"},
		{"wan 241 frames 720p", "fal-ai/wan-vace-14b", &WanVACEInput{NumFrames: ptr(241)}, 241.0 / 16 * 0.08, "at 720p"},
		{"wan 480p", "fal-ai/wan-vace-14b", &WanVACEInput{Resolution: ptr("480p")}, 81.0 / 16 * 0.04, "at 480p"},
		{"wan match input", "fal-ai/wan-vace-14b", &WanVACEInput{MatchInputNumFrames: ptr(true), VideoURL: ptr("https://x/10s.mp4"), Resolution: ptr("580p")}, 240.0 / 16 * 0.06, "as video_url"},
		{"ltx", "fal-ai/ltx-video-13b-distilled/multiconditioning", &LTXMulticonditioningInput{}, 0.04, "1 video × $0.04"},
		{"lipsync audio", "fal-ai/pixverse/lipsync", &PixverseLipsyncInput{VideoURL: "https://x/10s.mp4", AudioURL: ptr("https://x/a.mp3")}, 10 * 0.04, "10 s (as video_url) × $0.04/s"},
		{"lipsync text", "fal-ai/pixverse/lipsync", &PixverseLipsyncInput{VideoURL: "https://x/10s.mp4", Text: &text150}, 10*0.04 + 2*0.24, "2 × $0.24 per 100 characters"},
		{"merge", "fal-ai/ffmpeg-api/merge-audio-video", &MergeAudioVideoInput{VideoURL: "https://x/12s.mp4"}, 12 * 0.0002, "12 s (as video_url) × $0.0002/s"},
		{"extend fast default", "fal-ai/pixverse/extend/fast", &PixverseExtendFastInput{}, 0.4, "at 720p"},
		{"extend fast 540p", "fal-ai/pixverse/extend/fast", &PixverseExtendFastInput{Resolution: ptr("540p")}, 0.3, "5 s video × $0.3 at 540p"},
		{"upscale ×2", "fal-ai/video-upscaler", &VideoUpscalerInput{VideoURL: "https://x/48fr.mp4"}, 1280 * 720 * 48 / 1e6 * 0.0008, "MP (48 frames of 1280×720)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, ok := PriceOf(c.id)
			if !ok {
				t.Fatalf("no price for %s", c.id)
			}
			e := EstimateCost(p, c.in, media)
			if e.USD == nil {
				t.Fatalf("unknown: %s", e.Basis)
			}
			if d := *e.USD - c.want; d > 1e-6 || d < -1e-6 {
				t.Errorf("estimate $%v, want $%v (%s)", *e.USD, c.want, e.Basis)
			}
			if !strings.Contains(e.Basis, c.basis) {
				t.Errorf("basis %q does not contain %q", e.Basis, c.basis)
			}
		})
	}
}

func TestEstimateUnknown(t *testing.T) {
	none := func(string) (MediaFacts, bool) { return MediaFacts{}, false }
	cases := []struct {
		id string
		in any
	}{
		{"fal-ai/pixverse/lipsync", &PixverseLipsyncInput{VideoURL: "https://x/unknown.mp4"}},
		{"fal-ai/ffmpeg-api/merge-audio-video", &MergeAudioVideoInput{VideoURL: "https://x/unknown.mp4"}},
		{"fal-ai/video-upscaler", &VideoUpscalerInput{VideoURL: "https://x/unknown.mp4"}},
		{"fal-ai/wan-vace-14b", &WanVACEInput{MatchInputNumFrames: ptr(true)}},
	}
	for _, c := range cases {
		p, _ := PriceOf(c.id)
		e := EstimateCost(p, c.in, none)
		if e.USD != nil || !strings.Contains(e.Basis, "not known") {
			t.Errorf("%s: got %v %q, want unknown saying the length is not known", c.id, e.USD, e.Basis)
		}
	}
	for _, row := range Catalog {
		if _, ok := PriceOf(row.ID); ok {
			continue
		}
		e := EstimateCost(Price{EndpointID: row.ID}, row.NewInput(), none)
		if e.USD != nil {
			t.Errorf("%s has no published price but was estimated at %v", row.ID, *e.USD)
		}
	}
}

func TestUnitOf(t *testing.T) {
	for in, want := range map[string]Unit{"video": PerVideo, "videos": PerVideo, "seconds": PerVideoSecond,
		"megapixels": PerMegapixel, "compute seconds": PerComputeSec, "tokens": ""} {
		if got := UnitOf(in); got != want {
			t.Errorf("UnitOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestNoPaidEndpointIsFree: every endpoint of the catalog is paid, so no
// estimate is ever $0: from the built-in table (amt's "$0 per compute
// second" is a price that cannot be turned into a figure) or from a price
// of $0 in any unit (as fal's pricing API could answer), the estimate is
// unknown, with the reason.
func TestNoPaidEndpointIsFree(t *testing.T) {
	facts := func(string) (MediaFacts, bool) {
		return MediaFacts{Seconds: 5, Frames: 81, Width: 640, Height: 360}, true
	}
	for _, row := range Catalog {
		raw, err := row.ExampleInput()
		if err != nil {
			t.Fatal(err)
		}
		in := row.NewInput()
		if err := json.Unmarshal(raw, in); err != nil {
			t.Fatal(err)
		}
		prices := []Price{}
		if p, ok := PriceOf(row.ID); ok {
			prices = append(prices, p)
		}
		for _, u := range []Unit{PerVideo, PerVideoSecond, PerMegapixel, PerFiveSeconds, PerComputeSec} {
			prices = append(prices, Price{EndpointID: row.ID, Unit: u, USD: 0, Source: "a $0 price"})
		}
		for _, p := range prices {
			e := EstimateCost(p, in, facts)
			if e.USD != nil && *e.USD <= 0 {
				t.Errorf("%s at %s per %s is estimated free ($%v, %s)", row.ID, p.Source, p.Unit, *e.USD, e.Basis)
			}
			if e.USD == nil && !strings.HasPrefix(e.Basis, "unknown: ") {
				t.Errorf("%s: unknown without a reason: %q", row.ID, e.Basis)
			}
		}
	}
	p, _ := PriceOf("fal-ai/amt-interpolation")
	if e := EstimateCost(p, &AMTInterpolationInput{}, facts); e.USD != nil || !strings.Contains(e.Basis, "compute second") {
		t.Errorf("amt: %v %q, want unknown, saying it is priced per compute second", e.USD, e.Basis)
	}
}
