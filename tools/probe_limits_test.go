package tools_test

import (
	"encoding/binary"
	"net/url"
	"strings"
	"testing"
)

// TestProbeMediaURLLimits: a URL whose header is 100,000 tiny boxes costs
// a bounded number of range requests and the error says why the probe
// stopped; errors about a URL name the media host, so they do not read as
// this server's.
func TestProbeMediaURLLimits(t *testing.T) {
	ftyp := append(binary.BigEndian.AppendUint32(nil, 16), "ftypisom\x00\x00\x02\x00"...)
	data := append([]byte(nil), ftyp...)
	for range 100_000 {
		data = append(data, 0, 0, 0, 8, 'f', 'r', 'e', 'e')
	}
	for _, era := range eras {
		h := newHarness(t, era)
		ctx := ctxT(t)
		u := h.emu.AddFile("boxes.mp4", "video/mp4", data)
		pu, _ := url.Parse(u)
		h.emu.ResetRequests()
		res := h.call(t, ctx, "probe_media", map[string]any{"source": u})
		n := len(h.emu.Requests())
		if !res.IsError || !strings.Contains(text(res), "range requests") || !strings.Contains(text(res), "media host "+pu.Host) {
			t.Errorf("%s: %s", era, text(res))
		}
		if n > 32 {
			t.Errorf("%s: %d range requests for one probe", era, n)
		}
		t.Logf("%s: %d requests: %s", era, n, text(res))

		missing := strings.TrimSuffix(u, "boxes.mp4") + "nothing-here.mp4"
		res = h.call(t, ctx, "probe_media", map[string]any{"source": missing})
		if !res.IsError || !strings.Contains(text(res), "media host "+pu.Host) || !strings.Contains(text(res), "404") {
			t.Errorf("%s: a missing file: %s", era, text(res))
		}
	}
}
