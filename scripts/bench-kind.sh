#!/usr/bin/env bash
# bench-kind.sh: drill's overhead on the bundled kind drill.
#
# Goal (issue requirement, "Speed"): drill must add no more than 1% to the
# time of the underlying operations of the bundled kind drill
# (scenarios/kind-web.yaml).
#
# It builds ./bin/drill and runs one cycle of scenarios/kind-web.yaml with its
# results in a temporary folder (CI=true: plain output), reading every step's
# durationMs from the DrillRun document. drill's bookkeeping is what the
# document does not attribute to a step: the run's durationMs minus the sum
# of its steps' durationMs (loading the scenario, recording, the idempotency
# re-apply in dry-run, removing the workdir, writing the documents). That is
# the figure the goal is checked on. It also samples drill's own CPU time:
# on a busy machine, CPU that drill takes is CPU the operations lack.
#
# Then it runs the same operations directly with the CLIs, each one timed:
# the tracked files copied into a fresh folder, `kind create cluster --wait`
# plus `kubectl wait` for Ready nodes, build-image.sh, `kind load docker-image`,
# `kubectl apply --server-side`, `kubectl rollout status`, curl of /healthz
# (polled like the scenario's http step) and /version, `docker image rm`,
# `kind delete cluster`. The table compares them phase by phase. That
# comparison is informative only: a kind cluster's creation varies by seconds
# from one run to the next, far more than drill's own time, so its
# difference is noise unless the machine is idle and the runs repeated.
#
# Exit codes: 0 drill's bookkeeping is within the goal, 1 it is not, 2 the
# benchmark itself could not run.
#
# Environment: DRILL_KIND_NODE_IMAGE (required: the kind node image, as for
# the drill), KIND (the kind CLI, default `kind` on PATH; `GOBIN=DIR go install
# sigs.k8s.io/kind@v0.33.0`), KUBECTL (default `kubectl` on PATH),
# ORDER (drill-first, the default, or direct-first), MAX_OWN_PCT (1: the
# goal, in % of the run), DRILL (a drill binary to use instead of building
# ./bin/drill), KEEP=1 (keep the temporary folder with the logs and the
# DrillRun document).
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$PWD

die() { echo "bench-kind: $*" >&2; exit 2; }
now_ns() { date +%s%N; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

: "${DRILL_KIND_NODE_IMAGE:?set DRILL_KIND_NODE_IMAGE to the kind node image (see shared/kind-offline)}"
export DRILL_KIND_NODE_IMAGE
kind_cli=${KIND:-kind}
kubectl=${KUBECTL:-kubectl}
order=${ORDER:-drill-first}
max_own_pct=${MAX_OWN_PCT:-1}
case $order in drill-first | direct-first) ;; *) die "ORDER must be drill-first or direct-first" ;; esac
for tool in docker git jq curl "$kind_cli" "$kubectl"; do
  command -v "$tool" >/dev/null || die "$tool not found"
done

# The scenario's values the direct run needs, checked against the scenario
# so that a change there is noticed here.
scenario=scenarios/kind-web.yaml
image=drill-hello:dev
app_version=v1.0.0
node_port=30080
namespace=web
for want in "IMAGE: $image" "APP_VERSION: $app_version" "NODE_PORT: \"$node_port\"" "namespace: $namespace"; do
  grep -qF "$want" "$scenario" || die "$scenario no longer has '$want': update this script"
done
if docker image inspect "$image" >/dev/null 2>&1; then
  die "the image $image already exists (another kind drill running?); remove it first"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/drill-bench-kind.XXXXXX")
