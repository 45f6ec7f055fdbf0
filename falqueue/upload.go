package falqueue

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	// MultipartThreshold: files larger than this go up in parts (§7.2).
	MultipartThreshold = 90 << 20
	// PartSize is the size of every part but the last (§7.2).
	PartSize = 10 << 20
)

// UploadOptions describe the file being uploaded.
type UploadOptions struct {
	// ContentType defaults to application/octet-stream.
	ContentType string
	// FileName defaults to "<unix ms>.<subtype>" like fal's JS client.
	FileName string
	// Lifecycle, if set, is sent as X-Fal-Object-Lifecycle: a JSON object
	// such as {"expiration_duration_seconds":86400} (§3).
	Lifecycle string
}

// Upload stores size bytes read from r on fal's CDN and returns the file's
// public URL, to pass to a model (§7). Files up to 90 MiB go up in one PUT;
// larger ones in 10 MiB parts, several in flight, each retried on failure.
// Memory held is at most PartConcurrency × PartSize whatever the file size.
// The key goes only to the REST host; never to the upload URLs.
//
// A one-PUT upload is retried only when r is an io.Seeker (it is read
// again from where it started).
func (c *Client) Upload(ctx context.Context, r io.Reader, size int64, opts UploadOptions) (string, error) {
	if size < 0 {
		return "", fmt.Errorf("falqueue: upload: negative size %d", size)
	}
	if opts.ContentType == "" {
		opts.ContentType = "application/octet-stream"
	}
	if _, _, err := mime.ParseMediaType(opts.ContentType); err != nil {
		return "", fmt.Errorf("falqueue: upload: content type %q: %v", opts.ContentType, err)
	}
	if opts.FileName == "" {
		opts.FileName = defaultFileName(opts.ContentType)
	}
	if opts.Lifecycle != "" && !json.Valid([]byte(opts.Lifecycle)) {
		return "", fmt.Errorf("falqueue: upload: lifecycle %q is not JSON", opts.Lifecycle)
	}
	multipart := size > MultipartThreshold
	uploadURL, fileURL, err := c.initiate(ctx, multipart, opts)
	if err != nil {
		return "", err
	}
	if multipart {
		err = c.putParts(ctx, uploadURL, r, size)
	} else {
		err = c.putWhole(ctx, uploadURL, r, size, opts.ContentType)
	}
	if err != nil {
		return "", err
	}
	return fileURL, nil
}

// defaultFileName mirrors the JS client: "<Date.now()>.<ext>", ext being
// the MIME subtype cut at the first "-" or ";" (§7.1).
func defaultFileName(contentType string) string {
	_, sub, _ := strings.Cut(contentType, "/")
	sub, _, _ = strings.Cut(sub, ";")
	sub, _, _ = strings.Cut(sub, "-")
	if sub == "" {
		sub = "bin"
	}
	return strconv.FormatInt(time.Now().UnixMilli(), 10) + "." + strings.TrimSpace(sub)
}

// initiate asks the REST host for a signed upload URL (§7.1, §7.2).
func (c *Client) initiate(ctx context.Context, multipart bool, opts UploadOptions) (upload *url.URL, fileURL string, err error) {
	path := "initiate"
	if multipart {
		path = "initiate-multipart"
	}
	u := joinURL(c.rest, "storage", "upload", path)
	u.RawQuery = "storage_type=fal-cdn-v3"
	body, _ := json.Marshal(map[string]string{"content_type": opts.ContentType, "file_name": opts.FileName})
	h := http.Header{"Content-Type": {"application/json"}}
	if opts.Lifecycle != "" {
		h.Set("X-Fal-Object-Lifecycle", opts.Lifecycle)
	}
	resp, err := c.do(ctx, initiatePolicy, request{method: http.MethodPost, url: u, header: h, body: bytesBody(body)})
	if err != nil {
		return nil, "", err
	}
	var ir struct {
		UploadURL string `json:"upload_url"`
		FileURL   string `json:"file_url"`
	}
	if err := json.Unmarshal(resp.body, &ir); err != nil || ir.UploadURL == "" || ir.FileURL == "" {
		return nil, "", fmt.Errorf("falqueue: upload initiate: unexpected answer %.200q", c.key.redactBytes(resp.body))
	}
	upload, err = url.Parse(ir.UploadURL)
	if err != nil || (upload.Scheme != "https" && upload.Scheme != "http") || upload.Host == "" {
		return nil, "", fmt.Errorf("falqueue: upload initiate: upload_url is not an http(s) URL")
	}
	if fu, err := url.Parse(ir.FileURL); err != nil || (fu.Scheme != "https" && fu.Scheme != "http") || fu.Host == "" {
		return nil, "", fmt.Errorf("falqueue: upload initiate: file_url %q is not an http(s) URL", ir.FileURL)
	}
	return upload, ir.FileURL, nil
}

