package falqueue

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Download opens a file fal serves (an output's URL on the CDN). It sends
// no key — file URLs are public — and bounds the request by the upload
// timeout. The caller closes the body.
func (c *Client) Download(ctx context.Context, fileURL string) (io.ReadCloser, error) {
	u, err := url.Parse(fileURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("falqueue: download: %q is not an http(s) URL", fileURL)
	}
	p := policy{op: "download", retries: 2, max: 5 * time.Second, streamed: true,
		retryOn: codeIn(429, 500, 502, 503, 504)}
	ctx, cancel := context.WithTimeout(ctx, c.uploadTimeout)
	resp, err := c.do(ctx, p, request{method: http.MethodGet, url: u, header: http.Header{"Accept": {"*/*"}}})
	if err != nil {
		cancel()
		return nil, err
	}
	return &cancelBody{ReadCloser: resp.Body, cancel: cancel}, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
