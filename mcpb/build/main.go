// Command build makes the MCP Bundles from a GoReleaser dist folder
// (GoReleaser runs it as a step of every release and snapshot, see
// .goreleaser.yaml): for each release binary it stages manifest.json, the
// binary, README.md and LICENSE, validates the manifest and packs the
// bundle with the mcpb CLI, and then writes dist/server.json — the
// repository's server.json for this version, with each bundle's SHA-256 —
// and validates it against the MCP Registry's schema
// (testdata/registry/server.schema.json). With -committed it only
// regenerates the committed server.json.
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
	"github.com/fal-video-mcp/fal-video-mcp/tools"
)

func main() {
	dist := flag.String("dist", "dist", "GoReleaser's dist folder")
	cli := flag.String("mcpb", ".tools/node_modules/.bin/mcpb", "the mcpb CLI")
	serverJSON := flag.String("server-json", "server.json", "the repository's MCP Registry entry")
	schema := flag.String("schema", filepath.Join("testdata", "registry", "server.schema.json"), "the MCP Registry's server.json schema")
	version := flag.String("version", "", "the build's version (default: dist/metadata.json's)")
	committed := flag.Bool("committed", false, "only rewrite the committed server.json at the VERSION file's version, and check it")
	flag.Parse()
	var err error
	if *committed {
		err = rewriteCommitted(*serverJSON, *schema)
	} else {
		err = build(*dist, *cli, *serverJSON, *schema, *version)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mcpb build:", err)
		os.Exit(1)
	}
}

// rewriteCommitted regenerates the committed server.json for the VERSION
// file's version (no bundle sums: none is built yet) and validates it.
func rewriteCommitted(serverJSON, schema string) error {
	v, err := os.ReadFile("VERSION")
	if err != nil {
		return err
	}
	if err := writeServerJSON(serverJSON, serverJSON, strings.TrimSpace(string(v)), nil); err != nil {
		return err
	}
	return validate(serverJSON, schema, false)
}

// validate checks a server.json file against the registry's schema.
func validate(path, schema string, release bool) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s, err := os.ReadFile(schema)
	if err != nil {
		return err
	}
	if err := mcpb.ValidateServerJSON(doc, s, release); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// artifact is an entry of GoReleaser's dist/artifacts.json.
type artifact struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	GOOS   string `json:"goos"`
	GOARCH string `json:"goarch"`
	Type   string `json:"type"`
}

// binaryOf finds the target's release binary: from dist/artifacts.json
// after a GoReleaser run, or — while GoReleaser still runs (its signs
// step runs this command, before it writes artifacts.json) — in the
// build folder it made for the target (fal-video-mcp_<os>_<arch>_<level>).
func binaryOf(dist string, artifacts []artifact, t mcpb.Target) (string, error) {
	for _, a := range artifacts {
		if a.Type == "Binary" && a.GOOS == t.GOOS && a.GOARCH == t.GOARCH {
			return a.Path, nil
		}
	}
	found, _ := filepath.Glob(filepath.Join(dist, fmt.Sprintf("%s_%s_%s*", tools.Name, t.GOOS, t.GOARCH), t.Binary()))
	if len(found) != 1 {
		return "", fmt.Errorf("no single %s/%s binary in %s (found %v)", t.GOOS, t.GOARCH, dist, found)
	}
	return found[0], nil
}

func build(dist, cli, serverJSON, schema, version string) error {
	if version == "" {
		var meta struct {
			Version string `json:"version"`
		}
		if err := readJSON(filepath.Join(dist, "metadata.json"), &meta); err != nil {
			return fmt.Errorf("%w (run make dist first, or pass -version)", err)
		}
		version = meta.Version
	}
	var artifacts []artifact
	if _, err := os.Stat(filepath.Join(dist, "artifacts.json")); err == nil {
		if err := readJSON(filepath.Join(dist, "artifacts.json"), &artifacts); err != nil {
			return err
		}
	}
	list, err := mcpb.ServerTools()
	if err != nil {
		return err
	}
	sums := map[string]string{}
	for _, t := range mcpb.Targets {
		bin, err := binaryOf(dist, artifacts, t)
		if err != nil {
			return err
		}
		if err := checkBinary(bin, t); err != nil {
			return err
		}
		stage := filepath.Join(dist, "mcpb", t.GOOS+"_"+t.GOARCH)
		if err := os.RemoveAll(stage); err != nil {
			return err
		}
		manifest, err := mcpb.Manifest(version, t, list)
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
		out := filepath.Join(dist, mcpb.BundleName(version, t))
		if err := run(cli, "validate", filepath.Join(stage, "manifest.json")); err != nil {
			return err
		}
		if err := run(cli, "pack", stage, out); err != nil {
			return err
		}
		if sums[filepath.Base(out)], err = sha256File(out); err != nil {
			return err
		}
		// A build tool's report (on stderr: GoReleaser runs this as a step).
		fmt.Fprintf(os.Stderr, "%s  %s\n", sums[filepath.Base(out)], out)
	}
	out := filepath.Join(dist, "server.json")
	if err := writeServerJSON(serverJSON, out, version, sums); err != nil {
		return err
	}
	return validate(out, schema, true)
}

// writeServerJSON writes the registry entry of this build (see
// mcpb.ServerJSON): the committed one at version, with each bundle's
// SHA-256.
func writeServerJSON(from, to, version string, sums map[string]string) error {
	committed, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	out, err := mcpb.ServerJSON(committed, version, sums)
	if err != nil {
		return err
	}
	return writeFile(to, out, 0o644)
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
