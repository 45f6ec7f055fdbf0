package falqueue_test

import (
	"testing"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
)

// TestRehome: a handle's URLs on another host are rebuilt on the
// configured queue host from its endpoint and request ids; URLs already
// there (a sub-path URL fal returned included) are kept; a handle whose
// ids do not parse is left as it is.
func TestRehome(t *testing.T) {
	c, err := falqueue.New(falqueue.Config{Key: "id:secret", QueueURL: "https://queue.example/base"})
	if err != nil {
		t.Fatal(err)
	}
	const home = "https://queue.example/base/fal-ai/wan/requests/r1"
	old := "https://proxy.example/fal-ai/wan/requests/r1"
	tests := []struct {
		name  string
		in    falqueue.Handle
		want  falqueue.Handle
		moved bool
	}{
		{"on the configured host", falqueue.Handle{EndpointID: "fal-ai/wan/v2", RequestID: "r1",
			StatusURL: home + "/status", ResponseURL: home, CancelURL: home + "/cancel"},
			falqueue.Handle{EndpointID: "fal-ai/wan/v2", RequestID: "r1", StatusURL: home + "/status", ResponseURL: home, CancelURL: home + "/cancel"}, false},
		{"sub-path URLs fal returned", falqueue.Handle{EndpointID: "fal-ai/wan/v2", RequestID: "r1",
			StatusURL: "https://queue.example/base/fal-ai/wan/v2/requests/r1/status", ResponseURL: home, CancelURL: home + "/cancel"},
			falqueue.Handle{EndpointID: "fal-ai/wan/v2", RequestID: "r1", StatusURL: "https://queue.example/base/fal-ai/wan/v2/requests/r1/status",
				ResponseURL: home, CancelURL: home + "/cancel"}, false},
		{"another host", falqueue.Handle{EndpointID: "fal-ai/wan/v2", RequestID: "r1",
			StatusURL: old + "/status", ResponseURL: old, CancelURL: old + "/cancel"},
			falqueue.Handle{EndpointID: "fal-ai/wan/v2", RequestID: "r1", StatusURL: home + "/status", ResponseURL: home, CancelURL: home + "/cancel"}, true},
		{"another scheme", falqueue.Handle{EndpointID: "fal-ai/wan", RequestID: "r1",
			StatusURL: "http://queue.example/base/fal-ai/wan/requests/r1/status", ResponseURL: home, CancelURL: home + "/cancel"},
			falqueue.Handle{EndpointID: "fal-ai/wan", RequestID: "r1", StatusURL: home + "/status", ResponseURL: home, CancelURL: home + "/cancel"}, true},
		{"no URLs stored", falqueue.Handle{EndpointID: "fal-ai/wan", RequestID: "r1"},
			falqueue.Handle{EndpointID: "fal-ai/wan", RequestID: "r1", StatusURL: home + "/status", ResponseURL: home, CancelURL: home + "/cancel"}, true},
		{"ids that do not parse", falqueue.Handle{EndpointID: "../x", RequestID: "r1", StatusURL: old + "/status"},
			falqueue.Handle{EndpointID: "../x", RequestID: "r1", StatusURL: old + "/status"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			got, moved := c.Rehome(&in)
			if *got != tt.want || moved != tt.moved {
				t.Errorf("Rehome = %+v, %v\nwant %+v, %v", *got, moved, tt.want, tt.moved)
			}
			if in != tt.in {
				t.Errorf("the handle given was changed: %+v", in)
			}
		})
	}
	if h, moved := c.Rehome(nil); h != nil || moved {
		t.Errorf("Rehome(nil) = %v, %v", h, moved)
	}
}
