package mediaprobe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// rangeReader reads an http(s) URL at offsets with range requests: one
// request per ReadAt, for exactly the bytes asked.
type rangeReader struct {
	ctx    context.Context
	client *http.Client
	url    string
	total  int64 // the file's size, once an answer told it; 0 before
	known  bool
}

// errNoRanges: a server that answers a ranged read past the start with
// the whole file would have us download it.
var errNoRanges = errors.New("the server does not answer range requests, and the file is not fetched whole to probe it")

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
	req, err := http.NewRequestWithContext(r.ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+int64(len(p))-1))
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, err
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
			return 0, errNoRanges
		}
		if resp.ContentLength >= 0 {
			r.total, r.known = resp.ContentLength, true
		}
	case http.StatusRequestedRangeNotSatisfiable:
		return 0, io.EOF
	default:
		return 0, fmt.Errorf("fetching %s: HTTP %s", r.url, resp.Status)
	}
	n, err := io.ReadFull(io.LimitReader(resp.Body, int64(len(p))), p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	return n, err
}
