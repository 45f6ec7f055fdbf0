package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
	"github.com/fal-video-mcp/fal-video-mcp/tools/ledger"
	"github.com/fal-video-mcp/fal-video-mcp/tools/localfile"
)

const doctorUsage = `Usage: %[1]s doctor [--online] [server flags]

Checks that the server can run as configured by the server flags given and
the environment (FAL_KEY, FAL_VIDEO_MCP_*; without FAL_KEY, the key a
client's entry gives the server): one line per check, with the fix when it
fails. Exits 1 when a check fails.

  --online   ask fal whether it accepts the key: one status request for a
             job that cannot exist (404 means the key is good, 401 that it
             is not); nothing is submitted or billed
`

// The --online check asks for the status of this job of this endpoint:
// the id is not one fal ever hands out, so a known key gets 404.
const (
	doctorEndpoint  = "fal-ai/video-upscaler"
	doctorRequestID = "00000000-0000-0000-0000-000000000000"
)

type checkStatus string

const (
	checkOK   checkStatus = "ok"
	checkWarn checkStatus = "warn"
	checkFail checkStatus = "FAIL"
	checkSkip checkStatus = "skip"
)

type check struct {
	status checkStatus
	name   string
	detail string
	fix    string
}

func runDoctor(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	var online bool
	var serverArgs []string
	for _, a := range args {
		switch a {
		case "-h", "-help", "--help":
			fmt.Fprintf(stdout, doctorUsage, tools.Name)
			return 0
		case "-online", "--online":
			online = true
		default:
			serverArgs = append(serverArgs, a)
		}
	}
	cfg, err := parseFlags(serverArgs, getenv, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "%s doctor: %v (see %s doctor --help)\n", tools.Name, err, tools.Name)
		return 2
	}
	cwd, _ := os.Getwd()
	plat := platform{goos: runtime.GOOS, getenv: getenv, cwd: cwd}

	clients, clientKeys := clientChecks(plat)
	var checks []check
	checks = append(checks, keyChecks(ctx, cfg, getenv, online, clientKeys)...)
	checks = append(checks, stateCheck(ctx, cfg, getenv))
	checks = append(checks, allowDirChecks(cfg.allowDirs, plat.home())...)
	checks = append(checks, rootsCheck(cfg))
	checks = append(checks, outputCheck(cfg.outputDir))
	checks = append(checks, clients...)

	failed, warned := 0, 0
	for _, c := range checks {
		line := fmt.Sprintf("%-4s  %s: %s", c.status, c.name, c.detail)
		if c.fix != "" && (c.status == checkFail || c.status == checkWarn) {
			line += " — fix: " + c.fix
		}
		fmt.Fprintln(stdout, line)
		switch c.status {
		case checkFail:
			failed++
		case checkWarn:
			warned++
		}
	}
	fmt.Fprintf(stdout, "%d checks: %d failed, %d warnings\n", len(checks), failed, warned)
	if failed > 0 {
		return 1
	}
	return 0
}

// keyChecks: a key is set, and with online, fal accepts it. Without one
// in the environment, the key a client's entry gives the server is checked.
func keyChecks(ctx context.Context, cfg config, getenv func(string) string, online bool, clientKeys []entryKey) []check {
	key := falqueue.KeyFromEnv(getenv)
	set := check{status: checkOK, name: "fal key"}
	switch {
	case key == "" && len(clientKeys) > 0:
		key = clientKeys[0].key
		set.detail = "not in this environment; the entry " + clientKeys[0].where + " sets one"
	case key == "" && cfg.dryRun:
		set.detail = "none, and none needed: --dry-run serves from the offline emulator"
	case key == "":
		set.status, set.detail = checkFail, "not set"
		set.fix = "run " + keyFixCommand("claude-desktop") + " (or claude-code, vscode, cursor in place of claude-desktop; " +
			"add your server flags), with your key from https://fal.ai/dashboard/keys in place of your-key; or put FAL_KEY in the env of the server's entry in your client"
	case strings.TrimSpace(getenv(falqueue.EnvKey)) != "":
		set.detail = "set (" + falqueue.EnvKey + ")"
	default:
		set.detail = "set (" + falqueue.EnvKeyID + " and " + falqueue.EnvKeySecret + ")"
	}
	accepted := check{status: checkSkip, name: "fal accepts the key"}
	switch {
	case key == "":
		accepted.detail = "no key to ask about"
	case !online:
		accepted.detail = "not asked: run doctor --online (one status request, nothing billed)"
	default:
		accepted = askFal(ctx, cfg, key)
	}
	return []check{set, accepted}
}

