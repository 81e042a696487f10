# drill's developer entry points. `make drill` runs the bundled drill (the
# README's main command); `make test` runs every test. Both install terraform
# into ./bin first when none is on PATH, so a fresh machine needs only Go.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c

BIN        := $(CURDIR)/bin
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS    := -X github.com/redeploy-drill/drill/internal/cli.Version=$(VERSION)
TERRAFORM_VERSION := v1.5.7
# ./bin comes first so the terraform that `make tools` installs is found by
# drill and by the tests.
export PATH := $(BIN):$(PATH)

GO_TEST_FLAGS ?=
FUZZTIME      ?= 30s

.PHONY: all build tools drill kind-drill test test-short lint fuzz bench clean

all: lint build test

build:
	go build -ldflags '$(LDFLAGS)' -o $(BIN)/drill ./cmd/drill

## tools: install terraform into ./bin when none is on PATH (offline: built from the Go module proxy, ~3 min)
tools:
	@if command -v terraform >/dev/null 2>&1; then \
	  echo "terraform: $$(command -v terraform)"; \
	else \
	  echo "terraform not found: installing $(TERRAFORM_VERSION) into $(BIN) (go install, about 3 minutes)"; \
	  GOBIN=$(BIN) go install github.com/hashicorp/terraform@$(TERRAFORM_VERSION); \
	fi

## drill: run the bundled default scenario (scenarios/local-web.yaml)
drill: tools build
	$(BIN)/drill run scenarios/local-web.yaml

## kind-drill: run the bundled kind scenario (needs Docker and a kind node image)
kind-drill: build
	$(BIN)/drill run scenarios/kind-web.yaml

## test: every test; tests needing a missing tool (docker, chromium) skip with a reason
test: tools
	go test $(GO_TEST_FLAGS) -timeout 45m ./...

## test-short: the fast unit tests only
test-short:
	go test -short ./...

## lint: vet (for Linux and, cross-compiled, for macOS, where SREs run drills by hand) and gofmt
lint:
	go vet ./...
	GOOS=darwin GOARCH=arm64 go vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi

## fuzz: run every fuzz target for FUZZTIME each
fuzz:
	go test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./scenarios
	go test -run='^$$' -fuzz='^FuzzExpand$$' -fuzztime=$(FUZZTIME) ./scenarios

## bench: performance figures (per-step overhead and peak memory)
bench: build
	scripts/bench-steps.sh

clean:
	rm -rf $(BIN) drill-results
