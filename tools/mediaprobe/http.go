package mediaprobe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"
)

// MaxRangeRequests bounds the range requests of one URL probe. An mp4
// needs 2 to 6 (the top-level box headers up to moov, ftyp and moov); a
// file that would take more — thousands of tiny boxes before its moov —
// is refused with the reason rather than costing a request per box.
const MaxRangeRequests = 32

// rangeReader reads an http(s) URL at offsets with range requests: one
// request per ReadAt, for exactly the bytes asked, at most
// MaxRangeRequests in all.
type rangeReader struct {
	ctx      context.Context
	client   *http.Client
	url      string
	host     string // the media host, for messages
	total    int64  // the file's size, once an answer told it; 0 before
	known    bool
	requests int
}

func newRangeReader(ctx context.Context, client *http.Client, url string) *rangeReader {
	host := "(unknown)"
	if u, err := neturl.Parse(url); err == nil && u.Host != "" {
		host = u.Host
	}
	return &rangeReader{ctx: ctx, client: client, url: url, host: host}
}

func (r *rangeReader) Size() int64 {
	if !r.known {
		return -1
	}
	return r.total
}

func (r *rangeReader) ReadAt(p []byte, off int64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if r.known && off >= r.total {
		return 0, io.EOF
	}
	if r.requests >= MaxRangeRequests {
		return 0, fmt.Errorf("stopped after %d range requests to the media host %s: the file's header is split into more boxes than a real mp4/mov's, and a probe reads no further", r.requests, r.host)
	}
	r.requests++
	req, err := http.NewRequestWithContext(r.ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+int64(len(p))-1))
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("the media host %s could not be read: %w", r.host, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
		if _, total, ok := strings.Cut(resp.Header.Get("Content-Range"), "/"); ok {
			if n, err := strconv.ParseInt(total, 10, 64); err == nil {
				r.total, r.known = n, true
			}
		}
	case http.StatusOK:
		if off != 0 {
			// Reading on would download the whole file.
			return 0, fmt.Errorf("the media host %s does not answer range requests, and the file is not fetched whole to probe it", r.host)
		}
		if resp.ContentLength >= 0 {
			r.total, r.known = resp.ContentLength, true
		}
	case http.StatusRequestedRangeNotSatisfiable:
		return 0, io.EOF
	default:
		return 0, fmt.Errorf("the media host %s answered HTTP %s for %s", r.host, resp.Status, r.url)
	}
	n, err := io.ReadFull(io.LimitReader(resp.Body, int64(len(p))), p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return n, err
}
