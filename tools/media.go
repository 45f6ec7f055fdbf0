package tools

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
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
// file's bytes once: bytes already uploaded to the same target (the same
// SHA-256, content type, fal host and account) reuse their URL while it is
// fresh. A file is known by its bytes only — never by its path, size or
// modification time, which can stay the same while the bytes change. The
// ledger, when there is one, remembers uploads across restarts.
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

// uploadKey is an upload's content: its bytes' SHA-256 and content type.
type uploadKey struct {
	sha256      string
	contentType string
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
// policy allows, or returns the URL of an earlier upload of the same bytes.
func (u *uploads) upload(ctx context.Context, name string) (uploaded, error) {
	return u.uploadSum(ctx, name, "")
}

// target is where uploads go: the fal host and account (falqueue's
// Client.Target), never the key.
func (u *uploads) target() string {
	if u.fal == nil {
		return ""
	}
	return u.fal.Target()
}

// uploadSum is upload of a file whose SHA-256 the call may already have
// taken. sum is the SHA-256 the call already took of the file (its
// canonical input names the file by it), or "" to hash it here. The bytes
// uploaded are checked, as they are read, to be the bytes of sum: a file
// written to in between is refused (localfile.ErrChanged), never uploaded
// under a hash that is not its own.
func (u *uploads) uploadSum(ctx context.Context, name, sum string) (uploaded, error) {
	f, err := u.open(ctx, name)
	if err != nil {
		return uploaded{}, err
	}
	defer f.Close()
	if sum == "" {
		if sum, err = f.Hash(); err != nil {
			return uploaded{}, fmt.Errorf("reading %s: %w", name, err)
		}
	}
	key := uploadKey{sum, f.ContentType}
	u.mu.Lock()
	prev, ok := u.done[key]
	u.mu.Unlock()
	if ok && time.Since(prev.at) < uploadFresh {
		return prev, nil
	}
	if u.led != nil {
		lctx, cancel := context.WithTimeout(ctx, ledgerTimeout)
		found, ok, err := u.led.FindUpload(lctx, sum, f.ContentType, u.target(), time.Now().Add(-uploadFresh))
		cancel()
		if err == nil && ok {
			up := uploaded{URL: found.URL, ContentType: found.ContentType, Size: found.Size, at: found.UploadedAt}
			u.mu.Lock()
			u.done[key] = up
			u.mu.Unlock()
			return up, nil
		}
	}
	body := f.Verified(sum)
	url, err := u.fal.Upload(ctx, body, f.Size, falqueue.UploadOptions{ContentType: f.ContentType, FileName: baseName(f.Path)})
	if errors.Is(err, localfile.ErrChanged) || err == nil && !body.Done() {
		return uploaded{}, fmt.Errorf("%s changed while it was being read (it is not the file this call was checked against); "+
			"nothing was submitted: call again once the file is no longer being written", name)
	}
	if err != nil {
		return uploaded{}, fmt.Errorf("uploading %s to fal: %w", name, err)
	}
	up := uploaded{URL: url, ContentType: f.ContentType, Size: f.Size, at: time.Now()}
	u.mu.Lock()
	u.done[key] = up
	u.mu.Unlock()
	if u.led != nil {
		lctx, cancel := context.WithTimeout(ctx, ledgerTimeout)
		_ = u.led.RememberUpload(lctx, ledger.Upload{Path: f.Path, Size: f.Size, ModTime: f.ModTime, SHA256: sum, Target: u.target(),
			URL: url, ContentType: f.ContentType, UploadedAt: up.at})
		cancel()
	}
	return up, nil
}

func baseName(p string) string { return p[strings.LastIndex(p, "/")+1:] }

// resolveMedia replaces every local file among args' media fields (paths
// such as "video_url", "ref_image_urls[]", "images[].image_url") with the
// URL of its upload; http(s) URLs and data URIs pass through as they are.
// Every value is classified first: if any is not acceptable, nothing is
// uploaded and the error lists them all. sums are the SHA-256 of local
// files the call already hashed (canonicalHash), by value; a file not in
// it is hashed as it is uploaded.
func (u *uploads) resolveMedia(ctx context.Context, args map[string]any, paths []string, sums map[string]string) error {
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
			up, uerr := u.uploadSum(ctx, s, sums[s])
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
// root, the user's home folder or a folder containing it would open every
// file the user has; it is ignored, with a warning (localfile.TooBroad).
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
	home, _ := os.UserHomeDir()
	var dirs []string
	for _, r := range res.Roots {
		u, err := url.Parse(r.URI)
		if err != nil || u.Scheme != "file" || (u.Host != "" && u.Host != "localhost") {
			continue
		}
		if why := localfile.TooBroad(u.Path, home); why != "" {
			log.Warn("ignoring the client's MCP root: "+why+", which would open every file of the user; share a project folder instead", "root", r.URI)
			continue
		}
		dirs = append(dirs, u.Path)
	}
	return dirs
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