cluster=bench-kind-$$
drill_pid= direct_image=
cleanup() {
  # Interrupted during the drill: let it tear its cluster down first (one
  # SIGTERM, as a timeout would send; it may have had the SIGINT already).
  if [[ -n $drill_pid ]] && kill -0 "$drill_pid" 2>/dev/null; then
    kill -TERM "$drill_pid" 2>/dev/null || true
    wait "$drill_pid" 2>/dev/null || true
  fi
  if "$kind_cli" get clusters 2>/dev/null | grep -qx "$cluster"; then
    "$kind_cli" delete cluster --name "$cluster" --kubeconfig "$work/kubeconfig" >/dev/null 2>&1 || true
  fi
  if [[ -n $direct_image ]]; then
    docker image rm "$image" >/dev/null 2>&1 || true
  fi
  if [[ ${KEEP:-} == 1 ]]; then
    echo "bench-kind: kept $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

if [[ -n ${DRILL:-} ]]; then
  drill=$DRILL
else
  mkdir -p bin
  go build -o bin/drill ./cmd/drill || die "go build failed"
  drill=$repo/bin/drill
fi

phases=(workdir provision image load-image deploy rollout healthy version remove-image destroy)
declare -A drill_ms direct_ms

# run_drill runs one cycle of the scenario and reads the step durations.
# Exit code 1 is accepted: one cycle does not hold the guideline (two are
# required); every step must have passed.
run_drill() {
  local results=$work/results code=0 start end
  start=$(now_ns)
  CI=true "$drill" run --cycles 1 -o json --results "$results" "$scenario" \
    >"$work/drill.json" 2>"$work/drill.stderr" &
  local pid=$! ticks stat never
  drill_pid=$pid
  # drill's own CPU time (its threads, not the commands it runs): utime +
  # stime from /proc/PID/stat, sampled every 0.2s until it exits (bash reaps
  # it at once, so up to the last 0.2s of it may be missed; a zombie still
  # read holds the final figures). Shell builtins only: no process per sample.
  exec {never}<> <(:)
  drill_ticks=0
  while read -r -a stat 2>/dev/null <"/proc/$pid/stat"; do
    ticks=$((stat[13] + stat[14]))
    if [[ $ticks -gt $drill_ticks ]]; then drill_ticks=$ticks; fi
    [[ ${stat[2]} != Z ]] || break # exited: a zombie until the wait below
    read -r -t 0.2 -u "$never" || true
  done
  exec {never}<&-
  wait "$pid" || code=$?
  drill_pid=
  end=$(now_ns)
  drill_cpu_ms=$((drill_ticks * 1000 / $(getconf CLK_TCK)))
  drill_wall_ms=$(((end - start) / 1000000))
  if [[ $code -ne 0 && $code -ne 1 ]]; then
    cat "$work/drill.stderr" >&2
    die "drill run exited with $code"
  fi
  doc=$results/kind-web/latest.json
  [[ -f $doc ]] || { cat "$work/drill.stderr" >&2; die "no DrillRun document"; }
  local bad
  bad=$(jq -r '[.cycles[].steps[] | select(.status != "passed") | "\(.name): \(.status)"] | join(", ")' "$doc")
  [[ -z $bad ]] || { cat "$work/drill.stderr" >&2; die "steps did not pass: $bad"; }
  local name ms
  while read -r name ms; do
    drill_ms[$name]=$ms
  done < <(jq -r '.cycles[0].steps[] | "\(.name) \(.durationMs)"' "$doc")
  for name in "${phases[@]}"; do
    [[ -n ${drill_ms[$name]:-} ]] || die "the DrillRun document has no step $name"
  done
  run_id=$(jq -r '.runId' "$doc")
  run_ms=$(jq '.durationMs' "$doc")
  cycle_ms=$(jq '.cycles[0].durationMs' "$doc")
  steps_ms=$(jq '[.cycles[].steps[].durationMs] | add' "$doc")
  waited_ms=$(jq '[.cycles[].steps[].waitedMs // 0] | add' "$doc")
  # Where the bookkeeping goes: the time between the run's start, each
  # step's start and finish, and the run's finish (jq's fromdate takes no
  # fraction of a second, hence ts).
  gaps=$(jq -r '
    def ts: (.[0:19] + "Z" | fromdate) + ("0" + (.[19:] | rtrimstr("Z")) | tonumber);
    . as $run | [.cycles[0].steps[] | {name, s: (.startedAt | ts), f: (.finishedAt | ts)}] as $st
    | [{name: "start", f: ($run.startedAt | ts)}] + $st + [{name: "end", s: ($run.finishedAt | ts)}]
    | [range(1; length) as $i | "\(.[$i - 1].name)>\(.[$i].name) \((.[$i].s - .[$i - 1].f) * 1000 | floor)"]
    | join(", ")' "$doc")
}

# timed runs a phase of the direct run, its output to the log. (Under ||,
# set -e is off inside the phase: each phase function returns its failures.)
timed() { # phase command...
  local phase=$1 start end
  shift
  echo "== $phase: $*" >>"$work/direct.log"
  start=$(now_ns)
  "$@" >>"$work/direct.log" 2>&1 || { tail -n 30 "$work/direct.log" >&2; die "direct $phase failed"; }
  end=$(now_ns)
  direct_ms[$phase]=$(((end - start) / 1000000))
}

direct_workdir() { # the tracked files, as drill copies them
  mkdir "$dir" || return
  git -C "$repo" ls-files -z --cached -- . |
    tar -C "$repo" --null --files-from - --ignore-failed-read -cf - | tar -C "$dir" -xf -
}
direct_provision() {
  "$kind_cli" create cluster --name "$cluster" --image "$DRILL_KIND_NODE_IMAGE" \
    --kubeconfig "$kcfg" --wait 3m || return
  "$kubectl" --kubeconfig "$kcfg" wait --for=condition=Ready nodes --all --timeout 3m || return
  ip=$(docker inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$cluster-control-plane")
  [[ -n $ip ]]
}
direct_step() { # script: a step's run script, in the workdir, with drill's variables
  (cd "$dir" && IMAGE=$image APP_VERSION=$app_version NODE_PORT=$node_port DRILL_WORKDIR=$dir \
    DRILL_OUTPUT_CLUSTER=$cluster DRILL_OUTPUT_KUBECONFIG=$kcfg DRILL_OUTPUT_CONTROL_PLANE_IP=$ip \
    "$1")
}
direct_deploy() { # namespace first: kubectl applies the files in name order
  "$kubectl" --kubeconfig "$kcfg" apply --server-side --force-conflicts --field-manager drill \
    --namespace "$namespace" -f "$dir/scenarios/kind-web/manifests/namespace.yaml" \
    -f "$dir/scenarios/kind-web/manifests/hello.yaml"
}
direct_rollout() {
  "$kubectl" --kubeconfig "$kcfg" rollout status deployment/hello --namespace "$namespace" --timeout 2m
}
direct_healthy() { # as the http step: every 500ms for up to 30s, until 200 and "^ok"
  local deadline=$(($(now_ns) + 30 * 1000000000)) body
  while :; do
    if body=$(curl -fsS --max-time 5 "http://$ip:$node_port/healthz") && [[ $body == ok* ]]; then
      return 0
    fi
    [[ $(now_ns) -lt $deadline ]] || return 1
    sleep 0.5
  done
}
direct_version() {
  curl -fsS --max-time 10 "http://$ip:$node_port/version" | grep -Eq "^${app_version}[[:space:]]*$"
}
direct_destroy() {
  "$kind_cli" delete cluster --name "$cluster" --kubeconfig "$kcfg"
}

run_direct() {
  dir=$work/direct-workdir
  kcfg=$work/kubeconfig
  ip=
  local start end
  start=$(now_ns)
  timed workdir direct_workdir
  timed provision direct_provision
  direct_image=1 # from here until removed, the image is the direct run's
  timed image direct_step ./scenarios/kind-web/build-image.sh
  timed load-image "$kind_cli" load docker-image --name "$cluster" "$image"
  timed deploy direct_deploy
  timed rollout direct_rollout
  timed healthy direct_healthy
  timed version direct_version
  timed remove-image docker image rm "$image"
  direct_image=
  timed destroy direct_destroy
  rm -rf "$dir"
  end=$(now_ns)
  direct_wall_ms=$(((end - start) / 1000000))
}

load_before=$(loadavg)
if [[ $order == drill-first ]]; then
  run_drill
  load_between=$(loadavg)
  run_direct
else
  run_direct
  load_between=$(loadavg)
  run_drill
fi
load_after=$(loadavg)

# The table.
echo "kind-web, 1 cycle; node image $DRILL_KIND_NODE_IMAGE; $("$kind_cli" version); kubectl $("$kubectl" version --client 2>/dev/null | sed -n 's/^Client Version: //p')"
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.2f", b ? 100 * a / b : 0 }'; }
direct_total=0
printf '%-16s %10s %10s %10s %8s\n' phase "drill ms" "direct ms" "diff ms" "diff %"
for p in "${phases[@]}"; do
  d=${drill_ms[$p]} x=${direct_ms[$p]}
  direct_total=$((direct_total + x))
  printf '%-16s %10d %10d %+10d %8s\n' "$p" "$d" "$x" $((d - x)) "$(pct $((d - x)) "$x")"
done
own_ms=$((run_ms - steps_ms))
printf '%-16s %10d %10s\n' "(bookkeeping)" "$own_ms" -
printf '%-16s %10d %10d %+10d %8s\n' total "$run_ms" "$direct_total" $((run_ms - direct_total)) "$(pct $((run_ms - direct_total)) "$direct_total")"
echo
echo "drill run:           durationMs $run_ms = steps $steps_ms + bookkeeping $own_ms (cycle $cycle_ms, outside the cycle $((run_ms - cycle_ms)), waited $waited_ms)"
echo "bookkeeping gaps ms: $gaps"
echo "                     (rollout>healthy holds the idempotency check, a server-side dry-run re-apply; destroy>end the workdir's removal and the saving)"
echo "drill process wall:  $drill_wall_ms ms (process start to exit, with loading and writing the documents)"
echo "drill CPU time:      $drill_cpu_ms ms of its own (threads of the drill process, sampled every 0.2s; the commands it runs excluded) = $(awk -v c="$drill_cpu_ms" -v w="$drill_wall_ms" 'BEGIN { printf "%.2f", 100 * c / w }')% of one CPU during the run"
echo "direct wall:         $direct_wall_ms ms (the phases plus the shell between them and removing the folder)"
echo "drill vs direct:     $(pct $((run_ms - direct_total)) "$direct_total")% of the direct total ($((run_ms - direct_total)) ms; noise: see the per-phase differences)"
echo "load average:        before $load_before, between $load_between, after $load_after ($(nproc) CPUs); order $order"
own_pct=$(awk -v o="$own_ms" -v r="$run_ms" 'BEGIN { printf "%.3f", 100 * o / r }')
if awk -v v="$own_pct" -v l="$max_own_pct" 'BEGIN { exit !(v <= l) }'; then
  echo "drill bookkeeping:   $own_ms ms = $own_pct% of the run  (goal <= $max_own_pct%)  PASS"
  verdict=0
else
  echo "drill bookkeeping:   $own_ms ms = $own_pct% of the run  (goal <= $max_own_pct%)  FAIL"
  verdict=1
fi

# Nothing may be left: neither cluster, nor the image.
left=$(for c in "drill-kind-web-${run_id##*-}" "$cluster"; do
  docker ps -a --filter "label=io.x-k8s.kind.cluster=$c" --format '{{.Names}}'
done)
if [[ -n $left ]]; then
  echo "bench-kind: left behind: $left" >&2
  verdict=2
fi
if docker image inspect "$image" >/dev/null 2>&1; then
  echo "bench-kind: the image $image is left behind" >&2
  verdict=2
fi
exit "$verdict"
