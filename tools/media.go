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

// upload uploads a local file (an absolute path or a file: URL) that the
// policy allows, or returns the URL of its earlier upload.
func (u *uploads) upload(ctx context.Context, name string) (uploaded, error) {
	policy := u.policy
	if u.roots {
		policy = policy.With(clientRoots(ctx, u.log))
	}
	f, err := policy.Open(name)
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
// URL of its upload. https URLs and data URIs pass through as they are.
func (u *uploads) resolveMedia(ctx context.Context, args map[string]any, paths []string) error {
	for _, p := range paths {
		if err := u.resolvePath(ctx, args, strings.Split(p, "."), p); err != nil {
			return err
		}
	}
	return nil
}

func (u *uploads) resolvePath(ctx context.Context, obj map[string]any, segs []string, field string) error {
	name, list := strings.CutSuffix(segs[0], "[]")
	v, ok := obj[name]
	if !ok || v == nil {
		return nil
	}
	if len(segs) > 1 { // a list of objects, or an object
		items, isList := v.([]any)
		if !isList {
			items = []any{v}
		}
		for _, it := range items {
			if m, ok := it.(map[string]any); ok {
				if err := u.resolvePath(ctx, m, segs[1:], field); err != nil {
					return err
				}
			}
		}
		return nil
	}
	replace := func(s string) (string, error) {
		if !localfile.IsLocal(s) {
			if !remoteMedia(s) {
				return "", fmt.Errorf("%s: got %s — allowed an https URL, a data URI, or an absolute local path or file:// URL inside the allowed folders",
					strings.ReplaceAll(field, "[]", ""), display(s))
			}
			return s, nil
		}
		up, err := u.upload(ctx, s)
		if err != nil {
			return "", fmt.Errorf("%s: %w", strings.ReplaceAll(field, "[]", ""), err)
		}
		return up.URL, nil
	}
	if list {
		items, _ := v.([]any)
		for i, it := range items {
			if s, ok := it.(string); ok {
				r, err := replace(s)
				if err != nil {
					return err
				}
				items[i] = r
			}
		}
		return nil
	}
	if s, ok := v.(string); ok {
		r, err := replace(s)
		if err != nil {
			return err
		}
		obj[name] = r
	}
	return nil
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

// remoteMedia reports whether a media value goes to fal as it is: an
// http(s) URL, a data URI, or empty (the seed's examples send "" for a
// media input they do not use).
func remoteMedia(s string) bool {
	lower := strings.ToLower(s)
	return s == "" || strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "data:")
}
