#!/usr/bin/env bash
# Prints the name of a local Docker image holding this machine's Go
# toolchain, building it first when the engine does not have it:
# drill-golang:<go version>, FROM scratch (the go command and the compiler
# are static binaries), the standard library compiled in. The bundled
# compose scenario builds its services with it (GO_IMAGE) on machines that
# cannot pull golang:1.26; `make compose-drill` uses it. About a minute the
# first time, then instant.
set -euo pipefail
goroot=$(go env GOROOT)
version=$(go env GOVERSION)
image="drill-golang:${version#go}"
if docker image inspect "$image" >/dev/null 2>&1; then
  echo "$image"
  exit 0
fi
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir "$ctx/go"
# What `go build` needs: the go command, the compiler and linker, the
# standard library's sources. Not the tests, docs or the tools' sources.
tar -C "$goroot" --exclude=./test --exclude=./doc --exclude=./api --exclude=./misc \
  --exclude=./src/cmd --exclude=testdata -cf - . | tar -C "$ctx/go" -xf -
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY go /usr/local/go
ENV PATH=/usr/local/go/bin HOME=/root GOPATH=/go GOCACHE=/root/.cache/go-build \
    GOTOOLCHAIN=local GOPROXY=off CGO_ENABLED=0
# The go command needs a temporary folder; WORKDIR makes one in an empty image.
WORKDIR /tmp
WORKDIR /src
# The standard library, compiled once with the flags of
# scenarios/compose-web/go.Dockerfile, so that a service builds in seconds.
RUN ["go", "build", "-trimpath", "std"]
DOCKERFILE
echo "building $image from $goroot (classic builder, about a minute)" >&2
DOCKER_BUILDKIT=0 docker build --quiet --tag "$image" "$ctx" >&2
echo "$image"