// putWhole sends the file in one PUT (§7.1).
func (c *Client) putWhole(ctx context.Context, u *url.URL, r io.Reader, size int64, contentType string) error {
	p := putPolicy
	p.timeout = c.uploadTimeout
	seeker, canRewind := r.(io.Seeker)
	var start int64
	if canRewind {
		var err error
		if start, err = seeker.Seek(0, io.SeekCurrent); err != nil {
			canRewind = false
		}
	}
	if !canRewind {
		p.retries = 0
	}
	first := true
	body := func() (io.Reader, int64, error) {
		if !first {
			if _, err := seeker.Seek(start, io.SeekStart); err != nil {
				return nil, 0, err
			}
		}
		first = false
		return &exactReader{r: io.LimitReader(r, size), want: size}, size, nil
	}
	_, err := c.do(ctx, p, request{method: http.MethodPut, url: u,
		header: http.Header{"Content-Type": {contentType}}, body: body})
	return err
}

// exactReader fails when its source ends before want bytes.
type exactReader struct {
	r         io.Reader
	want, got int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.got += int64(n)
	if err == io.EOF && e.got < e.want {
		return n, fmt.Errorf("falqueue: upload: the reader ended after %d of %d bytes", e.got, e.want)
	}
	return n, err
}

// part is one uploaded part of a multipart upload (§7.2).
type part struct {
	PartNumber int    `json:"partNumber"`
	ETag       string `json:"etag"`
}

// putParts reads r part by part into buffers from a fixed pool — so memory
// is bounded by the parts in flight — and PUTs them concurrently, each
// retried on failure; then completes the upload.
func (c *Client) putParts(ctx context.Context, upload *url.URL, r io.Reader, size int64) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	c.partBuffers.begin()
	defer c.partBuffers.end()
	n := int((size + PartSize - 1) / PartSize)
	parts := make([]part, n)
	var wg sync.WaitGroup
	var readErr error
	for i := 0; i < n && ctx.Err() == nil; i++ {
		buf, err := c.partBuffers.get(ctx)
		if err != nil {
			break
		}
		want := min(int64(PartSize), size-int64(i)*PartSize)
		chunk := buf[:want]
		if _, err := io.ReadFull(r, chunk); err != nil {
			c.partBuffers.put(buf)
			readErr = fmt.Errorf("falqueue: upload: reading part %d of %d: %w", i+1, n, err)
			cancel(readErr)
			break
		}
		wg.Add(1)
		go func(num int, chunk []byte) {
			defer wg.Done()
			defer c.partBuffers.put(buf)
			etag, err := c.putPart(ctx, upload, num, chunk)
			if err != nil {
				cancel(err)
				return
			}
			parts[num-1] = part{PartNumber: num, ETag: etag}
		}(i+1, chunk)
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return c.complete(ctx, upload, parts)
}

// partURL is the upload URL's path + "/<n>" (or "/complete"), its query
// kept (§7.2).
func partURL(upload *url.URL, last string) *url.URL {
	u := joinURL(upload, last)
	u.RawQuery = upload.RawQuery
	return u
}

func (c *Client) putPart(ctx context.Context, upload *url.URL, num int, chunk []byte) (string, error) {
	p := partPolicy
	p.timeout = c.uploadTimeout
	resp, err := c.do(ctx, p, request{method: http.MethodPut, url: partURL(upload, strconv.Itoa(num)), body: bytesBody(chunk)})
	if err != nil {
		return "", fmt.Errorf("falqueue: upload part %d: %w", num, err)
	}
	// fal's JS client reads the etag from the JSON body, fal's SDK from the
	// ETag header (§7.2, §10.8): take the body's, else the header's.
	var pr part
	if json.Unmarshal(resp.body, &pr) == nil && pr.ETag != "" {
		return pr.ETag, nil
	}
	if etag := resp.Header.Get("ETag"); etag != "" {
		return etag, nil
	}
	return "", fmt.Errorf("falqueue: upload part %d: the answer has no etag", num)
}

func (c *Client) complete(ctx context.Context, upload *url.URL, parts []part) error {
	body, _ := json.Marshal(map[string][]part{"parts": parts})
	_, err := c.do(ctx, completePolicy, request{method: http.MethodPost, url: partURL(upload, "complete"),
		header: http.Header{"Content-Type": {"application/json"}}, body: bytesBody(body)})
	return err
}

// partBuffers is the fixed pool of part buffers of a client: at most max
// buffers of size bytes exist at once, shared by all its uploads, and they
// are let go when no multipart upload is running.
type partBuffers struct {
	size    int
	slots   chan struct{} // a token per buffer that may exist
	mu      sync.Mutex
	free    [][]byte
	uploads int // multipart uploads running
	// inUse and peak count buffers handed out, for tests of the bound.
	inUse, peak int
}

func (p *partBuffers) begin() {
	p.mu.Lock()
	p.uploads++
	p.mu.Unlock()
}

func (p *partBuffers) end() {
	p.mu.Lock()
	if p.uploads--; p.uploads == 0 {
		p.free = nil
	}
	p.mu.Unlock()
}

func (p *partBuffers) init(max, size int) {
	p.size = size
	p.slots = make(chan struct{}, max)
}

func (p *partBuffers) get(ctx context.Context) ([]byte, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inUse++
	p.peak = max(p.peak, p.inUse)
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free = p.free[:n-1]
		return b, nil
	}
	return make([]byte, p.size), nil
}

func (p *partBuffers) put(b []byte) {
	p.mu.Lock()
	p.inUse--
	p.free = append(p.free, b[:cap(b)])
	p.mu.Unlock()
	<-p.slots
}
