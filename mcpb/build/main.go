// Command build makes the MCP Bundles from a GoReleaser dist folder
// (`make mcpb` runs it after `make dist`): for each release binary it
// stages manifest.json, the binary, README.md and LICENSE, validates the
// manifest and packs the bundle with the mcpb CLI, and then writes
// dist/server.json — the repository's server.json for this version, with
// each bundle's SHA-256.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/fal-video-mcp/fal-video-mcp/mcpb"
)

func main() {
	dist := flag.String("dist", "dist", "GoReleaser's dist folder")
	cli := flag.String("mcpb", ".tools/node_modules/.bin/mcpb", "the mcpb CLI")
	serverJSON := flag.String("server-json", "server.json", "the repository's MCP Registry entry")
	flag.Parse()
	if err := build(*dist, *cli, *serverJSON); err != nil {
		fmt.Fprintln(os.Stderr, "mcpb build:", err)
		os.Exit(1)
	}
}

// artifact is an entry of GoReleaser's dist/artifacts.json.
type artifact struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	GOOS   string `json:"goos"`
	GOARCH string `json:"goarch"`
	Type   string `json:"type"`
}

func build(dist, cli, serverJSON string) error {
	var meta struct {
		Version string `json:"version"`
	}
	if err := readJSON(filepath.Join(dist, "metadata.json"), &meta); err != nil {
		return fmt.Errorf("%w (run make dist first)", err)
	}
	var artifacts []artifact
	if err := readJSON(filepath.Join(dist, "artifacts.json"), &artifacts); err != nil {
		return err
	}
	list, err := mcpb.ServerTools()
	if err != nil {
		return err
	}
	sums := map[string]string{}
	for _, t := range mcpb.Targets {
		bin := ""
		for _, a := range artifacts {
			if a.Type == "Binary" && a.GOOS == t.GOOS && a.GOARCH == t.GOARCH {
				bin = a.Path
			}
		}
		if bin == "" {
			return fmt.Errorf("no %s/%s binary in %s/artifacts.json", t.GOOS, t.GOARCH, dist)
		}
		if err := checkBinary(bin, t); err != nil {
			return err
		}
		stage := filepath.Join(dist, "mcpb", t.GOOS+"_"+t.GOARCH)
		if err := os.RemoveAll(stage); err != nil {
			return err
		}
		manifest, err := mcpb.Manifest(meta.Version, t, list)
		if err != nil {
			return err
		}
		if err := writeFile(filepath.Join(stage, "manifest.json"), manifest, 0o644); err != nil {
			return err
		}
		for src, dst := range map[string]string{bin: t.EntryPoint(), "README.md": "README.md", "LICENSE": "LICENSE"} {
			if err := copyFile(src, filepath.Join(stage, dst)); err != nil {
				return err
			}
		}
		out := filepath.Join(dist, mcpb.BundleName(meta.Version, t))
		if err := run(cli, "validate", filepath.Join(stage, "manifest.json")); err != nil {
			return err
		}
		if err := run(cli, "pack", stage, out); err != nil {
			return err
		}
		if sums[filepath.Base(out)], err = sha256File(out); err != nil {
			return err
		}
		fmt.Fprintf(os.Stdout, "%s  %s\n", sums[filepath.Base(out)], out) // a build tool's report (make mcpb), not the server
	}
	return writeServerJSON(serverJSON, filepath.Join(dist, "server.json"), meta.Version, sums)
}

// writeServerJSON writes the registry entry of this build: the
// repository's, moved to version, with each bundle's SHA-256.
func writeServerJSON(from, to, version string, sums map[string]string) error {
	var doc map[string]any
	if err := readJSON(from, &doc); err != nil {
		return err
	}
	old, _ := doc["version"].(string)
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	// The version, release URLs (…/vX.Y.Z/) and file names (…_X.Y.Z_…) of
	// the committed version now name this build's.
	b = []byte(strings.NewReplacer(`"`+old+`"`, `"`+version+`"`, "/v"+old+"/", "/v"+version+"/",
		"_"+old+"_", "_"+version+"_").Replace(string(b)))
	if err := json.Unmarshal(b, &doc); err != nil {
		return err
	}
	pkgs, _ := doc["packages"].([]any)
	for _, p := range pkgs {
		pkg, _ := p.(map[string]any)
		id, _ := pkg["identifier"].(string)
		sum, ok := sums[id[strings.LastIndex(id, "/")+1:]]
		if !ok {
			return fmt.Errorf("%s: no bundle was built for package %s", from, id)
		}
		pkg["fileSha256"] = sum
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(to, append(out, '\n'), 0o644)
}

// checkBinary makes sure the file is an executable for the target.
func checkBinary(path string, t mcpb.Target) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	got, err := mcpb.BinaryTarget(f)
	if err != nil || got != t {
		return fmt.Errorf("%s is not a %s/%s executable (%v %v)", path, t.GOOS, t.GOARCH, got, err)
	}
	return nil
}

func run(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, mode)
}

// copyFile copies src to dst, executable when src is.
func copyFile(src, dst string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fi.Mode().Perm()|0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
