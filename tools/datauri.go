package tools

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/fal-video-mcp/fal-video-mcp/schemas"
)

// inlineDataLimit is the most bytes the data: URIs of one call may carry
// in all. They travel inside the JSON request to fal's queue, not through
// its CDN: fal notes that large data URIs "can impact the request
// performance", and a local path is uploaded instead (up to
// --max-upload-size, in parts). 10 MiB is one multipart upload part.
const inlineDataLimit = 10 << 20

// mediaRules are what the media fields of a tool's input must be beyond
// their JSON type: a data: URI of the field's kind, that decodes, within
// the size limits.
type mediaRules struct {
	fields  []schemas.MediaField
	maxSize int64 // --max-upload-size; 0: no limit of its own
}

// check lists the problems of args' data: URIs, one line each as the
// validator writes them: "field: got <value> — <why>; allowed: <what>".
func (r mediaRules) check(args map[string]any) []string {
	var problems []string
	var total int64
	for _, f := range r.fields {
		eachMedia(args, strings.Split(f.Path, "."), "", func(field, s string, _ func(string)) {
			if !strings.HasPrefix(strings.ToLower(s), "data:") {
				return
			}
			allowed := fmt.Sprintf("a %s as data:%s/<type>;base64,<data>, an http(s) URL, or a local file", f.Kind, f.Kind)
			size, why := checkDataURI(s, f.Kind)
			switch {
			case why != "":
			case r.maxSize > 0 && size > r.maxSize:
				why = fmt.Sprintf("it carries %d bytes; the limit is %d (--max-upload-size)", size, r.maxSize)
			case total+size > inlineDataLimit:
				why = fmt.Sprintf("the data: URIs of this call carry %d bytes with this one; at most %d may travel inside one request", total+size, inlineDataLimit)
				allowed = "a local file (it is uploaded to fal's CDN) or an http(s) URL for large media"
			}
			total += size
			if why != "" {
				problems = append(problems, fmt.Sprintf("%s: got %s — %s; allowed: %s", field, display(s), why, allowed))
			}
		})
	}
	return problems
}

// checkDataURI reads a data: URI (RFC 2397) for a media field of the given
// kind: its media type must be kind/<subtype>, its data must decode and
// not be empty. It returns the decoded size, or why it is refused. The
// data is decoded in a stream, not copied.
func checkDataURI(s, kind string) (int64, string) {
	header, data, ok := strings.Cut(s[len("data:"):], ",")
	if !ok {
		return 0, "a data URI carries its data after a comma (data:<type>;base64,<data>)"
	}
	params := strings.Split(header, ";")
	mediaType := strings.ToLower(strings.TrimSpace(params[0]))
	isBase64 := len(params) > 1 && strings.EqualFold(strings.TrimSpace(params[len(params)-1]), "base64")
	main, sub, _ := strings.Cut(mediaType, "/")
	switch {
	case data == "":
		return 0, "the data URI is empty: it carries no bytes"
	case mediaType == "":
		return 0, fmt.Sprintf("the data URI names no media type (it then means text/plain), not a %s", kind)
	case main != kind || sub == "" || strings.ContainsAny(sub, " /"):
		return 0, fmt.Sprintf("a data URI of type %s, not a %s", mediaType, kind)
	}
	if !isBase64 {
		raw, err := url.PathUnescape(data)
		if err != nil {
			return 0, "its percent-encoded data does not decode: " + err.Error()
		}
		return int64(len(raw)), ""
	}
	enc := base64.StdEncoding
	if !strings.HasSuffix(data, "=") && len(data)%4 != 0 {
		enc = base64.RawStdEncoding // unpadded
	}
	n, err := io.Copy(io.Discard, base64.NewDecoder(enc, strings.NewReader(data)))
	if err != nil {
		return 0, "its base64 data does not decode: " + err.Error()
	}
	if n == 0 {
		return 0, "the data URI is empty: it carries no bytes"
	}
	return n, ""
}
