package falqueue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Resolver resolves host names to addresses; *net.Resolver is one.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// DownloadOptions tune one Download.
type DownloadOptions struct {
	// MaxSize caps the file in bytes: a larger one is refused before its
	// first byte is read when the server declares its length, else its
	// body fails with *TooLargeError once MaxSize bytes have been read.
	// 0: no cap.
	MaxSize int64
}

// Download is an opened file download. Read it, then Close it.
type Download struct {
	io.ReadCloser
	// ContentType is the media type the server declared ("" if none).
	ContentType string
	// Size is the length the server declared, -1 when it declared none.
	Size int64
}

// DownloadRefusedError is a download the client would not make: the URL,
// a redirect, or the address a host name resolved to is not where a fal
// output can be.
type DownloadRefusedError struct {
	URL    string // without its query
	Reason string
}

func (e *DownloadRefusedError) Error() string {
	return fmt.Sprintf("download of %s refused: %s", e.URL, e.Reason)
}

// TooLargeError is a download over DownloadOptions.MaxSize.
type TooLargeError struct {
	URL  string // without its query
	Size int64  // declared size; -1 when the cap was reached while reading
	Max  int64
}

func (e *TooLargeError) Error() string {
	if e.Size >= 0 {
		return fmt.Sprintf("download of %s stopped: the file has %d bytes, over the limit of %d", e.URL, e.Size, e.Max)
	}
	return fmt.Sprintf("download of %s stopped: the file is larger than the limit of %d bytes", e.URL, e.Max)
}

// Download opens a file fal serves (an output's URL on the CDN). It sends
// no key — file URLs are public — and bounds the request by the upload
// timeout. The caller closes the body.
//
// Only what a fal output can be is fetched: an http(s) URL on one of the
// configured queue, REST or CDN hosts, or one whose host has a public
// address. The address is checked as each connection is made — after DNS,
// after every redirect — so a name that resolves to a loopback,
// link-local, private, shared (CGNAT), multicast or reserved address is
// refused with *DownloadRefusedError. Downloads go straight to the file's
// host, never through an HTTP proxy, which would make that check
// meaningless.
func (c *Client) Download(ctx context.Context, fileURL string, opts DownloadOptions) (*Download, error) {
	u, err := url.Parse(fileURL)
	if err != nil || u.Host == "" {
		return nil, &DownloadRefusedError{URL: clipURL(fileURL), Reason: "it is not an http(s) URL"}
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, &DownloadRefusedError{URL: safeURL(u), Reason: "it is not an http(s) URL"}
	}
	if u.User != nil {
		return nil, &DownloadRefusedError{URL: safeURL(u), Reason: "it carries a user name or password"}
	}
	ctx, cancel := context.WithTimeout(ctx, c.uploadTimeout)
	resp, err := c.downloadResponse(ctx, u)
	if err != nil {
		cancel()
		return nil, err
	}
	if opts.MaxSize > 0 && resp.ContentLength > opts.MaxSize {
		resp.Body.Close()
		cancel()
		return nil, &TooLargeError{URL: safeURL(u), Size: resp.ContentLength, Max: opts.MaxSize}
	}
	var body io.Reader = resp.Body
	if opts.MaxSize > 0 {
		body = &cappedReader{r: resp.Body, left: opts.MaxSize, err: &TooLargeError{URL: safeURL(u), Size: -1, Max: opts.MaxSize}}
	}
	return &Download{
		ReadCloser:  &cancelBody{Reader: body, closer: resp.Body, cancel: cancel},
		ContentType: resp.Header.Get("Content-Type"),
		Size:        resp.ContentLength,
	}, nil
}

// PublicHTTPClient is the HTTP client of Download, for other readers of
// URLs a model or fal supplies (probing a file's headers, say): it
// connects only to the configured fal hosts or to public addresses, checked
// as each connection is made, and uses no proxy. It sends no key.
func (c *Client) PublicHTTPClient() *http.Client { return c.dl.hc }

