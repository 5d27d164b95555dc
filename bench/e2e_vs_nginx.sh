#!/usr/bin/env bash
# e2e_vs_nginx.sh — the end-to-end RTMP ingest bench: ferrocast-origin vs nginx-rtmp.
#
# N paced RTMP publishers (bench's own client, `rtmp-load`) replay one pre-encoded
# H.264+AAC FLV clip at 2.5 Mbit/s each, at real time, for DURATION_S seconds, first
# against nginx with libnginx-mod-rtmp producing HLS, then against ferrocast-origin
# (release build) producing LL-HLS/DASH. Each server's CPU seconds (process tree,
# /proc utime+stime) over the same measurement window give CPU per stream and
# streams per core; the last line is the ratio ferrocast / nginx (goal: >= 2).
#
# usage: bench/e2e_vs_nginx.sh [STREAMS=20] [DURATION_S=30]
# env:   ROUNDS=1 (alternate nginx/ferrocast runs; the ratio uses the medians)
#        WARMUP_S=70 (seconds after the last publisher started before measuring: both
#          servers must be in steady state. ferrocast keeps [packaging] window_s = 30 s
#          in the playlist plus 30 s after it, so for its first minute every received
#          byte lands in fresh memory (page faults ~40 % of its CPU); after that freed
#          segments are reused. nginx writes fragments to files and has no such phase.)  SKIP_NGINX=1  SKIP_FERROCAST=1  KEEP=1 (keep the temp dir)
#        ORIGIN_BIN=path (A/B another ferrocast-origin build; default the release build)
#        CLIP=path.flv (default: target/bench-clip-2500k.flv, made once with ffmpeg)
# Loopback only; every process it starts is killed on exit; everything is bounded.
set -euo pipefail

N=${1:-20}
DURATION=${2:-30}
WARMUP=${WARMUP_S:-70}
ROUNDS=${ROUNDS:-1}
if ! [[ $N =~ ^[0-9]+$ && $N -ge 1 && $N -le 500 ]]; then echo "STREAMS must be 1..500" >&2; exit 2; fi
if ! [[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -ge 1 && $ROUNDS -le 10 ]]; then echo "ROUNDS must be 1..10" >&2; exit 2; fi
if ! [[ $DURATION =~ ^[0-9]+$ && $DURATION -ge 5 && $DURATION -le 600 ]]; then echo "DURATION_S must be 5..600" >&2; exit 2; fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
CLIP=${CLIP:-$TARGET/bench-clip-2500k.flv}
NGINX_MODULE=/usr/lib/nginx/modules/ngx_rtmp_module.so
TMP=$(mktemp -d /tmp/ferrocast-e2e.XXXXXX)
LIVE_PID="" # the one server running now (never a stale, possibly reused pid)

cleanup() {
  if [[ -n $LIVE_PID ]]; then kill "$LIVE_PID" 2>/dev/null || true; wait "$LIVE_PID" 2>/dev/null || true; fi
  if [[ -z ${KEEP:-} ]]; then rm -rf "$TMP"; else echo "kept $TMP" >&2; fi
}
trap cleanup EXIT INT TERM

# shellcheck source=bench/lib/ports.sh
source "$ROOT/bench/lib/ports.sh"
# shellcheck source=bench/lib/stats.sh
source "$ROOT/bench/lib/stats.sh"

echo "== build (release)" >&2
CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} cargo build --release -q -p bench $( [[ -z ${SKIP_FERROCAST:-} ]] && echo "-p origin" ) --manifest-path "$ROOT/Cargo.toml"
LOAD=$TARGET/release/rtmp-load

if [[ ! -s $CLIP ]]; then
  echo "== encoding the 10 s 2.5 Mbit/s clip once: $CLIP" >&2
  mkdir -p "$(dirname "$CLIP")"
  timeout 300 ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 \
    -t 10 -vf noise=alls=12:allf=t \
    -c:v libx264 -preset veryfast -b:v 2372k -maxrate 2500k -bufsize 5000k \
    -g 60 -keyint_min 60 -sc_threshold 0 -bf 2 -c:a aac -b:a 128k -f flv "$CLIP.tmp"
  mv "$CLIP.tmp" "$CLIP"
fi

load() { # url-base key-prefix pid name
  timeout $((DURATION + WARMUP + 90)) "$LOAD" --clip "$CLIP" --url-base "$1" --key-prefix "$2" \
    --streams "$N" --duration "$DURATION" --warmup "$WARMUP" --pid "$3" --name "$4" | tail -n 1
}

