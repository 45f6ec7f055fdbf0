package falqueue_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/falqueue/faltest"
)

func TestPrices(t *testing.T) {
	e := newEnv(t, faltest.Options{})
	c, err := falqueue.New(falqueue.Config{Key: testKey, QueueURL: e.srv.QueueURL, RestURL: e.srv.RestURL, APIURL: e.srv.APIURL})
	if err != nil {
		t.Fatal(err)
	}
	want := []faltest.Price{
		{EndpointID: "fal-ai/a", UnitPrice: 0.04, Unit: "video"},
		{EndpointID: "fal-ai/b", UnitPrice: 0.0008, Unit: "megapixels"},
		{EndpointID: "fal-ai/c", UnitPrice: 0.08, Unit: "seconds"},
	}
	for _, p := range want {
		e.srv.SetPrice(p)
	}
	got, err := c.Prices(context.Background(), "fal-ai/a", "fal-ai/b", "fal-ai/c", "fal-ai/unpriced")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d prices, want %d: %+v", len(got), len(want), got)
	}
	for i, p := range want {
		if got[i].EndpointID != p.EndpointID || got[i].UnitPrice != p.UnitPrice || got[i].Unit != p.Unit || got[i].Currency != "USD" {
			t.Errorf("price %d = %+v, want %+v", i, got[i], p)
		}
	}
	reqs := e.requests(faltest.OpPrices)
	if len(reqs) < 2 {
		t.Errorf("%d pricing requests; the emulator pages by 2, so next_cursor was not followed", len(reqs))
	}
	for _, r := range reqs {
		if r.Header.Get("Authorization") != "Key "+testKey || r.Host != "api" {
			t.Errorf("pricing request on %s with Authorization %q", r.Host, r.Header.Get("Authorization"))
		}
		q, _ := url.ParseQuery(r.RawQuery)
		if !slices.Contains(q["endpoint_id"], "fal-ai/a") {
			t.Errorf("query %q does not name the endpoints", r.RawQuery)
		}
	}

	// A wrong key is refused by fal and reported as such.
	bad, _ := falqueue.New(falqueue.Config{Key: "wrong", APIURL: e.srv.APIURL})
	if _, err := bad.Prices(context.Background(), "fal-ai/a"); !errors.Is(err, falqueue.ErrUnauthorized) {
		t.Errorf("wrong key: err %v, want ErrUnauthorized", err)
	}
}

func TestPricesKeyStaysOnConfiguredHosts(t *testing.T) {
	e := newEnv(t, faltest.Options{})
	// The API host is not configured as the emulator: the default
	// (api.fal.ai) is trusted, the emulator's API listener is not — a
	// client configured for it only sends there.
	other := faltest.NewServer(faltest.Options{Key: testKey})
	t.Cleanup(other.Close)
	c, err := falqueue.New(falqueue.Config{Key: testKey, QueueURL: e.srv.QueueURL, RestURL: e.srv.RestURL, APIURL: other.APIURL})
	if err != nil {
		t.Fatal(err)
	}
	other.SetPrice(faltest.Price{EndpointID: "fal-ai/a", UnitPrice: 1, Unit: "video"})
	if _, err := c.Prices(context.Background(), "fal-ai/a"); err != nil {
		t.Fatal(err)
	}
	if n := len(e.requests(faltest.OpPrices)); n != 0 {
		t.Errorf("%d pricing requests reached the queue's emulator", n)
	}
	if n := len(other.Requests()); n != 1 || other.Requests()[0].Host != "api" {
		t.Errorf("requests at the configured API host: %+v", other.Requests())
	}
}
