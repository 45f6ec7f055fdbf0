// Package mcpb makes the MCP Bundles (.mcpb) of the server for Claude
// Desktop: one bundle per platform, each a zip of manifest.json and that
// platform's release binary. It is release tooling, not part of the
// server: `make mcpb` runs its command in mcpb/build, and the tests check
// the manifest template and the built bundles.
//
// The manifest follows the MCPB manifest spec 0.3 (github.com/anthropics/mcpb,
// MANIFEST.md). The host fills ${user_config.…} from the settings form: the
// fal key, the output folder and the download switch as environment
// variables; the allowed folders as arguments after "--", because a host
// expands a multiple-folder setting into one argument per folder and cannot
// expand an array inside an environment value.
package mcpb

import (
	"debug/elf"
	"debug/macho"
	"debug/pe"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/template"

	"github.com/fal-video-mcp/fal-video-mcp/tools"
)

// Target is one platform of the release builds.
type Target struct{ GOOS, GOARCH string }

// Targets are the platforms of .goreleaser.yaml, one bundle each.
var Targets = []Target{
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"linux", "amd64"}, {"linux", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

// Platform is the target's name in the manifest's compatibility.platforms.
func (t Target) Platform() string {
	if t.GOOS == "windows" {
		return "win32"
	}
	return t.GOOS
}

// Binary is the server's file name on the target.
func (t Target) Binary() string {
	if t.GOOS == "windows" {
		return tools.Name + ".exe"
	}
	return tools.Name
}

// EntryPoint is the binary's path inside the bundle.
func (t Target) EntryPoint() string { return "server/" + t.Binary() }

// BundleName is the bundle's file name, beside the release archives.
func BundleName(version string, t Target) string {
	return fmt.Sprintf("%s_%s_%s_%s.mcpb", tools.Name, version, t.GOOS, t.GOARCH)
}

// ArchiveName is the file name GoReleaser gives the target's archive.
func ArchiveName(version string, t Target) string {
	ext := ".tar.gz"
	if t.GOOS == "windows" {
		ext = ".zip"
	}
	return fmt.Sprintf("%s_%s_%s_%s%s", tools.Name, version, t.GOOS, t.GOARCH, ext)
}

// ReleaseURL is where a release's files are downloaded from.
func ReleaseURL(version, file string) string {
	return "https://github.com/fal-video-mcp/fal-video-mcp/releases/download/v" + version + "/" + file
}

// Tool is a tool as the manifest lists it.
type Tool struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// ServerTools lists the tools the server registers (every tool: the
// manifest shows them before the server runs), by name.
func ServerTools() ([]Tool, error) {
	srv, err := tools.NewServer(tools.Options{})
	if err != nil {
		return nil, err
	}
	var out []Tool
	for name, st := range srv.ListTools() {
		desc := name
		if st.Tool.Annotations.Title != "" {
			desc = st.Tool.Annotations.Title
		}
		out = append(out, Tool{Name: name, Description: desc})
	}
	slices.SortFunc(out, func(a, b Tool) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

//go:embed manifest.json.tmpl
var manifestTemplate string

var manifestTmpl = template.Must(template.New("manifest.json").Funcs(template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
}).Parse(manifestTemplate))

// Manifest renders the manifest.json of the target's bundle.
func Manifest(version string, t Target, tools []Tool) ([]byte, error) {
	var b strings.Builder
	err := manifestTmpl.Execute(&b, map[string]any{
		"Version":    version,
		"EntryPoint": t.EntryPoint(),
		"Command":    "${__dirname}/" + t.EntryPoint(),
		"Platform":   t.Platform(),
		"Tools":      tools,
	})
	if err != nil {
		return nil, err
	}
	if !json.Valid([]byte(b.String())) {
		return nil, fmt.Errorf("mcpb: the manifest template does not render valid JSON")
	}
	return []byte(b.String()), nil
}

// BinaryTarget reads the platform an executable was built for from its
// header: ELF is linux, Mach-O darwin, PE windows.
func BinaryTarget(r io.ReaderAt) (Target, error) {
	if f, err := elf.NewFile(r); err == nil {
		arch := map[elf.Machine]string{elf.EM_X86_64: "amd64", elf.EM_AARCH64: "arm64"}[f.Machine]
		return Target{"linux", arch}, nil
	}
	if f, err := macho.NewFile(r); err == nil {
		arch := map[macho.Cpu]string{macho.CpuAmd64: "amd64", macho.CpuArm64: "arm64"}[f.Cpu]
		return Target{"darwin", arch}, nil
	}
	if f, err := pe.NewFile(r); err == nil {
		arch := map[uint16]string{pe.IMAGE_FILE_MACHINE_AMD64: "amd64", pe.IMAGE_FILE_MACHINE_ARM64: "arm64"}[f.Machine]
		return Target{"windows", arch}, nil
	}
	return Target{}, fmt.Errorf("mcpb: not an ELF, Mach-O or PE executable")
}
