package tools

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/tools/ledger"
	"github.com/fal-video-mcp/fal-video-mcp/tools/localfile"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// uploads turns local files given as media inputs into fal CDN URLs, each
// file once: a file already uploaded (same path, size and modification
// time, or the same bytes) reuses its URL while it is fresh. The ledger,
// when there is one, remembers uploads across restarts.
type uploads struct {
	policy *localfile.Policy
	roots  bool // the client's MCP roots are allowed too (Options.ClientRoots)
	log    *slog.Logger
	fal    *falqueue.Client
	led    *ledger.Ledger
	// dryRun are this process's dry-run emulator origins: a URL of another
	// (dead) emulator is refused for what it is (dryrunurl.go).
	dryRun []string
	mu     sync.Mutex
	done   map[uploadKey]uploaded
}

// uploadFresh is how long an uploaded file's URL is reused. fal keeps
// uploads longer; a day keeps clear of any retention it may apply.
const uploadFresh = 24 * time.Hour

type uploadKey struct {
	path    string
	size    int64
	modTime int64
}

type uploaded struct {
	at          time.Time
	URL         string `json:"url" jsonschema:"required" jsonschema_description:"The file's URL on fal's CDN."`
	ContentType string `json:"content_type" jsonschema:"required"`
	Size        int64  `json:"size" jsonschema:"required" jsonschema_description:"Bytes."`
}

// open opens a local file the policy allows: the allowed folders, and the
// client's roots where they count (Options.ClientRoots).
func (u *uploads) open(ctx context.Context, name string) (*localfile.File, error) {
	policy := u.policy
	if u.roots {
		policy = policy.With(clientRoots(ctx, u.log))
	}
	return policy.Open(name)
}

// upload uploads a local file (an absolute path or a file: URL) that the
// policy allows, or returns the URL of its earlier upload.
func (u *uploads) upload(ctx context.Context, name string) (uploaded, error) {
	f, err := u.open(ctx, name)
	if err != nil {
		return uploaded{}, err
	}
	defer f.Close()
	key := uploadKey{f.Path, f.Size, f.ModTime}
	u.mu.Lock()
	prev, ok := u.done[key]
	u.mu.Unlock()
	if ok && time.Since(prev.at) < uploadFresh {
		return prev, nil
	}
	sum, err := fileSHA256(f.File)
	if err != nil {
		return uploaded{}, fmt.Errorf("reading %s: %w", name, err)
	}
	if u.led != nil {
		lctx, cancel := context.WithTimeout(ctx, ledgerTimeout)
		found, ok, err := u.led.FindUpload(lctx, f.Path, f.Size, f.ModTime, sum, time.Now().Add(-uploadFresh))
		cancel()
		if err == nil && ok {
			up := uploaded{URL: found.URL, ContentType: found.ContentType, Size: found.Size, at: found.UploadedAt}
			u.mu.Lock()
			u.done[key] = up
			u.mu.Unlock()
			return up, nil
		}
	}
	url, err := u.fal.Upload(ctx, f.File, f.Size, falqueue.UploadOptions{ContentType: f.ContentType, FileName: baseName(f.Path)})
	if err != nil {
		return uploaded{}, fmt.Errorf("uploading %s to fal: %w", name, err)
	}
	up := uploaded{URL: url, ContentType: f.ContentType, Size: f.Size, at: time.Now()}
	u.mu.Lock()
	u.done[key] = up
	u.mu.Unlock()
	if u.led != nil {
		lctx, cancel := context.WithTimeout(ctx, ledgerTimeout)
		_ = u.led.RememberUpload(lctx, ledger.Upload{Path: f.Path, Size: f.Size, ModTime: f.ModTime, SHA256: sum,
			URL: url, ContentType: f.ContentType, UploadedAt: up.at})
		cancel()
	}
	return up, nil
}

// fileSHA256 hashes a file and rewinds it.
func fileSHA256(f *os.File) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func baseName(p string) string { return p[strings.LastIndex(p, "/")+1:] }

// resolveMedia replaces every local file among args' media fields (paths
// such as "video_url", "ref_image_urls[]", "images[].image_url") with the
// URL of its upload; http(s) URLs and data URIs pass through as they are.
// Every value is classified first: if any is not acceptable, nothing is
// uploaded and the error lists them all.
func (u *uploads) resolveMedia(ctx context.Context, args map[string]any, paths []string) error {
	var problems []string
	for _, p := range paths {
		eachMedia(args, strings.Split(p, "."), "", func(field, s string, _ func(string)) {
			if _, problem := classifyMedia(s); problem != "" {
				problems = append(problems, fmt.Sprintf("%s: got %s — %s; allowed: %s", field, display(s), problem, mediaAccepted))
			} else if deadDryRunOutput(s, u.dryRun) {
				problems = append(problems, fmt.Sprintf("%s: got %s — %s", field, display(s), deadDryRunMessage))
			}
		})
	}
	if len(problems) > 0 {
		return fmt.Errorf("invalid arguments:\n- %s", strings.Join(problems, "\n- "))
	}
	var err error
	for _, p := range paths {
		eachMedia(args, strings.Split(p, "."), "", func(field, s string, set func(string)) {
			if local, _ := classifyMedia(s); !local || err != nil {
				return
			}
			up, uerr := u.upload(ctx, s)
			if uerr != nil {
				err = fmt.Errorf("%s: %w", field, uerr)
				return
			}
			set(up.URL)
		})
	}
	return err
}

