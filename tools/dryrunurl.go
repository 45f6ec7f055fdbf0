package tools

import (
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// A dry-run output lives as long as the process whose offline emulator
// (falqueue/faltest, started by --dry-run) served it: its URL names that
// emulator's loopback address, gone with the process. Passed to a later
// process such a URL would be refused as "a loopback address" (the
// download client reads only fal's hosts and public addresses) or handed
// to fal, which cannot read it; it is recognised instead, and said for
// what it is.

// deadDryRunMessage says what a dead dry-run output is and what to do.
const deadDryRunMessage = "this is a dry-run output of an earlier process; dry-run outputs live only as long as that process " +
	"(its offline fal emulator served them, and is gone with it): run the step that made it again in this process, " +
	"or pass a local file or a public URL"

// emulatorFilePath is the path of a file the emulator's CDN serves:
// /files/<token of 24 hex digits>/<file name> (falqueue/faltest,
// storage.go).
var emulatorFilePath = regexp.MustCompile(`^/files/[0-9a-f]{24}/[^/]+$`)

// deadDryRunOutput reports whether raw is the URL of a file a dry-run
// emulator served — http on a loopback address, an emulator file path —
// whose emulator is gone: not this process's (live: its origins, as
// Options.MediaOrigins gives them in dry-run), and nothing listens at its
// address any more. A URL whose address still answers is left to the
// usual checks (an emulator the tests run as fal, say).
func deadDryRunOutput(raw string, live []string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || !emulatorFilePath.MatchString(u.EscapedPath()) {
		return false
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && !strings.EqualFold(host, "localhost") {
		return false
	}
	origin := u.Scheme + "://" + u.Host
	for _, o := range live {
		if strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return false
		}
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	// A connection to this machine only: refused at once when nothing
	// listens there.
	c, err := net.DialTimeout("tcp", net.JoinHostPort(host, port), time.Second)
	if err == nil {
		c.Close()
		return false
	}
	return true
}
