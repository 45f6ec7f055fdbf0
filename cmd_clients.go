package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// mcpClient is an MCP client whose configuration file `config` writes and
// `doctor` reads.
type mcpClient struct {
	name  string // as typed after `config`
	title string
	// serversKey is the key of the file's server map: "mcpServers", or
	// "servers" for VS Code.
	serversKey string
	// typed clients want "type": "stdio" in each entry.
	typed bool
	// files are the client's configuration files on this machine, the one
	// `config --write` writes first.
	files func(p platform) []string
}

// platform is what the file locations depend on: the operating system,
// the environment and the working directory (a VS Code workspace).
type platform struct {
	goos   string
	getenv func(string) string
	cwd    string
}

func (p platform) home() string {
	if p.goos == "windows" {
		if h := p.getenv("USERPROFILE"); h != "" {
			return h
		}
	}
	if h := p.getenv("HOME"); h != "" {
		return h
	}
	h, _ := os.UserHomeDir()
	return h
}

// appConfigDir is where desktop apps keep their settings: Application
// Support on macOS, %APPDATA% on Windows, $XDG_CONFIG_HOME or ~/.config
// elsewhere.
func (p platform) appConfigDir() string {
	switch p.goos {
	case "darwin":
		return filepath.Join(p.home(), "Library", "Application Support")
	case "windows":
		if d := p.getenv("APPDATA"); d != "" {
			return d
		}
		return filepath.Join(p.home(), "AppData", "Roaming")
	}
	if d := p.getenv("XDG_CONFIG_HOME"); d != "" && filepath.IsAbs(d) {
		return d
	}
	return filepath.Join(p.home(), ".config")
}

var mcpClients = []mcpClient{
	{name: "claude-desktop", title: "Claude Desktop", serversKey: "mcpServers",
		files: func(p platform) []string {
			return []string{filepath.Join(p.appConfigDir(), "Claude", "claude_desktop_config.json")}
		}},
	{name: "claude-code", title: "Claude Code", serversKey: "mcpServers", typed: true,
		// User scope (claude mcp add --scope user) lives at the top of
		// ~/.claude.json.
		files: func(p platform) []string { return []string{filepath.Join(p.home(), ".claude.json")} }},
	{name: "vscode", title: "VS Code", serversKey: "servers", typed: true,
		files: func(p platform) []string {
			return []string{filepath.Join(p.cwd, ".vscode", "mcp.json"), filepath.Join(p.appConfigDir(), "Code", "User", "mcp.json")}
		}},
	{name: "cursor", title: "Cursor", serversKey: "mcpServers",
		files: func(p platform) []string {
			return []string{filepath.Join(p.home(), ".cursor", "mcp.json"), filepath.Join(p.cwd, ".cursor", "mcp.json")}
		}},
}

func findClient(name string) (mcpClient, bool) {
	for _, c := range mcpClients {
		if c.name == name {
			return c, true
		}
	}
	return mcpClient{}, false
}

func clientNames() string {
	names := make([]string, len(mcpClients))
	for i, c := range mcpClients {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

// serverEntry is one server in a client's file.
type serverEntry struct {
	Type    string            `json:"type,omitempty"`
	Command string            `json:"command"`
	Args    []string          `json:"args"`
	Env     map[string]string `json:"env,omitempty"`
}

// jsonObject is a JSON object that keeps its keys in order and its values
// as they were, so that rewriting a client's file changes only our entry.
type jsonObject struct {
	keys []string
	vals map[string]json.RawMessage
}

func newObject() *jsonObject { return &jsonObject{vals: map[string]json.RawMessage{}} }

// parseObject reads a JSON object; empty input is an empty object.
func parseObject(b []byte) (*jsonObject, error) {
	o := newObject()
	if len(bytes.TrimSpace(b)) == 0 {
		return o, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		o.set(tok.(string), v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("text after the JSON object")
	}
	return o, nil
}

func (o *jsonObject) get(k string) (json.RawMessage, bool) {
	v, ok := o.vals[k]
	return v, ok
}

func (o *jsonObject) set(k string, v json.RawMessage) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

// child is the object under k, new when there is none.
func (o *jsonObject) child(k string) (*jsonObject, error) {
	v, ok := o.get(k)
	if !ok || string(v) == "null" {
		return newObject(), nil
	}
	c, err := parseObject(v)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", k, err)
	}
	return c, nil
}

// encode is the object as indented JSON, other values as they were (no
// HTML escaping added).
func (o *jsonObject) encode() []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(marshal(k))
		b.WriteByte(':')
		b.Write(o.vals[k])
	}
	b.WriteByte('}')
	var out bytes.Buffer
	if err := json.Indent(&out, b.Bytes(), "", "  "); err != nil {
		panic(err) // every value came from a decoder or marshal
	}
	out.WriteByte('\n')
	return out.Bytes()
}

func (o *jsonObject) raw() json.RawMessage { return bytes.TrimSpace(o.encode()) }

// marshal is json.Marshal without HTML escaping.
func marshal(v any) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // only our own plain types come here
	}
	return bytes.TrimSpace(b.Bytes())
}

// clientDoc builds the client's file with our entry merged in: into the
// existing document when there is one, else into a new one. inputs are VS
// Code input variables, merged by id.
func clientDoc(existing []byte, c mcpClient, name string, entry serverEntry, inputs []vscodeInput) (doc *jsonObject, replaced bool, err error) {
	doc, err = parseObject(existing)
	if err != nil {
		return nil, false, err
	}
	servers, err := doc.child(c.serversKey)
	if err != nil {
		return nil, false, err
	}
	_, replaced = servers.get(name)
	servers.set(name, marshal(entry))
	doc.set(c.serversKey, servers.raw())
	if len(inputs) > 0 {
		var list []json.RawMessage
		if v, ok := doc.get("inputs"); ok {
			if err := json.Unmarshal(v, &list); err != nil {
				return nil, false, fmt.Errorf(`"inputs": %w`, err)
			}
		}
	next:
		for _, in := range inputs {
			for i, old := range list {
				var o struct{ ID string }
				if json.Unmarshal(old, &o) == nil && o.ID == in.ID {
					list[i] = marshal(in)
					continue next
				}
			}
			list = append(list, marshal(in))
		}
		doc.set("inputs", marshal(list))
	}
	return doc, replaced, nil
}

// vscodeInput is a VS Code input variable: VS Code asks for it once and
// keeps it in its secret storage.
type vscodeInput struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	Description string `json:"description"`
	Password    bool   `json:"password"`
}
