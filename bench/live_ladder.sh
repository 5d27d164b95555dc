#!/usr/bin/env bash
# live_ladder.sh — how many live 1080p30 → 720p/480p/360p ladders stay real time on
# this machine, and what one costs (issue 7).
#
# N publishers send the same pre-encoded 1080p30 H.264 + AAC clip over RTMP
# (ffmpeg `-re -stream_loop -1 -c copy`, so the publishers do no encoding) to
# ferrocast-origin (release build) with the ladder on for every channel (the
# default ladder: 720p 2800k, 480p 1400k, 360p 800k; x264 preset PRESET). For
# N = 1, 2, … up to MAX_N, after a warm-up, over a window of DURATION_S:
#
# - the origin's CPU seconds (/proc utime+stime of its process tree) per media
#   second per stream;
# - each channel's ferrocast_ladder_realtime_factor (media seconds per second of
#   encoding work over the last 5 s; sampled every 5 s, the minimum is kept),
#   ferrocast_ladder_shed_total and ferrocast_ladder_input_dropped_total (both
#   counted from the publishers' start) and the 360p playlist advancing.
#
# N is real time when every channel's ladder sheds nothing, drops nothing, keeps
# RTF >= 1 and its 360p rendition advances. The run stops after the first N that
# is not. Baselines measured in the same run:
#
# - ladder off: the origin with one channel and no ladder (ingest + packaging of
#   the source only), so the ladder's own cost is the difference;
# - the ffmpeg CLI doing the same ladder on the same clip in real time (`-re`):
#   one decode, `split` + `scale` (bicubic, as ours), libx264 with the same options
#   (preset, profile high, maxrate = bitrate, bufsize = 2 x bitrate, no scene cuts,
#   IDRs at the source's key frames with `-force_key_frames source`), every output
#   to `-f null`, no audio (the live ladder passes audio through). Its CPU seconds
#   per media second against the ladder's is the last line.
#
# usage: bench/live_ladder.sh [MAX_N=4] [DURATION_S=30]
# env:   WARMUP_S=15  PRESET=veryfast  KEEP=1 (keep the temp dir with the logs)
#        ORIGIN_BIN=path (default: builds and uses the release build)
#        CLIP=path.flv (default target/bench-clip-1080p30.flv, encoded once)
# Loopback only; every process it starts is killed on exit; everything is bounded.
set -euo pipefail

MAX_N=${1:-4}
DURATION=${2:-30}
WARMUP=${WARMUP_S:-15}
PRESET=${PRESET:-veryfast}
if ! [[ $MAX_N =~ ^[0-9]+$ && $MAX_N -ge 1 && $MAX_N -le 16 ]]; then echo "MAX_N must be 1..16" >&2; exit 2; fi
if ! [[ $DURATION =~ ^[0-9]+$ && $DURATION -ge 10 && $DURATION -le 600 ]]; then echo "DURATION_S must be 10..600" >&2; exit 2; fi
if ! [[ $WARMUP =~ ^[0-9]+$ && $WARMUP -ge 5 && $WARMUP -le 300 ]]; then echo "WARMUP_S must be 5..300" >&2; exit 2; fi
if ! [[ $PRESET =~ ^(ultrafast|superfast|veryfast|faster|fast|medium|slow|slower|veryslow)$ ]]; then echo "PRESET must be an x264 preset" >&2; exit 2; fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
CLIP=${CLIP:-$TARGET/bench-clip-1080p30.flv}
TMP=$(mktemp -d /tmp/ferrocast-ladder.XXXXXX)
# shellcheck source=bench/lib/procs.sh
source "$ROOT/bench/lib/procs.sh"

# shellcheck source=bench/lib/ports.sh
source "$ROOT/bench/lib/ports.sh"
# shellcheck source=bench/lib/stats.sh
source "$ROOT/bench/lib/stats.sh"
# shellcheck source=bench/lib/cpu.sh
source "$ROOT/bench/lib/cpu.sh"
TCK=$(clk_tck)

if [[ -z ${ORIGIN_BIN:-} ]]; then
  echo "== build (release)" >&2
  CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} timeout 3600 cargo build --release -q -p origin --manifest-path "$ROOT/Cargo.toml"
