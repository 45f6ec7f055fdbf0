package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// runCmd runs the command line as main would, with only vars in the
// environment.
func runCmd(t *testing.T, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, env(vars), strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// selfPath is the absolute path config writes: this test binary's.
func selfPath(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		t.Fatal(err)
	}
	return exe
}

// fakeHome is an empty home folder, with the environment that points at it.
func fakeHome(t *testing.T) (string, map[string]string) {
	home := t.TempDir()
	return home, map[string]string{"HOME": home, "USERPROFILE": home, "APPDATA": filepath.Join(home, "AppData"),
		"XDG_CONFIG_HOME": filepath.Join(home, ".config")}
}

// shellWords splits a POSIX shell line (plain words, '…' quotes and
// backslash escapes).
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord, quoted, escaped := false, false, false
	for _, r := range line {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case !quoted && r == '\\':
			escaped, inWord = true, true
		case quoted && r == '\'':
			quoted = false
		case quoted:
			cur.WriteRune(r)
		case r == '\'':
			quoted, inWord = true, true
		case r == ' ':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case strings.ContainsRune("\"$`\\;&|<>(){}*?!#~", r):
			t.Fatalf("unquoted shell character %q in %s", r, line)
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("unterminated quote in %s", line)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// entryOf reads the server entry out of config's output for the client,
// in that client's format.
func entryOf(t *testing.T, client, out string) (serverEntry, map[string]any) {
	t.Helper()
	if client == "claude-code" {
		words := shellWords(t, strings.TrimSpace(out))
		prefix := []string{"claude", "mcp", "add", "--scope", "user", "fal-video"}
		if len(words) < len(prefix)+2 || !slices.Equal(words[:len(prefix)], prefix) {
			t.Fatalf("not a claude mcp add line: %q", out)
		}
		e := serverEntry{Type: "stdio", Env: map[string]string{}}
		rest := words[len(prefix):]
		for len(rest) > 1 && rest[0] == "-e" {
			k, v, _ := strings.Cut(rest[1], "=")
			e.Env[k] = v
			rest = rest[2:]
		}
		if rest[0] != "--" {
			t.Fatalf("no -- before the command: %q", out)
		}
		e.Command, e.Args = rest[1], rest[2:]
		return e, nil
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%s output is not JSON: %v\n%s", client, err, out)
	}
	key := "mcpServers"
	if client == "vscode" {
		key = "servers"
	}
	var servers map[string]json.RawMessage
	if err := json.Unmarshal(doc[key], &servers); err != nil || len(servers) != 1 {
		t.Fatalf("%s output has no %q map with one server: %s", client, key, out)
	}
	dec := json.NewDecoder(bytes.NewReader(servers["fal-video"]))
	dec.DisallowUnknownFields()
	var e serverEntry
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("entry: %v: %s", err, servers["fal-video"])
	}
	var all map[string]any
	_ = json.Unmarshal([]byte(out), &all)
	return e, all
}

// TestConfigPrintsEachClientsFormat: the printed configuration of every
// client parses as that client's format, runs this binary by its absolute
// path with the flags given (folders made absolute, accepted by the
// server's parser), names the client's file, and holds no key.
func TestConfigPrintsEachClientsFormat(t *testing.T) {
	home, vars := fakeHome(t)
	vars["FAL_KEY"] = "key-id-1234:key-secret-5678"
	videos := filepath.Join(home, "Videos")
	wantArgs := []string{"--allow-dir", videos, "--max-wait", "45s", "--download"}
	for _, c := range mcpClients {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, vars, "config", c.name, "--allow-dir=~/Videos", "--max-wait", "45s", "--download")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if strings.Contains(out+errOut, "key-secret-5678") || strings.Contains(out+errOut, "key-id-1234") {
				t.Fatalf("the key was printed without --include-key:\n%s%s", out, errOut)
			}
			e, doc := entryOf(t, c.name, out)
			if e.Command != selfPath(t) || !slices.Equal(e.Args, wantArgs) {
				t.Errorf("entry runs %s %q, want %s %q", e.Command, e.Args, selfPath(t), wantArgs)
			}
			if _, err := parseFlags(e.Args, env(nil), &bytes.Buffer{}); err != nil {
				t.Errorf("the server refuses the args: %v", err)
			}
			if (e.Type == "stdio") != c.typed {
				t.Errorf("type %q, want stdio: %v", e.Type, c.typed)
			}
			if want := c.files(platform{goos: runtime.GOOS, getenv: env(vars), cwd: mustGetwd(t)})[0]; !strings.Contains(errOut, want) {
				t.Errorf("stderr does not name %s:\n%s", want, errOut)
			}
			switch c.name {
			case "vscode":
				inputs, _ := doc["inputs"].([]any)
				in, _ := inputs[0].(map[string]any)
				if e.Env["FAL_KEY"] != "${input:fal-key}" || in["id"] != "fal-key" || in["password"] != true {
					t.Errorf("VS Code should ask for the key as a password input: env %v, inputs %v", e.Env, inputs)
				}
			default:
				if len(e.Env) != 0 {
					t.Errorf("env %v without --include-key", e.Env)
				}
			}
		})
	}
}

