package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"runtime/debug"
	"strings"

	"github.com/fal-video-mcp/fal-video-mcp/tools"
)

// commit is set at build time (-ldflags "-X main.commit=…"); otherwise it
// comes from the build's VCS information, when there is some.
var commit = ""

// versionLine is what --version prints: name, version and commit.
func versionLine() string {
	c := commit
	if c == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					c = s.Value
				}
			}
		}
	}
	if len(c) > 12 {
		c = c[:12]
	}
	v := versionString()
	// A version that already names the commit (a Go pseudo-version, a git
	// describe) is not followed by it again.
	if c == "" || len(c) >= 7 && strings.Contains(v, c[:7]) {
		return fmt.Sprintf("%s %s", tools.Name, v)
	}
	return fmt.Sprintf("%s %s (commit %s)", tools.Name, v, c)
}

// runSubcommand runs the subcommands that are not the server: config and
// doctor. ok is false when args do not start with one of them.
func runSubcommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (code int, ok bool) {
	if len(args) == 0 {
		return 0, false
	}
	switch args[0] {
	case "config":
		return runConfig(args[1:], getenv, stdout, stderr), true
	case "doctor":
		return runDoctor(ctx, args[1:], getenv, stdout, stderr), true
	}
	return 0, false
}

// unexpanded matches a value that is a bundle placeholder a host left as it
// was because the user gave no value, e.g. "${user_config.output_directory}".
var unexpanded = regexp.MustCompile(`^\$\{user_config\.[^}]*\}$`)

// fromBundle adapts the command line and environment that an MCP Bundle
// host (Claude Desktop) builds from mcpb/manifest.json.tmpl:
//
//   - the folders after a "--" are allowed folders, as if each came with
//     --allow-dir: a host expands a multiple-directory setting into one
//     argument per folder, and cannot put "--allow-dir" before each;
//   - a folder after "--" or an environment value that is still a
//     ${user_config.…} placeholder means the user left that setting empty
//     (the host keeps the placeholder then): it is dropped.
func fromBundle(args []string, getenv func(string) string) ([]string, func(string) string) {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			for _, dir := range args[i+1:] {
				if !unexpanded.MatchString(dir) {
					out = append(out, "--allow-dir", dir)
				}
			}
			break
		}
		out = append(out, a)
	}
	return out, func(k string) string {
		v := getenv(k)
		if unexpanded.MatchString(v) {
			return ""
		}
		return v
	}
}
