# drill's developer entry points. `make drill` runs the bundled drill (the
# README's main command); `make test` runs every test. Both install terraform
# into ./bin first when none is on PATH, so a fresh machine needs only Go.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c

BIN        := $(CURDIR)/bin
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS    := -X github.com/redeploy-drill/drill/internal/cli.Version=$(VERSION)
TERRAFORM_VERSION := v1.5.7
# The Compose v2 CLI plugin the compose target runs, pinned (with the
# excludes that keep `go install` from building it) in tools/compose/go.mod.
COMPOSE_VERSION := $(shell awk '$$1 == "github.com/docker/compose/v5" { print $$2 }' tools/compose/go.mod)
# Built once per version into a cache outside the checkout, so a warm
# machine (or a fresh clone on it) rebuilds nothing.
TOOLS_CACHE   ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/drill-tools
COMPOSE_BUILD := $(TOOLS_CACHE)/compose-$(COMPOSE_VERSION)/docker-compose
# The S3 server the object-storage tests run against (127.0.0.1, posix
# backend, real SigV4 and conditional create), built once per version.
VERSITYGW_VERSION := v1.8.0
VERSITYGW_BUILD   := $(TOOLS_CACHE)/versitygw-$(VERSITYGW_VERSION)/versitygw
# Jaeger v2, the tracing backend the OpenTelemetry tests export to, pinned in
# tools/jaeger/go.mod (a wrapper module: `go install` refuses Jaeger's replace).
JAEGER_VERSION := $(shell awk '$$1 == "github.com/jaegertracing/jaeger" { print $$2 }' tools/jaeger/go.mod)
JAEGER_BUILD   := $(TOOLS_CACHE)/jaeger-$(JAEGER_VERSION)/jaeger
# Where the docker CLI looks for its plugins first.
COMPOSE_PLUGIN := $(or $(DOCKER_CONFIG),$(HOME)/.docker)/cli-plugins/docker-compose
# ./bin comes first so the terraform that `make tools` installs is found by
# drill and by the tests.
export PATH := $(BIN):$(PATH)

GO_TEST_FLAGS ?=
FUZZTIME      ?= 30s

.PHONY: all build tools terraform compose-plugin versitygw jaeger drill kind-drill compose-drill image test test-short lint fuzz bench clean

all: lint build test

build:
	go build -ldflags '$(LDFLAGS)' -o $(BIN)/drill ./cmd/drill

## tools: everything the drills and the tests need, each when missing:
## terraform into ./bin when none is on PATH (offline: built from the Go module proxy, ~3 min),
## the docker compose v2 plugin when `docker compose` does not answer (built once into $(TOOLS_CACHE), 1-4 min),
## versitygw, the S3 server of the object-storage tests (built once into $(TOOLS_CACHE), ~5 min, linked into ./bin),
## and jaeger, the tracing backend of the OpenTelemetry tests (built once into $(TOOLS_CACHE), 5-15 min, linked into ./bin)
tools: terraform compose-plugin versitygw jaeger

terraform:
	@if command -v terraform >/dev/null 2>&1; then \
	  echo "terraform: $$(command -v terraform)"; \
	else \
	  echo "terraform not found: installing $(TERRAFORM_VERSION) into $(BIN) (go install, about 3 minutes)"; \
	  GOBIN=$(BIN) go install github.com/hashicorp/terraform@$(TERRAFORM_VERSION); \
	fi

compose-plugin:
	@if ! command -v docker >/dev/null 2>&1; then \
	  echo "docker compose: skipped (no docker CLI; the compose target needs Docker)"; \
	elif docker compose version >/dev/null 2>&1; then \
	  echo "docker compose: $$(docker compose version --short 2>/dev/null)"; \
	else \
	  if [ ! -x "$(COMPOSE_BUILD)" ]; then \
	    echo "docker compose not found: building $(COMPOSE_VERSION) into $(dir $(COMPOSE_BUILD)) (go build, 1-4 minutes the first time)"; \
	    mkdir -p "$(dir $(COMPOSE_BUILD))"; \
	    (cd tools/compose && GOWORK=off go build -trimpath \
	      -ldflags "-s -w -X github.com/docker/compose/v5/internal.Version=$(COMPOSE_VERSION)" \
	      -o "$(COMPOSE_BUILD).tmp" github.com/docker/compose/v5/cmd); \
	    mv "$(COMPOSE_BUILD).tmp" "$(COMPOSE_BUILD)"; \
	  fi; \
	  mkdir -p "$(dir $(COMPOSE_PLUGIN))"; \
	  ln -sfn "$(COMPOSE_BUILD)" "$(COMPOSE_PLUGIN)"; \
	  echo "docker compose: installed $(COMPOSE_PLUGIN) -> $(COMPOSE_BUILD)"; \
	  docker compose version; \
	fi

versitygw:
	@if [ ! -x "$(VERSITYGW_BUILD)" ]; then \
	  echo "versitygw not built: building $(VERSITYGW_VERSION) into $(dir $(VERSITYGW_BUILD)) (go install, about 5 minutes the first time)"; \
	  mkdir -p "$(dir $(VERSITYGW_BUILD))"; \
	  GOBIN="$(dir $(VERSITYGW_BUILD))" go install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION); \
	fi
	@mkdir -p $(BIN) && ln -sfn "$(VERSITYGW_BUILD)" $(BIN)/versitygw && echo "versitygw: $(BIN)/versitygw -> $(VERSITYGW_BUILD)"

jaeger:
	@if [ ! -x "$(JAEGER_BUILD)" ]; then \
	  echo "jaeger not built: building $(JAEGER_VERSION) into $(dir $(JAEGER_BUILD)) (go build through tools/jaeger, 5-15 minutes the first time)"; \
	  mkdir -p "$(dir $(JAEGER_BUILD))"; \
	  (cd tools/jaeger && GOWORK=off go build -trimpath -ldflags "-s -w" \
	    -o "$(JAEGER_BUILD).tmp" github.com/jaegertracing/jaeger/cmd/jaeger); \
	  mv "$(JAEGER_BUILD).tmp" "$(JAEGER_BUILD)"; \
	fi
	@mkdir -p $(BIN) && ln -sfn "$(JAEGER_BUILD)" $(BIN)/jaeger && echo "jaeger: $(BIN)/jaeger -> $(JAEGER_BUILD)"

## drill: run the bundled default scenario (scenarios/local-web.yaml)
drill: terraform build
	$(BIN)/drill run scenarios/local-web.yaml

## kind-drill: run the bundled kind scenario (needs Docker and a kind node image)
kind-drill: build
	$(BIN)/drill run scenarios/kind-web.yaml

## compose-drill: run the bundled compose scenario (needs Docker; builds its services
## with a local Go image, scripts/go-image.sh, so nothing is pulled)
compose-drill: terraform build
	GO_IMAGE=$$(scripts/go-image.sh) $(BIN)/drill run scenarios/compose-web.yaml

## image: build drill's container image drill:$(VERSION) (deploy/image/Dockerfile) from
## DRILL_IMAGE_BASE (default debian:bookworm-slim; offline, kind-offline's rootfs image)
image: terraform
	VERSION=$(VERSION) scripts/image.sh

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

## bench: every figure of the README's performance table against its baseline (scripts/bench.sh;
## the kind figures need DRILL_KIND_NODE_IMAGE, SKIP_KIND=1 / SKIP_HISTORY=1 leave parts out)
bench: build
	DRILL=$(BIN)/drill scripts/bench.sh

clean:
	rm -rf $(BIN) drill-results