fi
cp "${ORIGIN_BIN:-$TARGET/release/ferrocast-origin}" "$TMP/ferrocast-origin"
ORIGIN=$TMP/ferrocast-origin

if [[ ! -s $CLIP ]]; then
  echo "== encoding the 60 s 1080p30 clip once: $CLIP" >&2
  mkdir -p "$(dirname "$CLIP")"
  # Temporal noise makes the decoder and the encoders work as on camera footage;
  # GOP 60 = 2 s = the segment target; 2 B-frames, as OBS and ffmpeg send them.
  timeout 900 ffmpeg -nostdin -hide_banner -loglevel error -y \
    -f lavfi -i testsrc2=size=1920x1080:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 \
    -t 60 -vf noise=alls=8:allf=t -pix_fmt yuv420p \
    -c:v libx264 -preset veryfast -b:v 6000k -maxrate 6000k -bufsize 12000k \
    -g 60 -keyint_min 60 -sc_threshold 0 -bf 2 -c:a aac -b:a 128k -f flv "$CLIP.tmp"
  mv "$CLIP.tmp" "$CLIP"
fi
echo "== clip: $CLIP ($(stat -c %s "$CLIP") bytes), preset $PRESET, warm-up ${WARMUP}s, window ${DURATION}s" >&2

now() { date +%s.%N; }
metrics() { curl -sf --max-time 5 "http://127.0.0.1:$HP/metrics" || true; }
# Sum of a metric's samples for channel ch$1 (any other labels), 0 when absent.
metric() { # channel-index name metrics-text
  awk -v want="$2" -v ch="ch$1" '$1 ~ "^"want"\\{" && index($1, "channel=\"" ch "\"") { s += $NF; found = 1 }
    END { printf "%s", (found ? s : 0) }' <<<"$3"
}
# Next msn of ch$1's 360p playlist (-1 when it cannot be fetched).
msn360() {
  curl -sf --max-time 5 "http://127.0.0.1:$HP/live/ch$1/360p/index.m3u8" |
    awk -F: '/^#EXT-X-MEDIA-SEQUENCE:/ { s = $2 } /^#EXTINF:/ { n++ } END { printf "%d", (s == "" ? -1 : s + n) }' || echo -1
}

