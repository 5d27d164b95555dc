# shellcheck shell=bash
# Process bookkeeping for bench scripts: every pid a script starts goes into
# LIVE_PIDS until reaped (never a stale, possibly reused pid), `nap` sleeps so that
# a signal interrupts it at once (the trap runs during `wait`, not after sleep),
# and the EXIT trap stops everything and removes $TMP (unless KEEP is set).
# Source it after setting TMP.

LIVE_PIDS=()

stop_pids() { # TERM, up to 5 s grace, then KILL; reaps them
  local p alive
  (($#)) || return 0
  for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 50); do
    alive=0
    for p in "$@"; do if kill -0 "$p" 2>/dev/null; then alive=1; fi; done
    ((alive)) || break
    sleep 0.1
  done
  for p in "$@"; do kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
}
NAP_PID=""
nap() { sleep "$1" & NAP_PID=$!; wait "$NAP_PID" || true; NAP_PID=""; }
cleanup() {
  [[ -z $NAP_PID ]] || stop_pids "$NAP_PID"
  stop_pids "${LIVE_PIDS[@]}"
  LIVE_PIDS=()
  if [[ -z ${KEEP:-} ]]; then rm -rf "$TMP"; else echo "kept $TMP" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
