#!/usr/bin/env bash
# bench-history.sh: time `drill status` and `drill report --format html`
# over a generated history of 100,000 run documents, and report wall time
# and peak memory (the goals: at most 0.2 s and 80 MB each on a 2-core
# machine).
#
# usage: scripts/bench-history.sh [RESULTS_DIR]
#
# RESULTS_DIR is generated (10 scenarios x 10,000 runs, about 1 GB, about a
# minute and a half) unless it already holds a generated history; pass the
# same folder again to skip generating. RUNS and SCENARIOS override the
# size. Needs GNU time (/usr/bin/time, Debian package "time").
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS=${RUNS:-100000}
SCENARIOS=${SCENARIOS:-10}
LIMIT_S=0.2
LIMIT_KB=$((80 * 1024))

if [[ ! -x /usr/bin/time ]]; then
	echo "bench-history: /usr/bin/time is missing (apt-get install time)" >&2
	exit 3
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dir=${1:-$work/results}

echo "building drill and benchhistory..."
# Copied after the build, as bench.sh does: a freshly linked binary maps
# more pages at start-up on this kernel than the same bytes copied.
go build -o "$work/drill.linked" ./cmd/drill
cp "$work/drill.linked" "$work/drill"
go build -o "$work/benchhistory" ./scripts/benchhistory

if [[ -f "$dir/.bench-generated-$RUNS-$SCENARIOS" ]]; then
	echo "using the history already generated in $dir"
else
	echo "generating $RUNS run documents of $SCENARIOS scenarios in $dir..."
	"$work/benchhistory" gen -dir "$dir" -runs "$RUNS" -scenarios "$SCENARIOS"
	touch "$dir/.bench-generated-$RUNS-$SCENARIOS"
fi
echo "documents: $(find "$dir" -name '*.json' ! -name latest.json ! -name index.json | wc -l), $(du -sh "$dir" | cut -f1)"

failed=0
# measure NAME COMMAND...: runs the command three times (the first warms
# the page cache) and prints wall time and peak RSS of each run.
measure() {
	local name=$1
	shift
	for i in 1 2 3; do
		local rc=0
		/usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/out" 2>"$work/err" || rc=$?
		# The last line is ours; /usr/bin/time may add "Command exited
		# with non-zero status" before it.
		local secs kb
		secs=$(tail -n 1 "$work/time" | cut -d' ' -f1)
		kb=$(tail -n 1 "$work/time" | cut -d' ' -f2)
		local verdict=ok
		if ((rc >= 2)); then
			verdict="NOT MEASURED (the command failed)"
			failed=1
		elif awk -v s="$secs" -v l="$LIMIT_S" 'BEGIN{exit !(s > l)}' || ((kb > LIMIT_KB)); then
			verdict=OVER
			failed=1
		fi
		printf '%-34s run %d: %6.2f s  %7.1f MB peak  exit %d  %s\n' "$name" "$i" "$secs" "$(awk -v k="$kb" 'BEGIN{print k/1024}')" "$rc" "$verdict"
		if ((rc >= 2)); then
			sed -n '1,5p' "$work/err" | sed 's/^/    /'
		fi
	done
}

measure "drill status" "$work/drill" --results "$dir" status
measure "drill status -o json" "$work/drill" --results "$dir" status -o json
measure "drill report --format html" "$work/drill" --results "$dir" report --format html
# The same entry points without the CLI around them (results.Histories +
# Summarize; report.Load + report.Write), for comparison.
measure "library: status" "$work/benchhistory" status -dir "$dir"
measure "library: report html" "$work/benchhistory" report -dir "$dir" -format html

echo "html report size: $("$work/benchhistory" report -dir "$dir" -format html 2>/dev/null | wc -c) bytes"
if ((failed)); then
	echo "bench-history: some run took more than ${LIMIT_S} s or ${LIMIT_KB} KB" >&2
	exit 1
fi
