#!/usr/bin/env bash
# bench.sh: every performance figure of the README's table, each against
# its baseline measured in the same run, as the median of ROUNDS
# interleaved rounds (drill and its baseline alternate, so a machine that
# gets busier slows both).
#
#   per step beyond one bash       (T200 - bash x 200) / 200
#   the same, results on tmpfs     the same with --results in /dev/shm
#                                  (baseline: creating 200 files on each)
#   drill's own work per step      (T200 - T1) / 199 - one bash
#   one-step drill, whole process  T1 (baseline: one bash)
#   validate / plan / --help       wall time (baseline: /bin/true)
#   peak RSS of the 200-step drill GNU time's %M (baseline: one bash)
#
# T200 and T1 are `drill run` of a scenario (target none, one cycle) of 200
# and of 1 `run: "true"` steps; "one bash" is `bash -euo pipefail -c true`,
# the process each step starts. Then, unless SKIP_KIND=1 or no kind node
# image is set (DRILL_KIND_NODE_IMAGE), the wait and apply figures on a real
# kind cluster (BenchmarkApplyWaitKind in drills/wait), and unless
# SKIP_HISTORY=1 the history figures over 100,000 runs
# (scripts/bench-history.sh; the generated history is kept in
# HISTORY_DIR, default $TMPDIR/drill-bench-history, for the next run).
#
# Exit codes: 0 every goal measured is met, 1 one is not, 2 the benchmark
# could not run.
#
# Environment: ROUNDS (7), STEPS (200), DRILL (a drill binary instead of
# building ./bin/drill), SKIP_KIND, SKIP_HISTORY, HISTORY_DIR.
set -euo pipefail

cd "$(dirname "$0")/.."

rounds=${ROUNDS:-7}
steps=${STEPS:-200}
die() { echo "bench: $*" >&2; exit 2; }
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (apt-get install time): it measures peak memory"

