package mcpb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The MCP Registry entry (server.json at the repository's root) and the
// one each release publishes beside its bundles (dist/server.json) come
// from one generator, ServerJSON: the committed file is its output for
// the VERSION file's version without bundle sums, and a release's is its
// output for the build's version with the sum of every bundle.

// ServerJSON is the registry entry of version: the committed entry's
// description, repository and environment, with every version, release
// URL and file name it names — packages, binaries, checksums, the install
// line — made from version, so that a snapshot (0.1.0-snapshot) names no
// other. With sums (file name → SHA-256) each bundle's package carries its
// sum and a bundle without one is an error; without sums (nil) no package
// carries one: the committed file, made before any bundle.
func ServerJSON(committed []byte, version string, sums map[string]string) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(committed, &doc); err != nil {
		return nil, fmt.Errorf("server.json: %w", err)
	}
	doc["version"] = version
	pkgs, _ := doc["packages"].([]any)
	if len(pkgs) != len(Targets) {
		return nil, fmt.Errorf("server.json has %d packages, want one bundle per platform (%d)", len(pkgs), len(Targets))
	}
	for i, t := range Targets {
		pkg, ok := pkgs[i].(map[string]any)
		if !ok || pkg["registryType"] != "mcpb" {
			return nil, fmt.Errorf("server.json: package %d is not an mcpb package", i)
		}
		name := BundleName(version, t)
		pkg["identifier"] = ReleaseURL(version, name)
		delete(pkg, "fileSha256")
		if sums != nil {
			sum, ok := sums[name]
			if !ok {
				return nil, fmt.Errorf("server.json: no bundle %s was built, so its package has no SHA-256", name)
			}
			pkg["fileSha256"] = sum
		}
	}
	meta, _ := doc["_meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		doc["_meta"] = meta
	}
	var binaries []any
	for _, t := range Targets {
		binaries = append(binaries, map[string]any{"os": t.GOOS, "arch": t.GOARCH, "url": ReleaseURL(version, ArchiveName(version, t))})
	}
	meta[publisherMeta] = map[string]any{
		"binaries":  binaries,
		"checksums": ReleaseURL(version, "checksums.txt"),
		"install":   "go install " + modulePath + "@v" + version,
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

const (
	publisherMeta = "io.modelcontextprotocol.registry/publisher-provided"
	modulePath    = "github.com/fal-video-mcp/fal-video-mcp"
)

var sha256Hex = regexp.MustCompile(`^[a-f0-9]{64}$`)

// ValidateServerJSON checks a registry entry against the MCP Registry's
// server.json schema (its text, schema) and what the schema says only in
// words: an mcpb package is downloaded by its SHA-256 (release: every
// package must carry one), the fal key is declared in every package as a
// required secret, and the publisher's _meta stays within the registry's
// 4 KB.
func ValidateServerJSON(doc, schema []byte, release bool) error {
	s, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return fmt.Errorf("the registry schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	const url = "https://registry.invalid/server.schema.json"
	if err := c.AddResource(url, s); err != nil {
		return err
	}
	sch, err := c.Compile(url)
	if err != nil {
		return fmt.Errorf("the registry schema: %w", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("server.json: %w", err)
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("server.json does not validate against the registry's schema: %v", err)
	}
	var entry struct {
		Packages []struct {
			RegistryType         string `json:"registryType"`
			Identifier           string `json:"identifier"`
			FileSha256           string `json:"fileSha256"`
			EnvironmentVariables []struct {
				Name       string `json:"name"`
				IsRequired bool   `json:"isRequired"`
				IsSecret   bool   `json:"isSecret"`
			} `json:"environmentVariables"`
		} `json:"packages"`
		Meta map[string]json.RawMessage `json:"_meta"`
	}
	if err := json.Unmarshal(doc, &entry); err != nil {
		return err
	}
	for _, p := range entry.Packages {
		if release && p.RegistryType == "mcpb" && !sha256Hex.MatchString(p.FileSha256) {
			return fmt.Errorf("server.json: package %s has no fileSha256, which the registry requires of an mcpb package", p.Identifier)
		}
		key := false
		for _, e := range p.EnvironmentVariables {
			key = key || e.Name == "FAL_KEY" && e.IsRequired && e.IsSecret
		}
		if !key {
			return fmt.Errorf("server.json: package %s does not declare FAL_KEY as a required secret (environmentVariables, isRequired and isSecret)", p.Identifier)
		}
	}
	if n := len(entry.Meta[publisherMeta]); n > 4096 {
		return fmt.Errorf("server.json: the publisher-provided _meta is %d bytes; the registry takes 4 KB", n)
	}
	return nil
}
