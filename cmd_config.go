package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
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
	var cf configFile
	if o.write {
		if cf, err = readConfigFile(file); err != nil {
			return fail("%v", err)
		}
	}
	doc, replaced, err := clientDoc(cf.data, o.client, o.name, entry, inputs)
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
		where := file
		if cf.path != file {
			where = cf.path + " (the file " + file + " links to)"
		}
		// A file that holds the key is for its owner's eyes only.
		mode := fs.FileMode(0o600)
		if cf.exists {
			mode = cf.mode
		}
		if o.includeKey {
			mode &^= 0o077
		}
		data := doc.encode()
		switch {
		case cf.exists && bytes.Equal(data, cf.data):
			if mode != cf.mode {
				if err := os.Chmod(cf.path, mode); err != nil {
					return fail("cannot restrict %s to its owner: %v", where, err)
				}
				fmt.Fprintf(stdout, "unchanged: %s already has this %q entry; it holds the key, so only you can read it now (mode %04o)\n", where, o.name, mode)
			} else {
				fmt.Fprintf(stdout, "unchanged: %s already has this %q entry\n", where, o.name)
			}
		default:
			backup, err := cf.write(data, mode, time.Now())
			if err != nil {
				return fail("cannot write %s: %v", where, err)
			}
			verb := "added"
			if replaced {
				verb = "replaced"
			}
			fmt.Fprintf(stdout, "%s %q in %s\n", verb, o.name, where)
			if backup != "" {
				fmt.Fprintf(stdout, "the previous file is kept as %s\n", backup)
			}
			fmt.Fprintf(stdout, "restart %s to load it\n", o.client.title)
		}
	}
	if !o.includeKey && o.client.name != "vscode" {
		fmt.Fprintf(stderr, "No fal key is in this entry: add %s to its environment, or run again with --include-key (which stores the key in plain text in %s).\n",
			falqueue.EnvKey, file)
	}
	return 0
}

// maxConfigSize is the most config --write reads of a client's file: the
// clients' files are a few KiB; anything far larger is not one.
const maxConfigSize = 1 << 20

// configFile is a client's file as config --write found it.
type configFile struct {
	path   string // the file to write: the target when the file is a symbolic link
	exists bool
	data   []byte
	mode   fs.FileMode
}

// readConfigFile reads a client's file for --write. A symbolic link is
// followed: the file it leads to is read and later written, and the link
// stays. Only a regular file of at most maxConfigSize bytes is read: a
// FIFO would block the read, a device or a huge file would fill memory.
func readConfigFile(name string) (configFile, error) {
	cf := configFile{path: name}
	fi, err := os.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return cf, nil
	case err != nil:
		return cf, fmt.Errorf("cannot read %s: %v", name, err)
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := filepath.EvalSymlinks(name)
		if err != nil {
			return cf, fmt.Errorf("%s is a symbolic link that leads to no file (%v); it was left as it is: fix the link, or pass --file with the real file", name, err)
		}
		cf.path = target
	}
	// Stat before opening: opening a FIFO blocks until a writer comes.
	if fi, err = os.Stat(cf.path); err != nil {
		return cf, fmt.Errorf("cannot read %s: %v", cf.path, err)
	}
	if err := checkConfigFile(name, fi); err != nil {
		return cf, err
	}
	f, err := os.Open(cf.path)
	if err != nil {
		return cf, fmt.Errorf("cannot read %s: %v", cf.path, err)
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil { // the file opened, should it have been swapped
		return cf, fmt.Errorf("cannot read %s: %v", cf.path, err)
	}
	if err := checkConfigFile(name, fi); err != nil {
		return cf, err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return cf, fmt.Errorf("cannot read %s: %v", cf.path, err)
	}
	if len(data) > maxConfigSize {
		return cf, fmt.Errorf("%s is larger than 1 MiB: not a client's configuration; it was left as it is (pass --file with the right file)", name)
	}
	cf.exists, cf.data, cf.mode = true, data, fi.Mode().Perm()
	return cf, nil
}

// checkConfigFile refuses what is not a regular file of at most
// maxConfigSize bytes.
func checkConfigFile(name string, fi fs.FileInfo) error {
	switch {
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file (%s); it was left as it is: pass --file with the client's configuration file", name, fi.Mode().Type())
	case fi.Size() > maxConfigSize:
		return fmt.Errorf("%s is larger than 1 MiB (%d bytes): not a client's configuration; it was left as it is (pass --file with the right file)", name, fi.Size())
	}
	return nil
}

// write replaces the file with data, in mode: the old file is first
// copied to FILE.bak-DATE (readable by its owner only: it may hold keys),
// and the new one is renamed into place, so a reader never sees half a
// file. A symbolic link stays: its target is what is replaced.
func (cf configFile) write(data []byte, mode fs.FileMode, now time.Time) (backup string, err error) {
	dir := filepath.Dir(cf.path)
	if cf.exists {
		stamp := now.Format("20060102-150405")
		backup = cf.path + ".bak-" + stamp
		for i := 2; ; i++ {
			f, err := os.OpenFile(backup, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if errors.Is(err, fs.ErrExist) {
				backup = fmt.Sprintf("%s.bak-%s-%d", cf.path, stamp, i)
				continue
			}
			if err != nil {
				return "", fmt.Errorf("cannot back it up: %w", err)
			}
			_, err = f.Write(cf.data)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return "", fmt.Errorf("cannot back it up: %w", err)
			}
			break
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(cf.path)+".tmp-*")
	if err != nil {
		return backup, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return backup, err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return backup, err
	}
	if err := tmp.Close(); err != nil {
		return backup, err
	}
	return backup, os.Rename(tmp.Name(), cf.path)
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
