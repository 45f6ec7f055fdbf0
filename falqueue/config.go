package falqueue

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Default base URLs of fal's hosts (§1).
const (
	DefaultQueueURL = "https://queue.fal.run"
	DefaultRestURL  = "https://rest.fal.ai"
	DefaultAPIURL   = "https://api.fal.ai" // fal's Platform API (prices)
)

// Secret holds a credential. It formats, logs and marshals as "[REDACTED]"
// so that printing a Config or a Client by accident leaks nothing.
type Secret string

const redacted = "[REDACTED]"

func (s Secret) String() string                { return redacted }
func (s Secret) GoString() string              { return redacted }
func (s Secret) Format(f fmt.State, _ rune)    { _, _ = f.Write([]byte(redacted)) }
func (s Secret) LogValue() slog.Value          { return slog.StringValue(redacted) }
func (s Secret) MarshalText() ([]byte, error)  { return []byte(redacted), nil }
func (s Secret) reveal() string                { return string(s) }
func (s Secret) isSet() bool                   { return s != "" }
func (s Secret) redactFrom(text string) string { return redactSecret(text, string(s)) }
func (s Secret) redactBytes(b []byte) []byte   { return []byte(redactSecret(string(b), string(s))) }

// Config configures a Client. The zero value talks to fal's production hosts
// without a key (public models only); KeyFromEnv and ConfigFromEnv fill it
// from the environment.
type Config struct {
	// Key is sent as "Authorization: Key <Key>" to the queue, REST and
	// Platform API hosts only (§2).
	Key Secret
	// QueueURL and RestURL are base URLs with scheme: DefaultQueueURL and
	// DefaultRestURL when empty. Point them at a faltest.Server in tests.
	QueueURL string
	RestURL  string
	// APIURL is the base URL of fal's Platform API (Prices): DefaultAPIURL
	// when empty. The key is sent there too.
	APIURL string
	// CDNURL is the base URL of fal's file CDN (https://v3.fal.media).
	// Downloads from the queue, REST and CDN hosts are made whatever
	// address they resolve to; any other host must resolve to a public
	// address. Set it when fal is an emulator on loopback (tests, dry
	// run); fal's real CDN is public and needs no entry. Empty: none.
	CDNURL string
	// Resolver resolves host names for downloads, whose addresses are
	// checked as each connection is made. Nil: net.DefaultResolver.
	Resolver Resolver

	// HTTPClient is shared by every call. Its CheckRedirect is replaced so
	// that a redirect can never carry the key off the configured hosts.
	HTTPClient *http.Client
	// RequestTimeout bounds each HTTP request (each attempt), except the
	// status stream and upload data. Default 60 s.
	RequestTimeout time.Duration
	// UploadTimeout bounds each upload data request (one PUT). Default 10 min.
	UploadTimeout time.Duration
	// StreamIdleTimeout ends a status stream that sends nothing — not even
	// fal's 15 s keep-alive — for this long; Wait then polls. Default 45 s.
	StreamIdleTimeout time.Duration
	// PollInterval is the pause between status polls. Default 500 ms (§5).
	PollInterval time.Duration
	// DisableStream makes Wait poll instead of following the SSE stream.
	DisableStream bool
	// PartConcurrency is how many multipart parts are in flight at once;
	// memory used by an upload is at most PartConcurrency × PartSize.
	// Default 4.
	PartConcurrency int
	// BackoffBase and BackoffMax scale every retry policy (defaults 1 s and
	// each policy's own maximum); attempt counts stay as the policies say.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// UserAgent is sent on every request.
	UserAgent string
	// Logger receives debug lines about retries and fallbacks. Nil: silent.
	Logger *slog.Logger
}

// Environment variables read by KeyFromEnv and ConfigFromEnv.
const (
	EnvKey       = "FAL_KEY"
	EnvKeyID     = "FAL_KEY_ID"
	EnvKeySecret = "FAL_KEY_SECRET"
	EnvQueueURL  = "FAL_QUEUE_URL"
	EnvRestURL   = "FAL_REST_URL"
	EnvAPIURL    = "FAL_API_URL"
)

// KeyFromEnv resolves the key like fal's clients (§2): FAL_KEY, else
// FAL_KEY_ID and FAL_KEY_SECRET joined as "id:secret". It returns "" when
// neither is set.
func KeyFromEnv(getenv func(string) string) Secret {
	if k := strings.TrimSpace(getenv(EnvKey)); k != "" {
		return Secret(k)
	}
	id, secret := strings.TrimSpace(getenv(EnvKeyID)), strings.TrimSpace(getenv(EnvKeySecret))
	if id != "" && secret != "" {
		return Secret(id + ":" + secret)
	}
	return ""
}

// ConfigFromEnv returns a Config with the key and base URLs taken from the
// environment (getenv is usually os.Getenv).
func ConfigFromEnv(getenv func(string) string) Config {
	return Config{
		Key:      KeyFromEnv(getenv),
		QueueURL: getenv(EnvQueueURL),
		RestURL:  getenv(EnvRestURL),
		APIURL:   getenv(EnvAPIURL),
	}
}

// parseBaseURL checks a configured base URL: http or https, a host, no
// query, fragment or credentials.
func parseBaseURL(name, raw, def string) (*url.URL, error) {
	if raw == "" {
		raw = def
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("falqueue: %s %q is not a URL: %v", name, raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("falqueue: %s %q must be an absolute http(s) URL such as %s", name, raw, def)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("falqueue: %s %q must not carry a query, fragment or user info", name, raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = strings.TrimSuffix(u.RawPath, "/")
	return u, nil
}
