# fal-video-mcp — run `make help` for the targets.
GO      ?= go
BIN     ?= bin/fal-video-mcp
# One version everywhere: every build (make build, run, install, dist)
# carries the VERSION file's; --version adds the commit.
VERSION := $(shell cat VERSION)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

# Release tooling, pinned and installed into .tools/ (git-ignored).
GORELEASER_VERSION := v2.17.0
GORELEASER         := .tools/goreleaser-$(GORELEASER_VERSION)/goreleaser
MCPB_VERSION       := 2.1.2
MCPB               := .tools/mcpb-$(MCPB_VERSION)/node_modules/.bin/mcpb
# What GoReleaser's bundle step (.goreleaser.yaml, signs) is given.
RELEASE_ENV := FAL_VIDEO_MCP_DIST=dist FAL_VIDEO_MCP_MCPB=$(CURDIR)/$(MCPB)

# The race detector needs cgo and a C compiler (gcc or clang); without one
# make test runs the tests without -race, and says so.
RACE = $(shell if [ "$$($(GO) env CGO_ENABLED)" = 1 ] && command -v "$$($(GO) env CC)" >/dev/null 2>&1; then echo -race; fi)

.PHONY: help build run install test test-flags fmt-check vet tidy-check fuzz bench clean dist mcpb release-check release

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

build: ## build the server into bin/
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) .

run: build ## run the server here over stdio (to try it by hand; MCP clients start the binary themselves)
	@echo "fal-video-mcp is an MCP server over stdio: an MCP client (Claude Desktop, Claude Code, VS Code, Cursor)" >&2
	@echo "starts it itself and speaks JSON-RPC on its stdin/stdout; there is nothing to type here." >&2
	@echo "To connect a client, run 'make install' and give the client the absolute path it prints (see README.md)." >&2
	@echo "Stop this one with Ctrl-D (end of input) or Ctrl-C." >&2
	@if [ -z "$$FAL_KEY$$FAL_KEY_ID" ]; then \
		echo "FAL_KEY is not set: running in dry-run mode (an offline fal emulator; nothing is billed)" >&2; \
		$(BIN) --dry-run $(ARGS); \
	else $(BIN) $(ARGS); fi

install: ## install the binary into $(go env GOBIN), else the first $(go env GOPATH)/bin, and print its absolute path
	@dir=$$($(GO) env GOBIN); if [ -z "$$dir" ]; then gopath=$$($(GO) env GOPATH); dir=$${gopath%%:*}/bin; fi; \
	mkdir -p "$$dir" && dir=$$(cd "$$dir" && pwd -P) && \
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o "$$dir/fal-video-mcp" . && \
	echo "installed $$dir/fal-video-mcp" && \
	echo "Use this absolute path as the \"command\" in your MCP client's configuration: GUI clients do not search your shell's PATH."

test: fmt-check vet tidy-check test-flags ## gofmt, go vet, go mod tidy checks, and every test (with the race detector when a C compiler is there)
	$(GO) test $(RACE) -count=1 ./...

test-flags: ## say how make test runs the tests (with -race, or without it and why)
	@if [ -n "$(RACE)" ]; then echo "make test: running the tests with -race"; \
	else echo "make test: no C compiler for cgo ($$($(GO) env CC), CGO_ENABLED=$$($(GO) env CGO_ENABLED)), so the race detector is off: running the tests without -race. Install gcc or clang (Debian/Ubuntu: apt install gcc; macOS: xcode-select --install) to run them with it." >&2; fi

fmt-check: ## fail if any file is not gofmt-clean
	@out=$$(gofmt -l . ); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet: ## go vet
	$(GO) vet ./...

tidy-check: ## fail if go.mod/go.sum are not tidy
	$(GO) mod tidy -diff

fuzz: ## run the fuzz targets for a short while each
	$(GO) test ./falqueue -run '^$$' -fuzz FuzzParseEndpointID -fuzztime 30s
	$(GO) test ./tools/mediaprobe -run '^$$' -fuzz FuzzReadBMFF -fuzztime 30s

clean: ## remove build output
	rm -rf bin dist

dist: $(GORELEASER) $(MCPB) ## a snapshot release of VERSION in dist/: archives (6 platforms), checksums, .mcpb bundles and server.json; then checks them
	$(RELEASE_ENV) FAL_VIDEO_MCP_VERSION=$(VERSION) FAL_VIDEO_MCP_COMMIT=$$(git rev-parse HEAD) \
		$(GORELEASER) release --snapshot --clean
	$(GO) test -count=1 -run '^TestDist' .
	$(GO) test -count=1 -run '^TestBundle' ./mcpb/

mcpb: ## the Claude Desktop bundles (.mcpb) and dist/server.json: make dist makes them with the archives
	@if [ ! -f dist/server.json ]; then $(MAKE) dist; else $(GO) test -count=1 -run '^TestBundle' ./mcpb/; fi

release-check: dist ## what a release would publish, built and checked locally (same as make dist)

release: $(GORELEASER) $(MCPB) ## the release of VERSION at tag vVERSION, with its bundles and server.json (needs GITHUB_TOKEN)
	@if [ "$$(git describe --tags --exact-match 2>/dev/null)" != "v$(VERSION)" ]; then \
		echo "make release: HEAD is not tagged v$(VERSION) (the VERSION file); tag it first: git tag v$(VERSION)" >&2; exit 1; fi
	$(RELEASE_ENV) $(GORELEASER) release --clean

$(GORELEASER):
	GOBIN=$(CURDIR)/$(dir $(GORELEASER)) $(GO) install github.com/goreleaser/goreleaser/v2@$(GORELEASER_VERSION)

$(MCPB):
	npm install --prefix .tools/mcpb-$(MCPB_VERSION) --no-save --no-audit --no-fund @anthropic-ai/mcpb@$(MCPB_VERSION)

bench: ## run the benchmarks (numbers and ratios, never pass/fail)
	$(GO) test -run '^$$' -bench . -benchmem ./...
