# fal-video-mcp — run `make help` for the targets.
GO      ?= go
BIN     ?= bin/fal-video-mcp
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: help build run test fmt-check vet tidy-check fuzz bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build the server into bin/
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) .

run: build ## run the server over stdio; without FAL_KEY it runs in dry-run mode
	@if [ -z "$$FAL_KEY$$FAL_KEY_ID" ]; then \
		echo "FAL_KEY is not set: running in dry-run mode (an offline fal emulator; nothing is billed)" >&2; \
		./$(BIN) --dry-run $(ARGS); \
	else ./$(BIN) $(ARGS); fi

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
	rm -rf bin

bench: ## run the benchmarks (numbers and ratios, never pass/fail)
	$(GO) test -run '^$$' -bench . -benchmem ./...
