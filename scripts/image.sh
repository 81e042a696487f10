#!/usr/bin/env bash
# Builds drill's container image (deploy/image/Dockerfile) and prints its
# name: drill:<version>. `make image` runs it.
#
#   IMAGE            the tag (default drill:$VERSION)
#   VERSION          drill's version (default: git describe, else dev)
#   DRILL_IMAGE_BASE the Debian bookworm base image (default debian:bookworm-slim;
#                    offline: the root file system image ../shared/kind-offline
#                    builds, which `docker images kind-offline/rootfs` lists)
#   KUBECTL          the kubectl binary to put in (default: kubectl on PATH,
#                    else the one of the kind node image $DRILL_KIND_NODE_IMAGE)
#
# drill is built static from this checkout; terraform is the one on PATH
# (`make tools` installs it), so the image runs what the tests ran.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
image=${IMAGE:-drill:$version}
base=${DRILL_IMAGE_BASE:-debian:bookworm-slim}

command -v docker >/dev/null || { echo "image: docker is needed to build the image" >&2; exit 3; }
tf=$(command -v terraform) || { echo "image: terraform not found on PATH (make tools installs it)" >&2; exit 3; }

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
echo "image: building drill $version (static)" >&2
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/redeploy-drill/drill/internal/cli.Version=$version" \
  -o "$ctx/drill" ./cmd/drill
cp "$tf" "$ctx/terraform"
if [ -n "${KUBECTL:-}" ]; then
  cp "$KUBECTL" "$ctx/kubectl"
elif command -v kubectl >/dev/null; then
  cp "$(command -v kubectl)" "$ctx/kubectl"
elif [ -n "${DRILL_KIND_NODE_IMAGE:-}" ] && docker image inspect "$DRILL_KIND_NODE_IMAGE" >/dev/null 2>&1; then
  id=$(docker create "$DRILL_KIND_NODE_IMAGE")
  docker cp "$id:/usr/bin/kubectl" "$ctx/kubectl" >/dev/null
  docker rm "$id" >/dev/null
else
  echo "image: no kubectl: put one on PATH, set KUBECTL, or set DRILL_KIND_NODE_IMAGE to a kind node image" >&2
  exit 3
fi
cp deploy/image/Dockerfile "$ctx/"
echo "image: building $image from $base (classic builder: nothing pulled but the base)" >&2
DOCKER_BUILDKIT=0 docker build --quiet --build-arg "BASE=$base" --label "org.opencontainers.image.version=$version" \
  --tag "$image" "$ctx" >&2
echo "$image"