work=$(mktemp -d "${TMPDIR:-/tmp}/drill-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [[ -z ${DRILL:-} ]]; then
  mkdir -p bin
  go build -o bin/drill ./cmd/drill || die "go build failed"
  DRILL=$PWD/bin/drill
fi
# A copy, as `go install` leaves one: the linker writes its output through
# mmap, and on this kernel (large page-cache folios) the freshly linked file
# maps 40 MB more at start-up than the same bytes copied, which is noise in
# the peak RSS, not drill.
drill=$work/drill
cp "$DRILL" "$drill"

# scenario N: a scenario of N steps that do nothing, so what is measured is
# drill.
scenario() {
  local n=$1 dir=$work/s$1
  mkdir -p "$dir"
  {
    cat <<EOF
apiVersion: drill/v1
kind: Scenario
metadata:
  name: bench-$n
  description: $n steps that do nothing, to measure drill's own cost per step.
  owner: bench
spec:
  cycles: 1
  target:
    none: {}
  steps:
EOF
    for i in $(seq -f '%03g' "$n"); do
      printf '    - name: step-%s\n      run: "true"\n' "$i"
    done
  } >"$dir/scenario.yaml"
  echo "$dir/scenario.yaml"
}
s200=$(scenario "$steps")
s1=$(scenario 1)

# timed VAR CMD...: runs CMD with its output in a file, appends its wall
# time in µs to the array VAR. The clock is bash's own EPOCHREALTIME: a
# `date` per reading would cost a process, as much as some of what is
# measured. Exit code 1 of `drill run` is expected: one
# cycle of an untracked scenario does not hold the guideline.
timed() {
  local -n into=$1
  shift
  local start end code=0
  start=${EPOCHREALTIME/./}
  "$@" >"$work/out" 2>&1 || code=$?
  end=${EPOCHREALTIME/./}
  if ((code > 1)); then
    cat "$work/out" >&2
    die "$* exited with $code"
  fi
  into+=($((end - start)))
}

# run_drill SCENARIO: drill run with its results in a fresh folder (drill
# makes it; a mktemp here would be timed too).
runs=0
run_drill() {
  runs=$((runs + 1))
  CI=true "$drill" run --results "$work/results-$runs" "$1"
}

bash_loop() { # N
  for ((i = 0; i < $1; i++)); do bash -euo pipefail -c true; done
}

# The contract gives every step its own log file, and on some disks a new
# file costs as much as drill's whole goal per step (0.15-0.6 ms for the
# inode on this VM's ext4, 8 us on tmpfs). So the 200-step drill is timed
# again with its results on tmpfs, and creating 200 files (bash's own
# redirection, no process) is timed on both as the baseline that says why.
shm=
if [[ -d /dev/shm && -w /dev/shm ]]; then
  shm=$(mktemp -d /dev/shm/drill-bench.XXXXXX)
  trap 'rm -rf "$work" "$shm"' EXIT
fi
run_drill_shm() {
  runs=$((runs + 1))
  CI=true "$drill" run --results "$shm/results-$runs" "$1"
}
create_files() { # DIR N
  mkdir -p "$1"
  for ((i = 0; i < $2; i++)); do : >"$1/f$i.log"; done
}

t200shm=() tcreate=() tcreateshm=() t200=() t1=() tbash=() tbash1=() tvalidate=() tplan=() thelp=() ttrue=() rss=() rssbash=()
run_drill "$s1" >/dev/null 2>&1 || true # warm the page cache
for ((r = 0; r < rounds; r++)); do
  timed t200 run_drill "$s200"
  timed tbash bash_loop "$steps"
  if [[ -n $shm ]]; then
    timed t200shm run_drill_shm "$s200"
    timed tcreate create_files "$work/files-$r" "$steps"
    timed tcreateshm create_files "$shm/files-$r" "$steps"
  fi
  timed t1 run_drill "$s1"
  timed tbash1 bash -euo pipefail -c true
  timed tvalidate "$drill" validate "$s200"
  timed tplan "$drill" plan "$s200"
  timed thelp "$drill" --help
  timed ttrue /bin/true
  runs=$((runs + 1))
  /usr/bin/time -o "$work/rss" -f %M env CI=true "$drill" run --results "$work/results-$runs" "$s200" >/dev/null 2>&1 || true
  rss+=("$(tail -n 1 "$work/rss")")
  /usr/bin/time -o "$work/rss" -f %M bash -euo pipefail -c true
  rssbash+=("$(tail -n 1 "$work/rss")")
done

# The documents of the last 200-step run prove drill ran every step.
doc=$(find "$work" -path '*bench-'"$steps"'/*.json' -newer "$s200" ! -name 'latest.json' ! -name 'index.json' | tail -n 1)
[[ -n $doc ]] || die "no run document of the $steps-step drill"
passed=$(grep -c '"status": "passed"' "$doc" || true)
((passed >= steps)) || die "$doc: $passed passed statuses, want at least $steps"

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
m200=$(median "${t200[@]}") mbash=$(median "${tbash[@]}") m1=$(median "${t1[@]}") mbash1=$(median "${tbash1[@]}")
mval=$(median "${tvalidate[@]}") mplan=$(median "${tplan[@]}") mhelp=$(median "${thelp[@]}") mtrue=$(median "${ttrue[@]}")
mrss=$(median "${rss[@]}") mrssbash=$(median "${rssbash[@]}")
bash_each=$(awk -v b="$mbash" -v n="$steps" 'BEGIN { print b / n }')

verdict=0
# row MEASURE VALUE UNIT GOAL BASELINE: VALUE and GOAL in UNIT (ms or MB).
row() {
  local ok=PASS
  awk -v v="$2" -v g="$4" 'BEGIN { exit !(v <= g) }' || { ok=FAIL; verdict=1; }
  printf '%-44s %9.2f %-3s  goal <= %-6s %s  %s\n' "$1" "$2" "$3" "$4" "$ok" "$5"
}
ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }

