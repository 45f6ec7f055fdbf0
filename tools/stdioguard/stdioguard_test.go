package stdioguard_test

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/fal-video-mcp/fal-video-mcp/tools/stdioguard"
)

// TestWrap: the response of a request cancelled while under way is
// dropped; every other message passes unchanged, whatever the ids look
// like and however the input is split into reads.
func TestWrap(t *testing.T) {
	tests := []struct {
		name   string
		in     string   // what the client sends
		out    []string // what the server writes, one message per Write
		passed []int    // indexes of out that reach the client
	}{
		{"cancelled number id", `{"jsonrpc":"2.0","id":5,"method":"tools/call"}` + "\n" + `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5}}` + "\n",
			[]string{`{"jsonrpc":"2.0","method":"notifications/progress","params":{}}`, `{"jsonrpc":"2.0","id":5,"result":{}}`}, []int{0}},
		{"cancelled string id", `{"jsonrpc":"2.0","id":"a b","method":"tools/call"}` + "\n" + `{"method":"notifications/cancelled","params":{"requestId":"a b"}}` + "\n",
			[]string{`{"jsonrpc":"2.0","id":"a b","result":{}}`}, nil},
		{"the number and the string differ", `{"id":5,"method":"x"}` + "\n" + `{"id":"5","method":"x"}` + "\n" + `{"method":"notifications/cancelled","params":{"requestId":"5"}}` + "\n",
			[]string{`{"id":5,"result":{}}`, `{"id":"5","result":{}}`}, []int{0}},
		{"a cancellation of another id", `{"id":5,"method":"x"}` + "\n" + `{"method":"notifications/cancelled","params":{"requestId":6}}` + "\n",
			[]string{`{"id":5,"result":{}}`}, []int{0}},
		{"a cancellation after the answer", `{"id":5,"method":"x"}` + "\n",
			[]string{`{"id":5,"result":{}}`}, []int{0}},
		{"a server request of the same id", `{"id":5,"method":"x"}` + "\n" + `{"method":"notifications/cancelled","params":{"requestId":5}}` + "\n",
			[]string{`{"id":5,"method":"roots/list"}`, `{"id":5,"result":{}}`}, []int{0}},
		{"a line over the cap is passed on unnoted", `{"id":5,"method":"x","params":{"pad":"` + strings.Repeat("a", 9<<20) + `"}}` + "\n" + `{"method":"notifications/cancelled","params":{"requestId":5}}` + "\n",
			[]string{`{"id":5,"result":{}}`}, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var client bytes.Buffer
			in, out := stdioguard.Wrap(iotest.HalfReader(strings.NewReader(tt.in)), &client)
			read, err := io.ReadAll(in)
			if err != nil || string(read) != tt.in {
				t.Fatalf("input changed: %v", err)
			}
			var want strings.Builder
			for i, m := range tt.out {
				if _, err := out.Write([]byte(m + "\n")); err != nil {
					t.Fatal(err)
				}
				for _, p := range tt.passed {
					if p == i {
						want.WriteString(m + "\n")
					}
				}
			}
			if client.String() != want.String() {
				t.Errorf("the client got\n%s\nwant\n%s", client.String(), want.String())
			}
		})
	}
}
