#!/usr/bin/env bash
# Starts the built service in the background, detached from drill's step so
# it outlives the step, and records its pid for stop.sh.
set -euo pipefail
dir="$DRILL_OUTPUT_APP_DIR"
APP_PORT="$DRILL_OUTPUT_APP_PORT" setsid nohup "$dir/hello" >"$dir/hello.log" 2>&1 < /dev/null &
echo $! >"$dir/hello.pid"
echo "started hello (pid $(cat "$dir/hello.pid")) on port $DRILL_OUTPUT_APP_PORT"
