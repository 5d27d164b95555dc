#!/usr/bin/env bash
# Glass-to-glass WHEP latency with many viewers (docs/benchmarks.md §17): the
# browser test's (a)+(b) — Chromium publishes a timecode canvas over WHIP and a
# second Chromium window measures draw → display over WHEP — while N more WHEP
# viewers (bench's whep-load, str0m) watch the same channel from a release origin.
#   bench/webrtc_latency_under_load.sh [N=99]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-99}
CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} cargo build --release -p origin -p bench
cd tests/browser
FERROCAST_ORIGIN_BIN="$PWD/../../target/release/ferrocast-origin" \
FERROCAST_WHEP_LOAD="$n" \
FERROCAST_WHEP_LOAD_BIN="$PWD/../../target/release/whep-load" \
  node --test --test-name-pattern='^\(a\)' webrtc.test.mjs 2>&1 | grep -E 'RESULT|load viewers|measured with|^# (pass|fail)|not ok'