run_nginx() {
  [[ -f $NGINX_MODULE ]] || { echo "missing $NGINX_MODULE: apt-get install nginx libnginx-mod-rtmp" >&2; exit 1; }
  NP=$(pick_port)
  rm -rf "$TMP/nginx"; mkdir -p "$TMP/nginx/hls"
  # As root, nginx workers would drop to an unprivileged user that cannot write
  # into our private temp dir; keep them as the invoking user instead.
  USER_LINE=""; [[ $EUID -eq 0 ]] && USER_LINE="user root;"
  cat >"$TMP/nginx/nginx.conf" <<CONF
$USER_LINE
daemon off;
master_process on;
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
load_module $NGINX_MODULE;
events { worker_connections 4096; }
rtmp {
  server {
    listen 127.0.0.1:$NP;
    chunk_size 4096;
    application live { live on; record off; hls on; hls_path $TMP/nginx/hls; hls_fragment 2s; }
  }
}
CONF
  echo "== nginx-rtmp on 127.0.0.1:$NP, $N streams, ${DURATION}s" >&2
  nginx -p "$TMP/nginx" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf" &
  NGINX_PID=$!
  LIVE_PID=$NGINX_PID
  wait_listen "$NP" "$NGINX_PID" nginx
  local r
  r=$(load "rtmp://127.0.0.1:$NP/live" benchkey- "$NGINX_PID" nginx)
  echo "$r"
  NGINX_RESULTS+=("$r")
  local ok=0 i
  for i in $(seq 0 $((N - 1))); do
    grep -q '#EXTINF' "$TMP/nginx/hls/benchkey-$i.m3u8" 2>/dev/null && ok=$((ok + 1))
  done
  echo "nginx: $ok/$N HLS playlists with segments" >&2
  kill "$NGINX_PID"; wait "$NGINX_PID" 2>/dev/null || true
  LIVE_PID=""
}

run_ferrocast() {
  rm -rf "$TMP/data"
  local RP HP
  RP=$(pick_port); HP=$(pick_port)
  {
    printf '[http]\nlisten = "127.0.0.1:%s"\n[rtmp]\nlisten = "127.0.0.1:%s"\n' "$HP" "$RP"
    printf '[http3]\nlisten = "127.0.0.1:%s"\n[srt]\nlisten = "127.0.0.1:%s"\n' "$(pick_port)" "$(pick_port)"
    printf '[webrtc]\nudp_listen = "127.0.0.1:%s"\n[storage]\ndata_dir = "%s"\n' "$(pick_port)" "$TMP/data"
    for i in $(seq 0 $((N - 1))); do printf '[[channels]]\nname = "ch%s"\nstream_key = "benchkey-%s"\n' "$i" "$i"; done
  } >"$TMP/origin.toml"
  echo "== ferrocast-origin rtmp 127.0.0.1:$RP http 127.0.0.1:$HP, $N streams, ${DURATION}s" >&2
  RUST_LOG=${RUST_LOG:-warn} "${ORIGIN_BIN:-$TARGET/release/ferrocast-origin}" --config "$TMP/origin.toml" >"$TMP/origin.out" 2>"$TMP/origin.log" &
  ORIGIN_PID=$!
  LIVE_PID=$ORIGIN_PID
  wait_listen "$RP" "$ORIGIN_PID" ferrocast-origin
  local r
  r=$(load "rtmp://127.0.0.1:$RP/live" benchkey- "$ORIGIN_PID" ferrocast)
  echo "$r"
  FERRO_RESULTS+=("$r")
  local ok=0 i
  for i in $(seq 0 $((N - 1))); do
    curl -sf --max-time 5 "http://127.0.0.1:$HP/live/ch$i/video0/index.m3u8" | grep -q '#EXTINF' && ok=$((ok + 1))
  done
  echo "ferrocast: $ok/$N LL-HLS playlists with segments" >&2
  kill -TERM "$ORIGIN_PID"; wait "$ORIGIN_PID" 2>/dev/null || true
  LIVE_PID=""
}

NGINX_RESULTS=() FERRO_RESULTS=()
for round in $(seq "$ROUNDS"); do
  echo "== round $round/$ROUNDS" >&2
  [[ -n ${SKIP_NGINX:-} ]] || run_nginx
  [[ -n ${SKIP_FERROCAST:-} ]] || run_ferrocast
done

if (( ${#NGINX_RESULTS[@]} && ${#FERRO_RESULTS[@]} )); then
  f=$(values streams_per_core "${FERRO_RESULTS[@]}" | median); n=$(values streams_per_core "${NGINX_RESULTS[@]}" | median)
  fc=$(values cpu_pct_per_stream "${FERRO_RESULTS[@]}" | median); nc=$(values cpu_pct_per_stream "${NGINX_RESULTS[@]}" | median)
  awk -v f="$f" -v n="$n" -v fc="$fc" -v nc="$nc" -v s="$N" -v r="$ROUNDS" 'BEGIN {
    printf "CPU per stream (%% of one core, median of %d): ferrocast %s, nginx-rtmp %s\n", r, fc, nc
    printf "RATIO streams_per_core ferrocast/nginx = %.2f  (streams=%s; goal >= 2)\n", (n > 0 ? f / n : 0), s }'
fi