pick_ports() { # sets HP RP SP H3P WP
  local -a got=()
  local p lo
  lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  ((lo > 21000)) || lo=60000
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % (lo - 20000)))
    if [[ " ${got[*]} " != *" $p "* ]] && port_free "$p" && [[ -z $(ss -Hatun "sport = :$p" 2>/dev/null) ]]; then got+=("$p"); fi
    ((${#got[@]} < 5)) || break
  done
  ((${#got[@]} == 5)) || { echo "no free ports" >&2; exit 1; }
  HP=${got[0]} RP=${got[1]} SP=${got[2]} H3P=${got[3]} WP=${got[4]}
}

start_origin() { # name channels ladder(true|false); sets ORIGIN_PID
  local name=$1 n=$2 ladder=$3 i
  local -a unset_env=()
  while read -r v; do unset_env+=(-u "$v"); done < <(compgen -e | grep '^FERROCAST_' || true)
  for _ in 1 2 3; do
    pick_ports
    rm -rf "${TMP:?}/$name"; mkdir -p "$TMP/$name/data"
    {
      printf '[http]\nlisten = "127.0.0.1:%s"\n[rtmp]\nlisten = "127.0.0.1:%s"\n' "$HP" "$RP"
      printf '[srt]\nlisten = "127.0.0.1:%s"\n[http3]\nlisten = "127.0.0.1:%s"\n' "$SP" "$H3P"
      printf '[webrtc]\nudp_listen = "127.0.0.1:%s"\n' "$WP"
      printf '[storage]\ndata_dir = "%s"\n[packaging]\nwindow_s = 12.0\n' "$TMP/$name/data"
      printf '[ladder]\nlive_default = %s\npreset = "%s"\n' "$ladder" "$PRESET"
      for i in $(seq 0 $((n - 1))); do printf '[[channels]]\nname = "ch%s"\nstream_key = "benchkey-%s"\n' "$i" "$i"; done
    } >"$TMP/$name/origin.toml"
    env "${unset_env[@]}" RUST_LOG="${RUST_LOG:-warn}" "$ORIGIN" --config "$TMP/$name/origin.toml" \
      >"$TMP/$name/origin.out" 2>"$TMP/$name/origin.log" &
    ORIGIN_PID=$!
    LIVE_PIDS=("$ORIGIN_PID")
    if wait_listen "$RP" "$ORIGIN_PID" ferrocast-origin && wait_listen "$HP" "$ORIGIN_PID" ferrocast-origin; then return 0; fi
    stop_pids "$ORIGIN_PID"; LIVE_PIDS=()
    tail -n 5 "$TMP/$name/origin.log" >&2
    grep -q 'Address already in use' "$TMP/$name/origin.log" || exit 1
  done
  exit 1
}

# One run of N streams; prints a RESULT line and sets REALTIME=1/0.
run() { # n ladder(true|false)
  local n=$1 ladder=$2 name i
  name="n$n-$ladder"
  start_origin "$name" "$n" "$ladder"
  local origin=$ORIGIN_PID
  echo "== $n stream(s), ladder $ladder: origin http 127.0.0.1:$HP rtmp :$RP" >&2
  local -a pubs=()
  local limit=$((WARMUP + DURATION + 60))
  for i in $(seq 0 $((n - 1))); do
    timeout -k 5 "$limit" ffmpeg -nostdin -hide_banner -loglevel warning -re -stream_loop -1 -i "$CLIP" \
      -c copy -f flv "rtmp://127.0.0.1:$RP/live/benchkey-$i" >"$TMP/$name/pub-$i.log" 2>&1 &
    pubs+=($!)
    LIVE_PIDS+=($!)
    sleep 0.7
  done
  nap "$WARMUP"
  local t0 c0 t1 c1 m0=() m1=() rtf_min=() m
  for i in $(seq 0 $((n - 1))); do m0+=("$(msn360 "$i")"); rtf_min+=(999); done
  t0=$(now); c0=$(tree_ticks "$origin")
  local end; end=$(awk -v t="$t0" -v d="$DURATION" 'BEGIN { printf "%d", t + d }')
  while (($(date +%s) < end)); do
    nap 5
    if [[ $ladder == true ]]; then
      m=$(metrics)
      for i in $(seq 0 $((n - 1))); do
        rtf_min[i]=$(awk -v a="${rtf_min[i]}" -v b="$(metric "$i" ferrocast_ladder_realtime_factor "$m")" 'BEGIN { print (b < a ? b : a) }')
      done
    fi
  done
  t1=$(now); c1=$(tree_ticks "$origin")
  m=$(metrics)
  local shed=0 dropped=0 ok=0 rtf_all=999 stuck=0
  for i in $(seq 0 $((n - 1))); do
    m1+=("$(msn360 "$i")")
    local s d r
    s=$(metric "$i" ferrocast_ladder_shed_total "$m"); d=$(metric "$i" ferrocast_ladder_input_dropped_total "$m")
    r=${rtf_min[i]}
    shed=$(awk -v a="$shed" -v b="$s" 'BEGIN { print a + b }'); dropped=$(awk -v a="$dropped" -v b="$d" 'BEGIN { print a + b }')
    rtf_all=$(awk -v a="$rtf_all" -v b="$r" 'BEGIN { print (b < a ? b : a) }')
    if [[ $ladder == false ]]; then
      ok=$((ok + 1)) # nothing to judge: the baseline for the ladder's cost
    elif ((m1[i] <= m0[i] || m0[i] < 0)); then
      stuck=$((stuck + 1))
    elif awk -v s="$s" -v d="$d" -v r="$r" 'BEGIN { exit !(s == 0 && d == 0 && r >= 1) }'; then
      ok=$((ok + 1))
    fi
  done
  kill -0 "$origin" 2>/dev/null || echo "the origin died; see $TMP/$name/origin.log (KEEP=1)" >&2
  [[ $ladder == true ]] || rtf_all=0
  local load1; load1=$(cut -d' ' -f1 /proc/loadavg)
  awk -v n="$n" -v ladder="$ladder" -v tck="$TCK" -v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" \
    -v ok="$ok" -v shed="$shed" -v dropped="$dropped" -v rtf="$rtf_all" -v stuck="$stuck" -v load1="$load1" 'BEGIN {
      w = t1 - t0; cpu = (c1 - c0) / tck
      printf "RESULT streams=%d ladder=%s realtime_ok=%d/%d rtf_min=%.2f shed=%d input_dropped=%d not_advancing=%d", n, ladder, ok, n, rtf, shed, dropped, stuck
      printf " window_s=%.1f origin_cpu_s=%.2f cpu_s_per_media_s_per_stream=%.3f load1=%s\n", w, cpu, cpu / w / n, load1 }' | tee -a "$TMP/results"
  REALTIME=$((ok == n))
  stop_pids "${pubs[@]}" "$origin"
  LIVE_PIDS=()
}

# The ffmpeg CLI running the same ladder in real time; prints a RESULT line.
cli_baseline() {
  local out
  x264() { # bitrate_k
    printf '%s\n' -c:v libx264 -preset "$PRESET" -profile:v high -b:v "${1}k" -maxrate "${1}k" \
      -bufsize "$((2 * $1))k" -g 600 -sc_threshold 0 -forced-idr 1 -force_key_frames source -f null -
  }
  local -a args=(ffmpeg -nostdin -hide_banner -loglevel error -re -stream_loop -1 -i "$CLIP" -an
    -t "$((WARMUP + DURATION + 5))"
    -filter_complex "[0:v]split=3[a1][a2][a3];[a1]scale=1280:720[v1];[a2]scale=854:480[v2];[a3]scale=640:360[v3]")
  for out in "v1 2800" "v2 1400" "v3 800"; do
    mapfile -t opts < <(x264 "${out#* }")
    args+=(-map "[${out% *}]" "${opts[@]}")
  done
  echo "== ffmpeg CLI: the same ladder on the same clip, -re" >&2
  timeout -k 5 $((WARMUP + DURATION + 60)) "${args[@]}" >"$TMP/cli.log" 2>&1 &
  local pid=$!
  LIVE_PIDS=("$pid")
  nap "$WARMUP"
  local t0 c0 t1 c1
  t0=$(now); c0=$(tree_ticks "$pid")
  nap "$DURATION"
  t1=$(now); c1=$(tree_ticks "$pid")
  kill -0 "$pid" 2>/dev/null || { echo "the ffmpeg CLI ended early:" >&2; tail -5 "$TMP/cli.log" >&2; }
  awk -v tck="$TCK" -v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" 'BEGIN {
    w = t1 - t0; cpu = (c1 - c0) / tck
    printf "RESULT cli_ladder window_s=%.1f cpu_s=%.2f cpu_s_per_media_s=%.3f\n", w, cpu, cpu / w }' | tee -a "$TMP/results"
  stop_pids "$pid"
  LIVE_PIDS=()
}

touch "$TMP/results"
cli_baseline
run 1 false
BEST=0
for n in $(seq 1 "$MAX_N"); do
  run "$n" true
  if ((REALTIME)); then BEST=$n; else break; fi
done

# The summary, from the RESULT lines.
get() { # pattern key
  awk -v p="$1" -v k="$2" 'index($0, p) { for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) v = substr($i, length(k) + 2) } END { print v }' "$TMP/results"
}
cli=$(get cli_ladder cpu_s_per_media_s)
off=$(get "streams=1 ladder=false" cpu_s_per_media_s_per_stream)
one=$(get "streams=1 ladder=true" cpu_s_per_media_s_per_stream)
awk -v best="$BEST" -v max="$MAX_N" -v cli="$cli" -v off="$off" -v one="$one" -v preset="$PRESET" 'BEGIN {
  printf "largest N with every ladder real time (no shed, no drop, RTF >= 1): %d%s\n", best, (best == max ? " (the most tried: raise MAX_N)" : "")
  printf "per ladder (N=1): origin %.3f CPU-s per media-s with the ladder, %.3f without: the ladder costs %.3f\n", one, off, one - off
  printf "ffmpeg CLI, same ladder (preset %s): %.3f CPU-s per media-s\n", preset, cli
  if (cli > 0) printf "ratio ours/cli = %.2f (ladder only: %.2f)\n", one / cli, (one - off) / cli }'
