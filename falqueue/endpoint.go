package falqueue

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// EndpointID is a parsed fal endpoint id such as
// "fal-ai/pixverse/extend/fast": owner "fal-ai", alias "pixverse", path
// "extend/fast". Namespace is "workflows" or "comfy" for ids in those
// namespaces (protocol notes §1.1).
type EndpointID struct {
	Namespace string
	Owner     string
	Alias     string
	Path      string
}

// namespaces are the first segments that make an app id three segments long.
var namespaces = map[string]bool{"workflows": true, "comfy": true}

// legacyID is the old single-segment form "12345-myapp" (§1.1).
var legacyID = regexp.MustCompile(`^[0-9]+-[a-zA-Z0-9-]+$`)

// ParseEndpointID parses an endpoint id the way fal's official clients do
// (§1.1). It is stricter than they are about the characters of each segment,
// because the segments become URL path segments: only letters, digits and
// "-", "_", "." are allowed, and "." and ".." are refused.
func ParseEndpointID(id string) (EndpointID, error) {
	if id == "" {
		return EndpointID{}, fmt.Errorf("falqueue: empty endpoint id")
	}
	if !strings.Contains(id, "/") {
		if !legacyID.MatchString(id) {
			return EndpointID{}, fmt.Errorf("falqueue: invalid endpoint id %q: want owner/alias[/path], e.g. fal-ai/wan-vace-14b", id)
		}
		owner, alias, _ := strings.Cut(id, "-")
		return EndpointID{Owner: owner, Alias: alias}, nil
	}
	segs := strings.Split(id, "/")
	for _, s := range segs {
		if err := checkSegment(s); err != nil {
			return EndpointID{}, fmt.Errorf("falqueue: invalid endpoint id %q: %w", id, err)
		}
	}
	var e EndpointID
	if namespaces[segs[0]] {
		if len(segs) < 3 {
			return EndpointID{}, fmt.Errorf("falqueue: invalid endpoint id %q: the %s namespace needs %s/owner/alias", id, segs[0], segs[0])
		}
		e.Namespace, segs = segs[0], segs[1:]
	}
	e.Owner, e.Alias = segs[0], segs[1]
	e.Path = strings.Join(segs[2:], "/")
	return e, nil
}

func checkSegment(s string) error {
	switch s {
	case "":
		return fmt.Errorf("empty path segment")
	case ".", "..":
		return fmt.Errorf("path segment %q is not allowed", s)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("character %q is not allowed (letters, digits, '-', '_', '.')", r)
		}
	}
	return nil
}

// AppID is "[namespace/]owner/alias": the part of the id that status,
// result and cancel URLs use (§1.2).
func (e EndpointID) AppID() string {
	if e.Namespace != "" {
		return e.Namespace + "/" + e.Owner + "/" + e.Alias
	}
	return e.Owner + "/" + e.Alias
}

// String returns the full endpoint id, sub-path included.
func (e EndpointID) String() string {
	if e.Path == "" {
		return e.AppID()
	}
	return e.AppID() + "/" + e.Path
}

// checkRequestID refuses request ids that could not be one URL path segment.
// fal's ids are opaque (UUIDs today), so anything printable without a slash
// is accepted and path-escaped.
func checkRequestID(id string) error {
	if id == "" || id == "." || id == ".." {
		return fmt.Errorf("falqueue: invalid request id %q", id)
	}
	for _, r := range id {
		if r == '/' || r == '\\' || r < 0x21 || r == 0x7f {
			return fmt.Errorf("falqueue: invalid request id %q: it must be one URL path segment", id)
		}
	}
	return nil
}

// joinURL appends path segments (escaped) to base, keeping base's path.
func joinURL(base *url.URL, segs ...string) *url.URL {
	u := *base
	u.RawQuery, u.Fragment = "", ""
	p := strings.TrimSuffix(u.Path, "/")
	rp := strings.TrimSuffix(u.EscapedPath(), "/")
	for _, s := range segs {
		p += "/" + s
		rp += "/" + url.PathEscape(s)
	}
	u.Path, u.RawPath = p, rp
	if u.RawPath == u.Path {
		u.RawPath = ""
	}
	return &u
}

// Rehome returns h with its URLs on the configured queue host: each one
// that is not (a job submitted through another queue URL, a proxy since
// removed, before a restart) is rebuilt from the endpoint id and request
// id, as Reattach builds them. moved says whether any was. A handle whose
// ids do not parse is returned as it is (its foreign URLs stay refused).
func (c *Client) Rehome(h *Handle) (_ *Handle, moved bool) {
	if h == nil {
		return nil, false
	}
	home, err := c.Reattach(h.EndpointID, h.RequestID)
	if err != nil {
		return h, false
	}
	out := *h
	for _, f := range []struct {
		url     *string
		rebuilt string
	}{{&out.StatusURL, home.StatusURL}, {&out.ResponseURL, home.ResponseURL}, {&out.CancelURL, home.CancelURL}} {
		if u, err := url.Parse(*f.url); err == nil && u.IsAbs() && c.trusted(u) {
			continue
		}
		*f.url, moved = f.rebuilt, true
	}
	if !moved {
		return h, false
	}
	return &out, true
}
