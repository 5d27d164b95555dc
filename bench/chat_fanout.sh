#!/usr/bin/env bash
# chat_fanout.sh — issue 4's chat fan-out bench: a release ferrocast-origin on
# loopback, one channel, CLIENTS WebSocket readers (default 5,000) and RATE
# messages per second (default 50) for DURATION_S seconds (default 20), after a
# baseline phase with 10 readers in the same run. Prints delivery p50/p99/max and
# the origin's CPU for both phases, and their ratio.
#
# usage: bench/chat_fanout.sh [CLIENTS] [RATE] [DURATION_S]
# Loopback only; the origin is stopped on exit.
set -euo pipefail
CLIENTS=${1:-5000}
RATE=${2:-50}
DURATION=${3:-20}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
# shellcheck source=bench/lib/ports.sh
source "$ROOT/bench/lib/ports.sh"
[[ -n ${SKIP_BUILD:-} ]] || CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} cargo build --release -q -p origin -p bench --manifest-path "$ROOT/Cargo.toml"
TMP=$(mktemp -d /tmp/ferrocast-chat-bench.XXXXXX)
ORIGIN_PID=""
cleanup() { [[ -z $ORIGIN_PID ]] || { kill "$ORIGIN_PID" 2>/dev/null || true; wait "$ORIGIN_PID" 2>/dev/null || true; }; rm -rf "$TMP"; }
trap cleanup EXIT INT TERM
HTTP=$(pick_port); RTMP=$(pick_port)
cat >"$TMP/origin.toml" <<TOML
[http]
listen = "127.0.0.1:$HTTP"
[http3]
listen = "127.0.0.1:$(pick_port)"
[rtmp]
listen = "127.0.0.1:$RTMP"
[srt]
listen = "127.0.0.1:$(pick_port)"
[webrtc]
udp_listen = "127.0.0.1:$(pick_port)"
[storage]
data_dir = "$TMP/data"
[[channels]]
name = "bench"
stream_key = "chat-bench-key-123"
TOML
RUST_LOG=warn "$TARGET/release/ferrocast-origin" --config "$TMP/origin.toml" >"$TMP/origin.out" 2>"$TMP/origin.log" &
ORIGIN_PID=$!
wait_listen "$HTTP" "$ORIGIN_PID" ferrocast-origin
"$TARGET/release/chat-load" --url "http://127.0.0.1:$HTTP" --channel bench --origin-pid "$ORIGIN_PID" \
  --clients "$CLIENTS" --rate "$RATE" --duration-s "$DURATION"
