#!/usr/bin/env bash
# Loads $IMAGE into every node of this cycle's kind cluster, as
# `kind load docker-image` does: `docker save`, then containerd's
# `ctr images import` in the k8s.io namespace on each node. The kind target's
# loadImages cannot do it: it runs at provision, before the build step.
set -euo pipefail
: "${IMAGE:?}" "${DRILL_OUTPUT_CLUSTER:?}"
mkdir -p build
archive=build/image.tar
docker save --output "$archive" "$IMAGE"
loaded=0
while read -r node role; do
  [ "$role" = external-load-balancer ] && continue
  docker exec -i "$node" ctr --namespace=k8s.io images import --all-platforms --digests - <"$archive" >/dev/null
  echo "loaded $IMAGE into $node"
  loaded=$((loaded + 1))
done < <(docker ps --filter "label=io.x-k8s.kind.cluster=${DRILL_OUTPUT_CLUSTER}" \
  --format '{{.Names}} {{.Label "io.x-k8s.kind.role"}}')
if [ "$loaded" -eq 0 ]; then
  echo "no nodes found for kind cluster ${DRILL_OUTPUT_CLUSTER}" >&2
  exit 1
fi
rm -f "$archive"
