# fal-video-mcp — run `make help` for the targets.
GO      ?= go
BIN     ?= bin/fal-video-mcp
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

# Release tooling, pinned and installed into .tools/ (git-ignored).
RELEASE_VERSION    := $(shell cat VERSION)
GORELEASER_VERSION := v2.17.0
GORELEASER         := .tools/goreleaser-$(GORELEASER_VERSION)/goreleaser
MCPB_VERSION       := 2.1.2
MCPB               := .tools/mcpb-$(MCPB_VERSION)/node_modules/.bin/mcpb

.PHONY: help build run install test fmt-check vet tidy-check fuzz bench clean dist mcpb

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

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

test: fmt-check vet tidy-check ## gofmt, go vet, go mod tidy checks, and every test with the race detector
	$(GO) test -race -count=1 ./...

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

dist: $(GORELEASER) ## release archives (6 platforms) and checksums in dist/, a snapshot of VERSION; then checks them
	FAL_VIDEO_MCP_VERSION=$(RELEASE_VERSION) FAL_VIDEO_MCP_COMMIT=$$(git rev-parse HEAD) \
		$(GORELEASER) release --snapshot --clean
	$(GO) test -count=1 -run '^TestDist' .

mcpb: $(MCPB) ## Claude Desktop bundles (.mcpb) from the dist/ binaries, validated by the mcpb CLI, and dist/server.json
	@if [ ! -f dist/artifacts.json ]; then $(MAKE) dist; fi
	$(GO) run ./mcpb/build -mcpb $(MCPB)
	$(GO) test -count=1 -run '^TestBundle' ./mcpb/

$(GORELEASER):
	GOBIN=$(CURDIR)/$(dir $(GORELEASER)) $(GO) install github.com/goreleaser/goreleaser/v2@$(GORELEASER_VERSION)

$(MCPB):
	npm install --prefix .tools/mcpb-$(MCPB_VERSION) --no-save --no-audit --no-fund @anthropic-ai/mcpb@$(MCPB_VERSION)

bench: ## run the benchmarks (numbers and ratios, never pass/fail)
	$(GO) test -run '^$$' -bench . -benchmem ./...
