#!/usr/bin/env bash
# Starts the built service in the background, detached from drill's step so
# it outlives the step, and records its pid for stop.sh.
set -euo pipefail
dir="$DRILL_OUTPUT_APP_DIR"
# setsid(1) (util-linux) gives the service a session of its own. macOS has
# none; nohup alone does there: drill signals a step's process group only
# when it stops that step, and this step exits normally.
detach=(nohup)
if command -v setsid >/dev/null; then
  detach=(setsid nohup)
fi
APP_PORT="$DRILL_OUTPUT_APP_PORT" "${detach[@]}" "$dir/hello" >"$dir/hello.log" 2>&1 < /dev/null &
echo $! >"$dir/hello.pid"
echo "started hello (pid $(cat "$dir/hello.pid")) on port $DRILL_OUTPUT_APP_PORT"
