#!/usr/bin/env bash
# Builds the hello service from this cycle's fresh copy of the source as a
# static binary and packs it into the FROM scratch image $IMAGE. Classic
# builder (DOCKER_BUILDKIT=0): FROM scratch needs no registry.
set -euo pipefail
: "${IMAGE:?}" "${APP_VERSION:?}"
mkdir -p build
(cd scenarios/local-web/hello &&
  CGO_ENABLED=0 go build -trimpath -ldflags "-X main.version=${APP_VERSION}" -o "${DRILL_WORKDIR}/build/hello" .)
DOCKER_BUILDKIT=0 docker build --quiet --file scenarios/kind-web/Dockerfile --tag "$IMAGE" build
echo "built $IMAGE (hello ${APP_VERSION})"