echo "drill $("$drill" version 2>/dev/null | head -n 1); median of $rounds interleaved rounds; load $(cut -d' ' -f1-3 /proc/loadavg)"
row "per run step beyond one bash ($steps steps)" "$(awk -v t="$m200" -v b="$mbash" -v n="$steps" 'BEGIN { print (t - b) / n / 1000 }')" ms 0.3 \
  "(drill $(ms "$m200") ms, bash x $steps $(ms "$mbash") ms)"
if [[ -n $shm ]]; then
  m200shm=$(median "${t200shm[@]}") mcreate=$(median "${tcreate[@]}") mcreateshm=$(median "${tcreateshm[@]}")
  row "the same, results on tmpfs (/dev/shm)" "$(awk -v t="$m200shm" -v b="$mbash" -v n="$steps" 'BEGIN { print (t - b) / n / 1000 }')" ms 0.3 \
    "(drill $(ms "$m200shm") ms; a new file costs $(awk -v c="$mcreate" -v n="$steps" 'BEGIN { printf "%.3f", c / n / 1000 }') ms on the results disk, $(awk -v c="$mcreateshm" -v n="$steps" 'BEGIN { printf "%.3f", c / n / 1000 }') ms on tmpfs)"
fi
row "drill's own work per step after its shell" "$(awk -v t="$m200" -v o="$m1" -v b="$bash_each" -v n="$steps" 'BEGIN { print ((t - o) / (n - 1) - b) / 1000 }')" ms 0.2 \
  "(one bash $(ms "$bash_each") ms in the loop)"
row "one-step drill, whole process" "$(ms "$m1")" ms 30 "(one bash alone $(ms "$mbash1") ms)"
row "drill validate ($steps steps)" "$(ms "$mval")" ms 10 "(/bin/true $(ms "$mtrue") ms)"
row "drill plan ($steps steps)" "$(ms "$mplan")" ms 10 "(/bin/true $(ms "$mtrue") ms)"
row "drill --help" "$(ms "$mhelp")" ms 10 "(/bin/true $(ms "$mtrue") ms)"
row "peak RSS of the $steps-step drill" "$(awk -v k="$mrss" 'BEGIN { print k / 1024 }')" MB 40 \
  "(one bash $(awk -v k="$mrssbash" 'BEGIN { printf "%.1f", k / 1024 }') MB; goal if reachable: 30 MB)"

if [[ ${SKIP_KIND:-} == 1 ]]; then
  echo "kind figures: skipped (SKIP_KIND=1)"
elif [[ -z ${DRILL_KIND_NODE_IMAGE:-} ]]; then
  echo "kind figures: not measured (set DRILL_KIND_NODE_IMAGE, see shared/kind-offline)"
else
  echo "kind figures (BenchmarkApplyWaitKind, a namespace and a 2-replica Deployment):"
  out=$(go test -run '^$' -bench '^BenchmarkApplyWaitKind$' -benchtime 1x -timeout 30m ./drills/wait 2>&1) || { echo "$out" >&2; die "BenchmarkApplyWaitKind failed"; }
  line=$(grep '^BenchmarkApplyWaitKind' <<<"$out")
  metric() { awk -v name="$1" '{ for (i = 2; i <= NF; i++) if ($i == name) print $(i - 1) }' <<<"$line"; }
  row "readiness -> wait step finished (median)" "$(metric lag-ms)" ms 10 "(a watch of its own sees readiness first)"
  row "apply + wait, ratio to kubectl (median)" "$(metric ratio)" x 1.0 \
    "(drill $(metric drill-ms) ms, kubectl apply + rollout status $(metric kubectl-ms) ms, $(metric rounds) rounds)"
fi

if [[ ${SKIP_HISTORY:-} == 1 ]]; then
  echo "history figures: skipped (SKIP_HISTORY=1)"
else
  DRILL=$drill scripts/bench-history.sh "${HISTORY_DIR:-${TMPDIR:-/tmp}/drill-bench-history}" || verdict=1
fi
exit "$verdict"