func mustGetwd(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

// TestConfigIncludeKey: --include-key puts the environment's key into the
// entry of every client, and fails when there is none.
func TestConfigIncludeKey(t *testing.T) {
	_, vars := fakeHome(t)
	for _, c := range mcpClients {
		t.Run(c.name, func(t *testing.T) {
			vars["FAL_KEY"] = "key-id:secret with 'quote"
			code, out, errOut := runCmd(t, vars, "config", c.name, "--include-key")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if e, _ := entryOf(t, c.name, out); e.Env["FAL_KEY"] != vars["FAL_KEY"] {
				t.Errorf("env %v, want the key", e.Env)
			}
			delete(vars, "FAL_KEY")
			if code, _, errOut := runCmd(t, vars, "config", c.name, "--include-key"); code != 2 || !strings.Contains(errOut, "no fal key") {
				t.Errorf("without a key: exit %d, %s", code, errOut)
			}
		})
	}
}

// TestConfigWriteMerges: --write merges the entry into the client's file,
// keeping every other entry and key (in order), replacing an older entry of
// the same name, keeping the file's mode, and leaving the old file as a
// backup; a new file is created private.
func TestConfigWriteMerges(t *testing.T) {
	home, vars := fakeHome(t)
	vars["FAL_KEY"] = "key-id:key-secret-5678"
	tests := []struct {
		client   string
		file     string // relative to home; "" for the client's usual file
		existing string
	}{
		{client: "claude-desktop", existing: `{"globalShortcut": "Ctrl+Space & more", "mcpServers": {"other": {"command": "/bin/other", "args": ["<x>"]}, "fal-video": {"command": "fal-video-mcp"}}, "zz": [1, 2]}`},
		{client: "cursor", existing: `{"mcpServers": {"a": {"command": "a"}, "b": {"url": "https://example.com/mcp"}}}`},
		{client: "claude-code", existing: `{"numStartups": 41, "projects": {"/x": {"mcpServers": {}}}, "tipsHistory": {"a": 1}}`},
		{client: "vscode", file: "ws/.vscode/mcp.json", existing: `{"inputs": [{"type": "promptString", "id": "other-token", "password": true}], "servers": {"github": {"type": "http", "url": "https://api.githubcopilot.com/mcp/"}}}`},
		{client: "claude-desktop", file: "new/dir/config.json"},
	}
	for _, tt := range tests {
		t.Run(tt.client+"/"+tt.file, func(t *testing.T) {
			file := filepath.Join(home, tt.file)
			args := []string{"config", tt.client, "--write", "--allow-dir", home}
			if tt.file != "" {
				args = append(args, "--file", file)
			} else {
				c, _ := findClient(tt.client)
				file = c.files(platform{goos: runtime.GOOS, getenv: env(vars), cwd: home})[0]
			}
			if tt.existing != "" {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(tt.existing), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			code, out, errOut := runCmd(t, vars, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			got, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(got), "key-secret-5678") {
				t.Errorf("the key was written without --include-key")
			}
			c, _ := findClient(tt.client)
			doc, err := parseObject(got)
			if err != nil {
				t.Fatalf("written file is not JSON: %v\n%s", err, got)
			}
			servers, _ := doc.child(c.serversKey)
			var e serverEntry
			if err := json.Unmarshal(servers.vals["fal-video"], &e); err != nil || e.Command != selfPath(t) ||
				!slices.Equal(e.Args, []string{"--allow-dir", home}) {
				t.Errorf("entry %s: %v", servers.vals["fal-video"], err)
			}
			fi, _ := os.Stat(file)
			if tt.existing == "" {
				if fi.Mode().Perm() != 0o600 || strings.Contains(out, "kept as") {
					t.Errorf("new file: mode %v, output %q", fi.Mode().Perm(), out)
				}
				return
			}
			if fi.Mode().Perm() != 0o640 {
				t.Errorf("mode %v, want the old 0640", fi.Mode().Perm())
			}
			// Every other key and entry is kept, in order, as it was.
			old, _ := parseObject([]byte(tt.existing))
			oldServers, _ := old.child(c.serversKey)
			for _, k := range oldServers.keys {
				if k != "fal-video" && !jsonEqual(oldServers.vals[k], servers.vals[k]) {
					t.Errorf("server %q changed: %s -> %s", k, oldServers.vals[k], servers.vals[k])
				}
			}
			if want := append(slices.Clone(oldServers.keys), "fal-video"); !slices.Equal(servers.keys, slices.Compact(want)) {
				t.Errorf("server order %q, want %q", servers.keys, slices.Compact(want))
			}
			for _, k := range old.keys {
				if k != c.serversKey && k != "inputs" && !jsonEqual(old.vals[k], doc.vals[k]) {
					t.Errorf("key %q changed: %s -> %s", k, old.vals[k], doc.vals[k])
				}
			}
			if tt.client == "vscode" {
				var inputs []struct{ ID string }
				_ = json.Unmarshal(doc.vals["inputs"], &inputs)
				if len(inputs) != 2 || inputs[0].ID != "other-token" || inputs[1].ID != "fal-key" {
					t.Errorf("inputs %s", doc.vals["inputs"])
				}
			}
			// The old file is kept as the backup named on stdout.
			backups, _ := filepath.Glob(file + ".bak-*")
			if len(backups) != 1 || !strings.Contains(out, backups[0]) {
				t.Fatalf("backups %q, output %q", backups, out)
			}
			if b, _ := os.ReadFile(backups[0]); string(b) != tt.existing {
				t.Errorf("backup holds %s", b)
			}
			verb := map[bool]string{true: "replaced", false: "added"}[oldServers.vals["fal-video"] != nil]
			if !strings.HasPrefix(out, verb) {
				t.Errorf("output %q, want %s", out, verb)
			}
		})
	}
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// TestConfigWriteIncludeKeyAndAgain: a second --write keeps the first
// backup, adds another, and writes the key only when asked.
func TestConfigWriteIncludeKeyAndAgain(t *testing.T) {
	home, vars := fakeHome(t)
	vars["FAL_KEY"] = "key-id:key-secret-5678"
	file := filepath.Join(home, "cursor.json")
	for i, extra := range [][]string{nil, {"--include-key"}} {
		if code, _, errOut := runCmd(t, vars, append([]string{"config", "cursor", "--write", "--file", file}, extra...)...); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		b, _ := os.ReadFile(file)
		if has := strings.Contains(string(b), vars["FAL_KEY"]); has != (i == 1) {
			t.Errorf("write %d: key in file = %v", i, has)
		}
	}
	if backups, _ := filepath.Glob(file + ".bak-*"); len(backups) != 1 {
		t.Errorf("backups %q, want one (of the first write)", backups)
	}
}

// TestConfigRefuses: bad command lines and files that are not plain JSON
// are refused with a reason, and the file is left untouched.
func TestConfigRefuses(t *testing.T) {
	home, vars := fakeHome(t)
	jsonc := filepath.Join(home, "mcp.json")
	const commented = "{\n  // my servers\n  \"servers\": {}\n}\n"
	if err := os.WriteFile(jsonc, []byte(commented), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{nil, "name the client"},
		{[]string{"--write"}, "name the client"},
		{[]string{"zed"}, `unknown client "zed"`},
		{[]string{"cursor", "--nope"}, "flag provided but not defined: -nope"},
		{[]string{"cursor", "--max-wait", "0s"}, "--max-wait"},
		{[]string{"cursor", "--name"}, "--name needs a value"},
		{[]string{"cursor", "--write=yes"}, "--write takes no value"},
		{[]string{"cursor", "--allow-dir"}, "--allow-dir needs a folder"},
		{[]string{"vscode", "--write", "--file", jsonc}, "is not plain JSON"},
	}
	for _, tt := range tests {
		code, out, errOut := runCmd(t, vars, append([]string{"config"}, tt.args...)...)
		if code != 2 || out != "" || !strings.Contains(errOut, tt.want) {
			t.Errorf("config %q: exit %d, stdout %q, stderr %q; want 2 and %q", tt.args, code, out, errOut, tt.want)
		}
	}
	if b, _ := os.ReadFile(jsonc); string(b) != commented {
		t.Errorf("the JSONC file was changed: %s", b)
	}
	if backups, _ := filepath.Glob(jsonc + ".bak-*"); len(backups) != 0 {
		t.Errorf("backups %q of a file that was not written", backups)
	}
	if code, out, _ := runCmd(t, vars, "config", "--help"); code != 0 || !strings.Contains(out, "claude-desktop, claude-code, vscode, cursor") {
		t.Errorf("config --help: exit %d, %s", code, out)
	}
}

// TestClientFiles: where each client keeps its configuration on each
// operating system.
func TestClientFiles(t *testing.T) {
	vars := map[string]string{"HOME": "/h", "USERPROFILE": `C:\Users\u`, "APPDATA": `C:\Users\u\AppData\Roaming`}
	tests := []struct {
		goos, client string
		want         []string
	}{
		{"darwin", "claude-desktop", []string{"/h/Library/Application Support/Claude/claude_desktop_config.json"}},
		{"linux", "claude-desktop", []string{"/h/.config/Claude/claude_desktop_config.json"}},
		{"windows", "claude-desktop", []string{`C:\Users\u\AppData\Roaming/Claude/claude_desktop_config.json`}},
		{"darwin", "claude-code", []string{"/h/.claude.json"}},
		{"windows", "claude-code", []string{`C:\Users\u/.claude.json`}},
		{"linux", "vscode", []string{"/ws/.vscode/mcp.json", "/h/.config/Code/User/mcp.json"}},
		{"darwin", "vscode", []string{"/ws/.vscode/mcp.json", "/h/Library/Application Support/Code/User/mcp.json"}},
		{"windows", "cursor", []string{`C:\Users\u/.cursor/mcp.json`, "/ws/.cursor/mcp.json"}},
		{"linux", "cursor", []string{"/h/.cursor/mcp.json", "/ws/.cursor/mcp.json"}},
	}
	for _, tt := range tests {
		c, _ := findClient(tt.client)
		got := c.files(platform{goos: tt.goos, getenv: env(vars), cwd: "/ws"})
		for i := range got {
			got[i] = filepath.ToSlash(got[i])
		}
		for i := range tt.want {
			tt.want[i] = filepath.ToSlash(tt.want[i])
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s on %s: %q, want %q", tt.client, tt.goos, got, tt.want)
		}
	}
	xdg := map[string]string{"HOME": "/h", "XDG_CONFIG_HOME": "/x"}
	c, _ := findClient("claude-desktop")
	if got := c.files(platform{goos: "linux", getenv: env(xdg)})[0]; filepath.ToSlash(got) != "/x/Claude/claude_desktop_config.json" {
		t.Errorf("with XDG_CONFIG_HOME: %s", got)
	}
}

// TestClaudeAddLineQuoting: odd characters survive the shell.
func TestClaudeAddLineQuoting(t *testing.T) {
	e := serverEntry{Command: "/Applications/My Tools/fal-video-mcp", Args: []string{"--allow-dir", "/it's here"},
		Env: map[string]string{"FAL_KEY": "a:b$c"}}
	words := shellWords(t, claudeAddLine("fal-video", e, "linux"))
	want := []string{"claude", "mcp", "add", "--scope", "user", "fal-video", "-e", "FAL_KEY=a:b$c", "--",
		"/Applications/My Tools/fal-video-mcp", "--allow-dir", "/it's here"}
	if !slices.Equal(words, want) {
		t.Errorf("%q\nwant %q", words, want)
	}
	if got := claudeAddLine("fal-video", e, "windows"); !strings.Contains(got, `'/it''s here'`) {
		t.Errorf("PowerShell quoting: %s", got)
	}
}