// downloadPolicy retries what may be passing: fal's CDN busy or restarting,
// a dropped connection. A refusal is never retried.
var downloadPolicy = policy{op: "download", retries: 2, max: 5 * time.Second, streamed: true,
	retryOn: codeIn(429, 500, 502, 503, 504)}

// downloadResponse GETs u with the download client, retrying under
// downloadPolicy. The caller owns a 2xx answer's body.
func (c *Client) downloadResponse(ctx context.Context, u *url.URL) (*http.Response, error) {
	p := downloadPolicy
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, &DownloadRefusedError{URL: safeURL(u), Reason: "it is not a valid URL"}
		}
		req.Header.Set("User-Agent", c.userAgent)
		req.Header.Set("Accept", "*/*")
		resp, err := c.dl.hc.Do(req)
		var failure error
		switch {
		case err != nil:
			var refused *DownloadRefusedError
			if errors.As(err, &refused) { // a redirect refused
				return nil, refused
			}
			var addr *addressError
			if errors.As(err, &addr) {
				reason := addr.reason
				var uerr *url.Error
				if errors.As(err, &uerr) {
					if final, perr := url.Parse(uerr.URL); perr == nil && safeURL(final) != safeURL(u) {
						reason = "it redirects to " + safeURL(final) + ", and " + reason
					}
				}
				return nil, &DownloadRefusedError{URL: safeURL(u), Reason: reason}
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			failure = c.transportError(p.op, u, err, true)
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			return resp, nil
		default:
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			failure = c.apiError(p.op, &response{Response: resp, body: b})
			if !p.retryOn(resp) {
				return nil, failure
			}
		}
		if attempt >= p.retries {
			return nil, failure
		}
		delay := c.backoff(attempt, p.max)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// clipURL shortens an unparseable URL for a message: no query, at most 200
// bytes.
func clipURL(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

type cancelBody struct {
	io.Reader
	closer io.Closer
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.closer.Close()
	b.cancel()
	return err
}

// cappedReader passes at most left bytes, then fails with err if there
// is more.
type cappedReader struct {
	r    io.Reader
	left int64
	err  error
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			return 0, c.err
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// downloader is the HTTP client of downloads: its own transport, whose
// every connection is checked.
type downloader struct {
	hc       *http.Client
	trusted  map[string]bool // "host:port" of the configured fal hosts
	resolver Resolver
}

// newDownloader builds the download client on the configured client's
// transport (its TLS settings kept), with the address check at dial time
// and no proxy.
func newDownloader(hc *http.Client, resolver Resolver, hosts ...*url.URL) *downloader {
	d := &downloader{trusted: map[string]bool{}, resolver: resolver}
	if d.resolver == nil {
		d.resolver = net.DefaultResolver
	}
	for _, h := range hosts {
		if h != nil {
			d.trusted[hostPort(h)] = true
		}
	}
	base, ok := hc.Transport.(*http.Transport)
	if !ok || base == nil {
		base = http.DefaultTransport.(*http.Transport)
	}
	t := base.Clone()
	t.Proxy = nil
	t.Dial, t.DialTLS, t.DialTLSContext = nil, nil, nil // cleared: no dial may skip the check
	t.DialContext = d.dial
	d.hc = &http.Client{Transport: t, Timeout: hc.Timeout, Jar: hc.Jar, CheckRedirect: checkDownloadRedirect}
	return d
}

// hostPort is u's host and port, the port filled in from the scheme, in
// lower case: what the transport dials.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return strings.ToLower(net.JoinHostPort(u.Hostname(), port))
}

// checkDownloadRedirect follows at most 5 redirects, each to an http(s)
// URL; where each leads is checked when its connection is made.
func checkDownloadRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return &DownloadRefusedError{URL: safeURL(via[0].URL), Reason: "it redirects more than 5 times"}
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return &DownloadRefusedError{URL: safeURL(via[0].URL), Reason: "it redirects to " + safeURL(req.URL) + ", which is not an http(s) URL"}
	}
	return nil
}