// eachMedia calls fn with every string at a media path (segments such as
// "images[]", "image_url") below obj, the field's name as the validator
// writes it ("images[0].image_url") and a function that replaces it.
func eachMedia(obj map[string]any, segs []string, prefix string, fn func(field, s string, set func(string))) {
	name, list := strings.CutSuffix(segs[0], "[]")
	v, ok := obj[name]
	if !ok || v == nil {
		return
	}
	field := name
	if prefix != "" {
		field = prefix + "." + name
	}
	if len(segs) > 1 { // a list of objects, or an object
		if items, isList := v.([]any); isList {
			for i, it := range items {
				if m, ok := it.(map[string]any); ok {
					eachMedia(m, segs[1:], fmt.Sprintf("%s[%d]", field, i), fn)
				}
			}
		} else if m, ok := v.(map[string]any); ok {
			eachMedia(m, segs[1:], field, fn)
		}
		return
	}
	if list {
		items, _ := v.([]any)
		for i, it := range items {
			if s, ok := it.(string); ok {
				fn(fmt.Sprintf("%s[%d]", field, i), s, func(r string) { items[i] = r })
			}
		}
		return
	}
	if s, ok := v.(string); ok {
		fn(field, s, func(r string) { obj[name] = r })
	}
}

// clientRoots are the folders the client shares as MCP roots, when it
// offers them: the user allowed those too. A root that is a filesystem
// root or the user's home folder itself would open every file the user
// has; it is ignored, with a warning.
func clientRoots(ctx context.Context, log *slog.Logger) []string {
	srv := server.ServerFromContext(ctx)
	if srv == nil {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res, err := srv.RequestRoots(rctx, mcp.ListRootsRequest{})
	if err != nil || res == nil {
		return nil
	}
	home := ""
	if h, err := os.UserHomeDir(); err == nil {
		home = resolved(h)
	}
	var dirs []string
	for _, r := range res.Roots {
		u, err := url.Parse(r.URI)
		if err != nil || u.Scheme != "file" || (u.Host != "" && u.Host != "localhost") {
			continue
		}
		switch dir := resolved(u.Path); {
		case filepath.Dir(dir) == dir:
			log.Warn("ignoring the client's MCP root: it is a filesystem root, which would open every file; share a project folder instead", "root", r.URI)
		case home != "" && dir == home:
			log.Warn("ignoring the client's MCP root: it is the home folder itself, which would open every file of the user; share a project folder instead", "root", r.URI)
		default:
			dirs = append(dirs, u.Path)
		}
	}
	return dirs
}

// resolved is p cleaned, its symlinks resolved when it exists.
func resolved(p string) string {
	p = filepath.Clean(filepath.FromSlash(p))
	if real, err := filepath.EvalSymlinks(p); err == nil {
		return real
	}
	return p
}

// mediaAccepted is what a media field takes, in the words of every text
// that says so (tool descriptions, instructions, error messages).
const mediaAccepted = "an http(s) URL with a host, a data: URI, or an absolute local path or file:// URL inside the folders the user allowed"

// classifyMedia tells how a media value reaches fal: as it is (an http or
// https URL with a host, or a data: URI), or uploaded first (a local file);
// problem says in words why it is neither.
//
// http:// is accepted as well as https://: fal's runners fetch any
// publicly reachable URL (the seed asks only that it be publicly
// accessible), and a dry run's outputs are served over http by the
// emulator, so a rehearsed workflow passes them from step to step.
func classifyMedia(s string) (local bool, problem string) {
	lower := strings.ToLower(s)
	switch {
	case s == "":
		return false, "an empty string names no file"
	case strings.TrimSpace(s) != s:
		return false, "it starts or ends with white space"
	case strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://"):
		u, err := url.Parse(s)
		if err != nil {
			return false, "not a valid URL"
		}
		if u.Hostname() == "" {
			return false, "the URL has no host"
		}
		return false, ""
	case strings.HasPrefix(lower, "data:"):
		if !strings.Contains(s, ",") {
			return false, "a data URI carries its data after a comma (data:<type>;base64,<data>)"
		}
		return false, ""
	case localfile.IsLocal(s):
		return true, ""
	case urlScheme.MatchString(s):
		return false, fmt.Sprintf("the scheme %s: is not accepted", strings.ToLower(s[:strings.IndexByte(s, ':')]))
	}
	return false, "local paths must be absolute"
}

// urlScheme matches a value that starts with a URL scheme ("ftp:", "s3:").
var urlScheme = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
