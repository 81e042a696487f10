#!/usr/bin/env bash
# Stops the service started by start.sh, and waits until it is gone so the
# next cycle can take the port again. Nothing to stop is not an error:
# teardown runs after failures too.
set -euo pipefail
pidfile="${DRILL_OUTPUT_APP_DIR:-/nonexistent}/hello.pid"
if [ ! -f "$pidfile" ]; then
  echo "no pid file: nothing to stop"
  exit 0
fi
pid=$(cat "$pidfile")
if kill "$pid" 2>/dev/null; then
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  echo "stopped hello (pid $pid)"
else
  echo "hello (pid $pid) was not running"
fi
rm -f "$pidfile"