var directDialer = &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}

// dial connects to addr ("host:port"). A configured fal host is dialled
// as it is; any other host is resolved and each of its addresses is
// checked by the dialer's Control hook, on the very address the socket
// connects to.
func (d *downloader) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if d.trusted[strings.ToLower(addr)] {
		return directDialer.DialContext(ctx, network, addr)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		found, err := d.resolver.LookupIPAddr(ctx, host)
		if err != nil {
			return nil, err
		}
		for _, a := range found {
			if ip, ok := netip.AddrFromSlice(a.IP); ok {
				ips = append(ips, ip.WithZone(a.Zone))
			}
		}
		if len(ips) == 0 {
			return nil, fmt.Errorf("no address found for %s", host)
		}
	}
	guarded := *directDialer
	guarded.ControlContext = func(_ context.Context, _, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return &addressError{"its address " + address + " cannot be checked"}
		}
		if kind := nonPublic(ap.Addr()); kind != "" {
			return &addressError{addressReason(host, ap.Addr(), kind)}
		}
		return nil
	}
	var first error
	for _, ip := range ips {
		conn, err := guarded.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return conn, nil
		}
		var refused *addressError
		if first == nil || errors.As(err, &refused) {
			first = err
		}
	}
	return nil, first
}

// addressError is a connection refused by the address check.
type addressError struct{ reason string }

func (e *addressError) Error() string { return e.reason }

func addressReason(host string, ip netip.Addr, kind string) string {
	if host == ip.String() {
		return fmt.Sprintf("%s is %s, not a public one; fal's outputs are only fetched from public addresses or fal's own hosts", host, kind)
	}
	return fmt.Sprintf("%s resolves to %s, %s, not a public one; fal's outputs are only fetched from public addresses or fal's own hosts", host, ip, kind)
}

// reserved are ranges that are neither private nor special to net/netip
// but are no place for a public file: shared (CGNAT), benchmarking,
// documentation, IETF and reserved ranges.
var reserved = []struct {
	prefix netip.Prefix
	kind   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "a \"this network\" address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (carrier-grade NAT) address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol address"},
	{netip.MustParsePrefix("192.0.2.0/24"), "a documentation address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("198.51.100.0/24"), "a documentation address"},
	{netip.MustParsePrefix("203.0.113.0/24"), "a documentation address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
	{netip.MustParsePrefix("::/96"), "a reserved address"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a local NAT64 address"},
	{netip.MustParsePrefix("100::/64"), "a discard address"},
	{netip.MustParsePrefix("2001::/23"), "an IETF protocol address"},
	{netip.MustParsePrefix("2001:db8::/32"), "a documentation address"},
	{netip.MustParsePrefix("fec0::/10"), "a site-local address"},
}

// nonPublic says what kind of non-public address ip is, or "" for a
// public one. IPv4 addresses carried in IPv6 (mapped, NAT64, 6to4) are
// judged by the IPv4 address.
func nonPublic(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		b := ip.As16()
		switch {
		case netip.MustParsePrefix("64:ff9b::/96").Contains(ip):
			return nonPublic(netip.AddrFrom4([4]byte(b[12:16])))
		case netip.MustParsePrefix("2002::/16").Contains(ip):
			return nonPublic(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	switch {
	case !ip.IsValid():
		return "an invalid address"
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsUnspecified():
		return "the unspecified address"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "a link-local address"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return "a multicast address"
	case ip.IsPrivate():
		if ip.Is6() {
			return "a unique local (private) address"
		}
		return "a private-network address"
	case ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "the broadcast address"
	}
	for _, r := range reserved {
		if r.prefix.Contains(ip) {
			return r.kind
		}
	}
	return ""
}
