package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/fal-video-mcp/fal-video-mcp/falqueue"
	"github.com/fal-video-mcp/fal-video-mcp/tools"
)

const configUsage = `Usage: %[1]s config CLIENT [--write] [--include-key] [--name NAME] [--file PATH] [server flags]

Prints the configuration that runs this %[1]s binary (by its absolute path)
in CLIENT, with the server flags given, and says which file it goes in.
CLIENT is one of: %[2]s.

  --write         merge the entry into that file, keeping every other entry;
                  the file is backed up first (FILE.bak-DATE)
  --include-key   put the fal key of this environment (FAL_KEY) into the
                  entry; it is then stored in plain text in that file
  --name NAME     the server's name in the client (default fal-video)
  --file PATH     use PATH instead of the client's usual file

Server flags are checked and their folders made absolute, e.g.
  %[1]s config claude-desktop --allow-dir ~/Videos --download
`

// configOptions are the flags of `config` itself; every other argument is
// a server flag.
type configOptions struct {
	client     mcpClient
	write      bool
	includeKey bool
	name       string
	file       string
	serverArgs []string
}

func parseConfigArgs(args []string) (configOptions, error) {
	o := configOptions{name: "fal-video"}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return o, fmt.Errorf("name the client: %s", clientNames())
	}
	c, ok := findClient(args[0])
	if !ok {
		return o, fmt.Errorf("unknown client %q: want one of %s", args[0], clientNames())
	}
	o.client = c
	for i := 1; i < len(args); i++ {
		name, value, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if !strings.HasPrefix(args[i], "-") {
			name = ""
		}
		switch name {
		case "write", "include-key":
			if hasValue {
				return o, fmt.Errorf("--%s takes no value", name)
			}
			if name == "write" {
				o.write = true
			} else {
				o.includeKey = true
			}
		case "name", "file":
			if !hasValue {
				if i+1 >= len(args) {
					return o, fmt.Errorf("--%s needs a value", name)
				}
				i++
				value = args[i]
			}
			if value == "" {
				return o, fmt.Errorf("--%s needs a value", name)
			}
			if name == "name" {
				o.name = value
			} else {
				o.file = value
			}
		default:
			o.serverArgs = append(o.serverArgs, args[i])
		}
	}
	return o, nil
}

// pathFlags are the server flags whose values are folders: a client starts
// the server in a working directory of its own, so they must be absolute.
var pathFlags = map[string]bool{"allow-dir": true, "output-dir": true, "state-dir": true}