// askFal sends one authenticated status request for a job that cannot
// exist: 404 means fal took the key, 401/403 that it did not.
func askFal(ctx context.Context, cfg config, key falqueue.Secret) check {
	c := check{name: "fal accepts the key"}
	fal, err := falqueue.New(falqueue.Config{Key: key, QueueURL: cfg.queueURL, RestURL: cfg.restURL,
		RequestTimeout: cfg.requestTimeout, BackoffMax: 2 * time.Second, UserAgent: tools.Name + "/" + versionString()})
	if err != nil {
		c.status, c.detail, c.fix = checkFail, err.Error(), "check --queue-url and --rest-url"
		return c
	}
	h, err := fal.Reattach(doctorEndpoint, doctorRequestID)
	if err != nil {
		c.status, c.detail = checkFail, err.Error()
		return c
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, err = fal.Status(ctx, h, false)
	switch {
	case err == nil, errors.Is(err, falqueue.ErrNotFound):
		c.status, c.detail = checkOK, "yes ("+cfg.queueURL+" answered a status request with the key)"
	case errors.Is(err, falqueue.ErrUnauthorized):
		c.status, c.detail = checkFail, "no: fal rejected it ("+err.Error()+")"
		c.fix = "copy the key again from https://fal.ai/dashboard/keys into FAL_KEY"
	default:
		c.status, c.detail = checkFail, "could not ask: "+err.Error()
		c.fix = "check the network connection to " + cfg.queueURL
	}
	return c
}

// stateCheck: the state folder is writable and the job ledger opens.
func stateCheck(ctx context.Context, cfg config, getenv func(string) string) check {
	c := check{name: "state folder"}
	dir := cfg.stateDir
	if dir == "" {
		var err error
		if dir, err = ledger.DefaultDir(getenv); err != nil {
			c.status, c.detail, c.fix = checkFail, err.Error(), "pass --state-dir FOLDER"
			return c
		}
	}
	led, err := ledger.Open(ctx, dir)
	if err != nil {
		c.status, c.detail = checkFail, err.Error()
		c.fix = "pass --state-dir with a writable folder, or move the broken jobs.db aside"
		return c
	}
	path := led.Path()
	led.Close()
	if err := tryWrite(dir); err != nil {
		c.status, c.detail, c.fix = checkFail, dir+" is not writable: "+err.Error(), "pass --state-dir with a writable folder"
		return c
	}
	c.status, c.detail = checkOK, dir+" is writable and the job ledger "+filepath.Base(path)+" opens"
	return c
}

// tryWrite creates and removes a file in dir.
func tryWrite(dir string) error {
	f, err := os.CreateTemp(dir, ".fal-video-mcp-doctor-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// allowDirChecks: each allowed folder exists and can be read; one that
// is the filesystem root, the home folder or contains it is the user's
// own choice, and a warning: every file of the user can be uploaded.
func allowDirChecks(dirs []string, home string) []check {
	if len(dirs) == 0 {
		return []check{{status: checkWarn, name: "allowed folders", detail: "none: media inputs can be URLs only, no local files",
			fix: "add --allow-dir FOLDER for each folder whose videos the agent may use"}}
	}
	var out []check
	for _, d := range dirs {
		c := check{name: "allowed folder " + d, fix: "create it, fix its permissions, or drop that --allow-dir"}
		fi, err := os.Stat(d)
		switch {
		case !filepath.IsAbs(d):
			c.status, c.detail, c.fix = checkFail, "not an absolute path", "give the full path"
		case err != nil:
			c.status, c.detail = checkFail, "missing: "+err.Error()
		case !fi.IsDir():
			c.status, c.detail = checkFail, "not a folder"
		default:
			if f, err := os.Open(d); err != nil {
				c.status, c.detail = checkFail, "cannot be read: "+err.Error()
			} else if _, err := f.Readdirnames(1); err != nil && !errors.Is(err, io.EOF) {
				f.Close()
				c.status, c.detail = checkFail, "cannot be listed: "+err.Error()
			} else if why := localfile.TooBroad(d, home); why != "" {
				f.Close()
				c.status, c.detail = checkWarn, "exists and can be read, but "+why+": every file of the user (SSH keys, tokens, mail) can be uploaded to fal"
				c.fix = "allow only the folders that hold the media the agent may use"
			} else {
				f.Close()
				c.status, c.detail = checkOK, "exists and can be read"
			}
		}
		out = append(out, c)
	}
	return out
}

// rootsCheck says whether the folders a client shares as MCP roots count,
// and which of them the server ignores (tools/media.go clientRoots).
func rootsCheck(cfg config) check {
	c := check{name: "client roots"}
	switch {
	case cfg.noRoots:
		c.status, c.detail = checkSkip, "not used (--no-roots)"
	case cfg.transport != "stdio":
		c.status, c.detail = checkSkip, "not used over --transport "+cfg.transport+" (roots count over stdio only)"
	default:
		c.status, c.detail = checkOK, "the folders a client shares as MCP roots may be read, except a filesystem root, "+
			"the home folder, or a folder that contains the home folder: those are ignored, with a warning in the log"
	}
	return c
}

// outputCheck: the output folder is writable, or can be created.
func outputCheck(dir string) check {
	c := check{name: "output folder", fix: "pass --output-dir with a folder you can write to"}
	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		c.status, c.detail = checkFail, dir+" is not a folder"
	case err == nil:
		if err := tryWrite(dir); err != nil {
			c.status, c.detail = checkFail, dir+" is not writable: "+err.Error()
		} else {
			c.status, c.detail = checkOK, dir+" is writable"
		}
	case errors.Is(err, os.ErrNotExist):
		// The server creates it on the first download: its nearest
		// existing parent must be writable.
		parent := filepath.Dir(dir)
		for {
			if _, err := os.Stat(parent); err == nil || parent == filepath.Dir(parent) {
				break
			}
			parent = filepath.Dir(parent)
		}
		if err := tryWrite(parent); err != nil {
			c.status, c.detail = checkFail, dir+" does not exist and cannot be created in "+parent+": "+err.Error()
		} else {
			c.status, c.detail = checkOK, dir+" will be created on the first download"
		}
	default:
		c.status, c.detail = checkFail, err.Error()
	}
	return c
}

// entryKey is a key a client's entry gives the server.
type entryKey struct {
	where string
	key   falqueue.Secret
}

// clientChecks: which client configuration files mention the server, and
// whether what they run exists; and the keys those entries set.
func clientChecks(p platform) (out []check, keys []entryKey) {
	seen := map[string]bool{}
	for _, cl := range mcpClients {
		for _, file := range cl.files(p) {
			if seen[file] {
				continue
			}
			seen[file] = true
			b, err := os.ReadFile(file)
			if err != nil {
				continue
			}
			name := cl.title + " (" + file + ")"
			doc, err := parseObject(b)
			var servers *jsonObject
			if err == nil {
				servers, err = doc.child(cl.serversKey)
			}
			if err != nil {
				out = append(out, check{status: checkWarn, name: name, detail: "not read: not plain JSON (" + err.Error() + ")"})
				continue
			}
			maps := []namedServers{{name, servers}}
			if cl.name == "claude-code" {
				maps = append(maps, claudeProjects(doc, name)...)
			}
			for _, m := range maps {
				for _, k := range m.servers.keys {
					var e serverEntry
					if json.Unmarshal(m.servers.vals[k], &e) != nil || !mentionsServer(e) {
						continue
					}
					out = append(out, entryCheck(cl, m.name+" "+k, e))
					// A literal key, not a ${input:…} of VS Code.
					if key := falqueue.KeyFromEnv(func(k string) string { return e.Env[k] }); key != "" && !strings.Contains(string(key), "${") {
						keys = append(keys, entryKey{m.name + " " + k, key})
					}
				}
			}
		}
	}
	if len(out) == 0 {
		out = append(out, check{status: checkWarn, name: "client configuration",
			detail: "no client configuration file on this machine mentions " + tools.Name + " (an installed .mcpb bundle is not looked for)",
			fix:    "run `" + tools.Name + " config CLIENT --write` with CLIENT one of " + clientNames()})
	}
	return out, keys
}

type namedServers struct {
	name    string
	servers *jsonObject
}

// claudeProjects are the local-scope servers of Claude Code: those added
// in a project folder without --scope, under "projects" in ~/.claude.json.
func claudeProjects(doc *jsonObject, name string) []namedServers {
	projects, err := doc.child("projects")
	if err != nil {
		return nil
	}
	var out []namedServers
	for _, dir := range projects.keys {
		p, err := parseObject(projects.vals[dir])
		if err != nil {
			continue
		}
		if servers, err := p.child("mcpServers"); err == nil && len(servers.keys) > 0 {
			out = append(out, namedServers{name + " project " + dir, servers})
		}
	}
	return out
}

func mentionsServer(e serverEntry) bool {
	base := strings.TrimSuffix(filepath.Base(filepath.FromSlash(strings.ReplaceAll(e.Command, `\`, "/"))), ".exe")
	return strings.HasPrefix(base, tools.Name)
}

// entryCheck: the entry's command exists, its flags are the server's, and
// it passes a key.
func entryCheck(cl mcpClient, name string, e serverEntry) check {
	c := check{name: name, fix: "run `" + tools.Name + " config " + cl.name + " --write` (with your flags) to point it at this binary"}
	switch {
	case !filepath.IsAbs(e.Command):
		found, err := exec.LookPath(e.Command)
		if err != nil {
			c.status, c.detail = checkFail, fmt.Sprintf("runs %q, which is not on the PATH", e.Command)
			return c
		}
		c.status, c.detail = checkWarn, fmt.Sprintf("runs %q from the PATH (%s here); an app started from the desktop may not have that PATH", e.Command, found)
		c.fix = "use the absolute path: " + c.fix
		return c
	default:
		if fi, err := os.Stat(e.Command); err != nil || fi.IsDir() {
			c.status, c.detail = checkFail, fmt.Sprintf("runs %s, which does not exist", e.Command)
			return c
		}
	}
	args, _ := fromBundle(e.Args, os.Getenv)
	if _, err := parseFlags(args, func(string) string { return "" }, io.Discard); err != nil {
		c.status, c.detail = checkFail, "its arguments are refused: "+err.Error()
		c.fix = "fix its \"args\", or rewrite it with `" + tools.Name + " config " + cl.name + " --write`"
		return c
	}
	if e.Env[falqueue.EnvKey] == "" && e.Env[falqueue.EnvKeyID] == "" {
		c.status, c.detail = checkWarn, fmt.Sprintf("runs %s, with no %s in its env", e.Command, falqueue.EnvKey)
		c.fix = "add FAL_KEY to its \"env\", or rewrite it with " + keyFixCommand(cl.name) + " (add your server flags), with your key from https://fal.ai/dashboard/keys in place of your-key"
		return c
	}
	c.status, c.detail, c.fix = checkOK, "runs "+e.Command+", which exists", ""
	return c
}

// keyFixCommand is the command that writes the client's entry with a
// key, as one line that works from the shell doctor runs in: the key is
// set on the line itself (config --include-key copies FAL_KEY from the
// environment, which is what doctor found empty), and the program is
// named by its absolute path (it may not be on the PATH).
func keyFixCommand(client string) string {
	self := tools.Name
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			self = exe
		}
	}
	if runtime.GOOS == "windows" {
		return "`$env:FAL_KEY='your-key'; & " + powershellQuote(self) + " config " + client + " --write --include-key`"
	}
	return "`FAL_KEY=your-key " + shellQuote(self) + " config " + client + " --write --include-key`"
}
