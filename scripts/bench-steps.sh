#!/usr/bin/env bash
# bench-steps.sh: drill's overhead per step and its peak memory.
#
# Goal (issue requirement): a scenario of 200 `run: "true"` steps, against a
# shell loop running `bash -c true` 200 times: drill's overhead per step must
# be under 5 ms, and its peak memory under 60 MB.
#
# It builds ./bin/drill, writes the scenario (target none, 1 cycle) into a
# temporary folder, times `drill run` of it with its results in another
# temporary folder (CI=true: plain output), times the bash loop, and prints
# the figures with PASS or FAIL per goal. It exits 1 when a goal is missed,
# 2 when the benchmark itself could not run.
#
# Environment: STEPS (default 200), REPEAT (3: runs of each, the fastest
# counts), MAX_OVERHEAD_MS (5), MAX_RSS_MB (60), DRILL (a drill binary to
# use instead of building ./bin/drill).
set -euo pipefail

cd "$(dirname "$0")/.."

steps=${STEPS:-200}
max_overhead_ms=${MAX_OVERHEAD_MS:-5}
max_rss_mb=${MAX_RSS_MB:-60}

die() { echo "bench-steps: $*" >&2; exit 2; }

now_ns() { date +%s%N; }

work=$(mktemp -d "${TMPDIR:-/tmp}/drill-bench-steps.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [[ -n ${DRILL:-} ]]; then
  drill=$DRILL
else
  mkdir -p bin
  go build -o bin/drill ./cmd/drill || die "go build failed"
  drill=$PWD/bin/drill
fi

# The scenario: nothing but `true` steps, so what is measured is drill.
scenario_dir=$work/scenario
mkdir -p "$scenario_dir"
{
  cat <<'EOF'
apiVersion: drill/v1
kind: Scenario
metadata:
  name: bench-steps
  description: 200 steps that do nothing, to measure drill's own cost per step.
  owner: bench
spec:
  cycles: 1
  target:
    none: {}
  steps:
EOF
  for i in $(seq -f '%03g' "$steps"); do
    printf '    - name: step-%s\n      run: "true"\n' "$i"
  done
} >"$scenario_dir/scenario.yaml"

# run_drill runs the scenario once with its results in a fresh folder, and
# checks that drill really ran and passed every step: the run, the cycle,
# workdir, provision, the steps and destroy each say passed. Exit code 1 is
# expected: one cycle of an untracked scenario does not hold the guideline
# (repeatable, version-controlled).
run_drill() { # [wrapper...]
  local results log code=0
  results=$(mktemp -d "$work/results.XXXXXX")
  log=$results.log
  CI=true "$@" "$drill" run --results "$results" "$scenario_dir/scenario.yaml" >"$log" 2>&1 || code=$?
  if [[ $code -ne 0 && $code -ne 1 ]]; then
    cat "$log" >&2
    die "drill run exited with $code"
  fi
  local doc=$results/bench-steps/latest.json passed
  [[ -f $doc ]] || { cat "$log" >&2; die "no result document"; }
  passed=$(grep -c '"status": "passed"' "$doc" || true)
  if [[ $passed -ne $((steps + 5)) ]]; then
    cat "$log" >&2
    die "$passed passed statuses in $doc, want $((steps + 5))"
  fi
}

# Peak RSS, from a run of its own: GNU time's %M (KiB) when installed (apt
# package `time`), otherwise VmHWM from /proc, sampled until drill exits
# (VmHWM is the high-water mark, so the last value read is the peak up to
# then; the sampling uses shell builtins only, not to load the machine).
if [[ ${RSS_FROM:-} != proc && -x /usr/bin/time ]] && /usr/bin/time -f %M true >/dev/null 2>&1; then
  run_drill /usr/bin/time -o "$work/rss" -f %M
  rss_kb=$(tail -n 1 "$work/rss")
  rss_how="/usr/bin/time %M"
else
  exec {never}<> <(:) # a pipe nobody writes to: read -t on it sleeps without a process
  run_drill &
  pid=$!
  rss_kb=0
  # run_drill is a subshell: its child, drill, is the process to watch.
  while kill -0 "$pid" 2>/dev/null; do
    kids=()
    read -r -a kids <"/proc/$pid/task/$pid/children" 2>/dev/null || true
    for child in "${kids[@]}"; do
      while read -r key value _; do
        if [[ $key == VmHWM: && $value -gt $rss_kb ]]; then rss_kb=$value; fi
      done <"/proc/$child/status" 2>/dev/null || true
    done
    read -r -t 0.01 -u "$never" || true
  done
  wait "$pid" || die "drill run failed"
  rss_how="/proc/PID/status VmHWM, sampled (install the apt package 'time' for an exact figure)"
fi

# Times: drill and the bash loop alternately, REPEAT times each; the fastest
# of each counts, as the least disturbed by whatever else the machine does.
repeat=${REPEAT:-3}
drill_ns='' loop_ns=''
for _ in $(seq "$repeat"); do
  start=$(now_ns)
  run_drill
  end=$(now_ns)
  if [[ -z $drill_ns || $((end - start)) -lt $drill_ns ]]; then drill_ns=$((end - start)); fi

  start=$(now_ns)
  for _ in $(seq "$steps"); do bash -c true; done
  end=$(now_ns)
  if [[ -z $loop_ns || $((end - start)) -lt $loop_ns ]]; then loop_ns=$((end - start)); fi
done
overhead_ns=$(((drill_ns - loop_ns) / steps))

ms() { awk -v ns="$1" 'BEGIN { printf "%.2f", ns / 1e6 }'; }
mb() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }

verdict=0
check() { # name value limit unit
  if awk -v v="$2" -v l="$3" 'BEGIN { exit !(v < l) }'; then
    printf '%-22s %10s %s  (goal < %s %s)  PASS\n' "$1" "$2" "$4" "$3" "$4"
  else
    printf '%-22s %10s %s  (goal < %s %s)  FAIL\n' "$1" "$2" "$4" "$3" "$4"
    verdict=1
  fi
}

echo "steps:                 $steps (fastest of $repeat runs each)"
echo "drill run total:       $(ms "$drill_ns") ms"
echo "bash -c true loop:     $(ms "$loop_ns") ms"
check "overhead per step:" "$(ms "$overhead_ns")" "$max_overhead_ms" ms
check "drill peak RSS:" "$(mb "$rss_kb")" "$max_rss_mb" MB
echo "(peak RSS from $rss_how)"
exit "$verdict"