// absServerArgs makes the folders of path flags absolute (with ~ for the
// home folder) and splits --flag=value into two arguments.
func absServerArgs(args []string, home string) ([]string, error) {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || !pathFlags[name] {
			out = append(out, a)
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return nil, fmt.Errorf("--%s needs a folder", name)
			}
			i++
			value = args[i]
		}
		if value == "~" || strings.HasPrefix(value, "~/") || strings.HasPrefix(value, `~\`) {
			value = filepath.Join(home, value[1:])
		}
		abs, err := filepath.Abs(value)
		if err != nil {
			return nil, fmt.Errorf("--%s %q: %w", name, value, err)
		}
		out = append(out, "--"+name, abs)
	}
	return out, nil
}

func runConfig(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			fmt.Fprintf(stdout, configUsage, tools.Name, clientNames())
			return 0
		}
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "%s config: %s\n", tools.Name, fmt.Sprintf(format, a...))
		return 2
	}
	o, err := parseConfigArgs(args)
	if err != nil {
		return fail("%v (see %s config --help)", err, tools.Name)
	}
	cwd, _ := os.Getwd()
	plat := platform{goos: runtime.GOOS, getenv: getenv, cwd: cwd}
	if o.serverArgs, err = absServerArgs(o.serverArgs, plat.home()); err != nil {
		return fail("%v", err)
	}
	// The same parser as the server's: a flag it refuses is refused here.
	var parseErr strings.Builder
	if _, err := parseFlags(o.serverArgs, func(string) string { return "" }, &parseErr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return fail("--help is not a server flag here; see %s config --help", tools.Name)
		}
		return fail("server flags: %v", err)
	}
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		return fail("cannot find this program's own path: %v", err)
	}
	if tmp := os.TempDir(); strings.HasPrefix(exe, filepath.Clean(tmp)+string(filepath.Separator)) && strings.Contains(exe, "go-build") {
		fmt.Fprintf(stderr, "note: %s is a temporary build (go run); install the binary first and run config from it\n", exe)
	}

	entry := serverEntry{Command: exe, Args: o.serverArgs}
	if entry.Args == nil {
		entry.Args = []string{}
	}
	if o.client.typed {
		entry.Type = "stdio"
	}
	var inputs []vscodeInput
	key := falqueue.KeyFromEnv(getenv)
	switch {
	case o.includeKey && key == "":
		return fail("--include-key: no fal key in this environment (set FAL_KEY)")
	case o.includeKey:
		entry.Env = map[string]string{falqueue.EnvKey: string(key)}
	case o.client.name == "vscode":
		// VS Code asks for the key once and keeps it in its secret store.
		inputs = []vscodeInput{{Type: "promptString", ID: "fal-key", Description: "fal.ai API key (FAL_KEY)", Password: true}}
		entry.Env = map[string]string{falqueue.EnvKey: "${input:fal-key}"}
	}

	file := o.file
	if file == "" {
		file = o.client.files(plat)[0]
	}
	if file, err = filepath.Abs(file); err != nil {
		return fail("%v", err)
	}
	var existing []byte
	if o.write {
		existing, err = os.ReadFile(file)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fail("cannot read %s: %v", file, err)
		}
	}
	doc, replaced, err := clientDoc(existing, o.client, o.name, entry, inputs)
	if err != nil {
		return fail("%s is not plain JSON (%v); it was left as it is: add the entry by hand (run without --write to print it)", file, err)
	}

	if !o.write {
		if o.client.name == "claude-code" {
			fmt.Fprintln(stdout, claudeAddLine(o.name, entry, runtime.GOOS))
			fmt.Fprintf(stderr, "Run this line in a shell; claude keeps the server in %s (user scope).\n", file)
		} else {
			// Without --write, doc holds only our entry, in the shape of
			// the client's file.
			_, _ = stdout.Write(doc.encode())
			fmt.Fprintf(stderr, "This goes in %s, under %q (merge it by hand, or run again with --write).\n", file, o.client.serversKey)
		}
	} else {
		backup, err := writeWithBackup(file, doc.encode(), time.Now())
		if err != nil {
			return fail("cannot write %s: %v", file, err)
		}
		verb := "added"
		if replaced {
			verb = "replaced"
		}
		fmt.Fprintf(stdout, "%s %q in %s\n", verb, o.name, file)
		if backup != "" {
			fmt.Fprintf(stdout, "the previous file is kept as %s\n", backup)
		}
		fmt.Fprintf(stdout, "restart %s to load it\n", o.client.title)
	}
	if !o.includeKey && o.client.name != "vscode" {
		fmt.Fprintf(stderr, "No fal key is in this entry: add %s to its environment, or run again with --include-key (which stores the key in plain text in %s).\n",
			falqueue.EnvKey, file)
	}
	return 0
}

// claudeAddLine is the `claude mcp add` command for the entry, quoted for
// the shell of goos.
func claudeAddLine(name string, e serverEntry, goos string) string {
	q := shellQuote
	if goos == "windows" {
		q = powershellQuote
	}
	parts := []string{"claude", "mcp", "add", "--scope", "user", q(name)}
	for k, v := range e.Env {
		parts = append(parts, "-e", q(k+"="+v))
	}
	parts = append(parts, "--", q(e.Command))
	for _, a := range e.Args {
		parts = append(parts, q(a))
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// powershellQuote quotes s for PowerShell when it needs it.
func powershellQuote(s string) string {
	if s != "" && strings.Trim(s, `abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=\+,`) == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
