#!/usr/bin/env bash
# srt_vs_rtmp.sh — the origin's CPU per ingested stream, SRT vs RTMP (issue 5).
#
# N publishers send the same pre-encoded H.264+AAC clip (~4 Mbit/s in total) at real
# time to ferrocast-origin (release build) over loopback, once over SRT (MPEG-TS) and
# once over RTMP (FLV). Both sides use ffmpeg `-re -stream_loop -1 -c copy`, the SRT
# one from a .ts and the RTMP one from an .flv remuxed from the same encode, so the
# publishers differ only in the protocol and container. After a warm-up, the origin's
# CPU seconds (/proc utime+stime of its process tree) over the same window give CPU per
# stream for each protocol; the last line is the ratio srt / rtmp (goal: <= 1.5).
# The publishers' own CPU is reported but not counted.
#
# Validity, per protocol and channel, over the window: the master playlist lists a
# variant, the video media playlist advanced (media sequence + segments grew), and the
# origin's ferrocast_ingest_bytes_total grew by at least 90 % of the clip's media
# bitrate — so a protocol that silently drops data cannot look cheap. Failures are
# counted in the RESULT line (channels_ok=K/N); the script exits 1 if any channel failed.
#
# usage: bench/srt_vs_rtmp.sh [STREAMS=20] [DURATION_S=30]
# env:   ROUNDS=1 (alternating runs, SRT first in odd rounds and RTMP first in even
#          ones; the ratio uses the medians)
#        WARMUP_S=25 (seconds after the last publisher started before measuring. The
#          origin keeps [packaging] window_s of segments in the playlist plus as long
#          again after it; until that memory has filled, every received byte lands in
#          fresh pages (page faults; docs/benchmarks.md section 1). This bench sets
#          window_s = WINDOW_S = 6 (the minimum: 3 segments of 2 s), so ~14 s of media
#          are held and 25 s is steady state; with window_s = 30 use WARMUP_S=70.)
#        WINDOW_S=6  SRT_LATENCY_MS=120 (origin's [srt] latency_ms and the callers')
#        SKIP_SRT=1  SKIP_RTMP=1  KEEP=1 (keep the temp dir: origin and ffmpeg logs)
#        ORIGIN_BIN=path (another ferrocast-origin build; default: builds and uses the
#          release build)
#        CLIP=path-without-extension (default target/bench-clip-4000k; .ts and .flv are
#          made once with ffmpeg when missing)
#        PERF_S=0 (when > 0: after each measurement window, `perf record -g` the origin
#          for PERF_S seconds and print its top symbols; not part of the CPU numbers)
# Loopback only; every process it starts is killed on exit; everything is bounded.
set -euo pipefail

N=${1:-20}
DURATION=${2:-30}
WARMUP=${WARMUP_S:-25}
ROUNDS=${ROUNDS:-1}
WINDOW=${WINDOW_S:-6}
LATENCY_MS=${SRT_LATENCY_MS:-120}
PERF_S=${PERF_S:-0}
if ! [[ $N =~ ^[0-9]+$ && $N -ge 1 && $N -le 100 ]]; then echo "STREAMS must be 1..100" >&2; exit 2; fi
if ! [[ $DURATION =~ ^[0-9]+$ && $DURATION -ge 5 && $DURATION -le 600 ]]; then echo "DURATION_S must be 5..600" >&2; exit 2; fi
if ! [[ $WARMUP =~ ^[0-9]+$ && $WARMUP -ge 3 && $WARMUP -le 600 ]]; then echo "WARMUP_S must be 3..600" >&2; exit 2; fi
if ! [[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -ge 1 && $ROUNDS -le 10 ]]; then echo "ROUNDS must be 1..10" >&2; exit 2; fi
if ! [[ $WINDOW =~ ^[0-9]+$ && $WINDOW -ge 6 && $WINDOW -le 120 ]]; then echo "WINDOW_S must be 6..120" >&2; exit 2; fi
if ! [[ $LATENCY_MS =~ ^[0-9]+$ && $LATENCY_MS -ge 20 && $LATENCY_MS -le 10000 ]]; then echo "SRT_LATENCY_MS must be 20..10000" >&2; exit 2; fi
if ! [[ $PERF_S =~ ^[0-9]+$ && $PERF_S -le 120 ]]; then echo "PERF_S must be 0..120" >&2; exit 2; fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
CLIP=${CLIP:-$TARGET/bench-clip-4000k}
TMP=$(mktemp -d /tmp/ferrocast-srt.XXXXXX)
# shellcheck source=bench/lib/procs.sh
source "$ROOT/bench/lib/procs.sh"

# shellcheck source=bench/lib/ports.sh
source "$ROOT/bench/lib/ports.sh"
# shellcheck source=bench/lib/stats.sh
source "$ROOT/bench/lib/stats.sh"
# shellcheck source=bench/lib/cpu.sh
source "$ROOT/bench/lib/cpu.sh"
TCK=$(clk_tck)

ffmpeg -hide_banner -protocols 2>/dev/null | grep -qx ' *srt' || { echo "this ffmpeg has no srt protocol (Debian's ffmpeg has libsrt)" >&2; exit 1; }
if [[ -z ${ORIGIN_BIN:-} ]]; then
  echo "== build (release)" >&2
  CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} timeout 3600 cargo build --release -q -p origin --manifest-path "$ROOT/Cargo.toml"
fi
# A private copy: a build in the same checkout must not swap the binary between runs.
cp "${ORIGIN_BIN:-$TARGET/release/ferrocast-origin}" "$TMP/ferrocast-origin"
ORIGIN=$TMP/ferrocast-origin

if [[ ! -s $CLIP.ts || ! -s $CLIP.flv ]]; then
  echo "== encoding the 60 s ~4 Mbit/s clip once: $CLIP.ts and $CLIP.flv" >&2
  mkdir -p "$(dirname "$CLIP")"
  # Temporal noise makes x264 actually spend the bitrate; GOP 60 = 2 s matches
  # segment_target_s; no B-frames. One encode, remuxed (-c copy) into both containers.
  timeout 900 ffmpeg -nostdin -hide_banner -loglevel error -y \
    -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 \
    -t 60 -vf noise=alls=12:allf=t -pix_fmt yuv420p \
    -c:v libx264 -preset veryfast -b:v 3800k -maxrate 3800k -bufsize 3800k \
    -g 60 -keyint_min 60 -sc_threshold 0 -bf 0 -c:a aac -b:a 128k -f matroska "$CLIP.tmp.mkv"
  timeout 120 ffmpeg -nostdin -hide_banner -loglevel error -y -i "$CLIP.tmp.mkv" -c copy -f mpegts "$CLIP.tmp.ts"
  timeout 120 ffmpeg -nostdin -hide_banner -loglevel error -y -i "$CLIP.tmp.mkv" -c copy -f flv "$CLIP.tmp.flv"
  mv "$CLIP.tmp.ts" "$CLIP.ts"; mv "$CLIP.tmp.flv" "$CLIP.flv"; rm -f "$CLIP.tmp.mkv"
fi
# The clip's media bitrate (sum of audio+video packet sizes / duration): what the
# origin's ingest byte counter should grow by per stream and second.
CLIP_MBPS=$(timeout 120 ffprobe -v error -show_entries packet=size,pts_time,duration_time -of compact=p=0 "$CLIP.flv" |
  awk -F'|' '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    b += f["size"]; e = f["pts_time"] + f["duration_time"]; if (e > end) end = e }
    END { if (end > 0) printf "%.3f", b * 8 / end / 1e6 }')
[[ -n $CLIP_MBPS ]] || { echo "could not measure the clip's bitrate" >&2; exit 1; }
echo "== clip: $CLIP.{ts,flv}, media $CLIP_MBPS Mbit/s, $(stat -c %s "$CLIP.ts") / $(stat -c %s "$CLIP.flv") bytes" >&2

now() { date +%s.%N; }
# `N` followed by each channel's ferrocast_ingest_bytes_total, in channel order.
ingest_bytes() {
  local m
  m=$(curl -sf --max-time 5 "http://127.0.0.1:$HP/metrics") || m=""
  awk -v n="$N" '/^ferrocast_ingest_bytes_total\{/ { if (match($0, /channel="ch[0-9]+"/)) { c = substr($0, RSTART + 11, RLENGTH - 12); v[c] = $NF } }
    END { for (i = 0; i < n; i++) printf "%d ", (i in v ? v[i] : 0); print "" }' <<<"$m"
}
# Each channel's "next media sequence number" of video0 (EXT-X-MEDIA-SEQUENCE + the
# number of complete segments listed), -1 when the playlist cannot be fetched.
msns() {
  local i p
  for i in $(seq 0 $((N - 1))); do
    p=$(curl -sf --max-time 5 "http://127.0.0.1:$HP/live/ch$i/video0/index.m3u8") || p=""
    awk -F: '/^#EXT-X-MEDIA-SEQUENCE:/ { s = $2 } /^#EXTINF:/ { n++ } END { printf "%d ", (s == "" ? -1 : s + n) }' <<<"$p"
  done
  echo
}
masters_ok() { # channels whose master playlist lists a variant: "0 1 0 ..." style flags
  local i
  for i in $(seq 0 $((N - 1))); do
    if curl -sf --max-time 5 "http://127.0.0.1:$HP/live/ch$i/master.m3u8" | grep -q '^#EXT-X-STREAM-INF'; then printf '1 '; else printf '0 '; fi
  done
  echo
}

# Sets HP RP SP H3P WP: five distinct loopback ports below the kernel's ephemeral range
# (an outgoing connection's local port there would make the bind fail) that no TCP or
# UDP socket uses (SRT, HTTP/3 and WebRTC listen on UDP).
pick_ports() {
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

# Starts the origin for PROTO on fresh ports; sets ORIGIN_PID. Another process can
# still take a port between the pick and the bind: then it tries again (3 times).
start_origin() { # proto
  local proto=$1 i
  # The origin takes every FERROCAST_* variable as a config override: give it none.
  local -a unset_env=()
  while read -r v; do unset_env+=(-u "$v"); done < <(compgen -e | grep '^FERROCAST_' || true)
  for _ in 1 2 3; do
    pick_ports
    rm -rf "${TMP:?}/$proto"; mkdir -p "$TMP/$proto/data"
    {
      printf '[http]\nlisten = "127.0.0.1:%s"\n[rtmp]\nlisten = "127.0.0.1:%s"\n' "$HP" "$RP"
      printf '[srt]\nlisten = "127.0.0.1:%s"\nlatency_ms = %s\n' "$SP" "$LATENCY_MS"
      printf '[http3]\nlisten = "127.0.0.1:%s"\n[webrtc]\nudp_listen = "127.0.0.1:%s"\n' "$H3P" "$WP"
      printf '[storage]\ndata_dir = "%s"\n[packaging]\nwindow_s = %s.0\n' "$TMP/$proto/data" "$WINDOW"
      for i in $(seq 0 $((N - 1))); do printf '[[channels]]\nname = "ch%s"\nstream_key = "benchkey-%s"\n' "$i" "$i"; done
    } >"$TMP/$proto/origin.toml"
    echo "== $proto: origin http 127.0.0.1:$HP rtmp :$RP srt udp :$SP; $N publishers, warm-up ${WARMUP}s, window ${DURATION}s" >&2
    env "${unset_env[@]}" RUST_LOG="${RUST_LOG:-warn}" "$ORIGIN" --config "$TMP/$proto/origin.toml" \
      >"$TMP/$proto/origin.out" 2>"$TMP/$proto/origin.log" &
    ORIGIN_PID=$!
    LIVE_PIDS=("$ORIGIN_PID")
    if wait_listen "$RP" "$ORIGIN_PID" ferrocast-origin && wait_listen "$HP" "$ORIGIN_PID" ferrocast-origin; then return 0; fi
    stop_pids "$ORIGIN_PID"; LIVE_PIDS=()
    tail -n 5 "$TMP/$proto/origin.log" >&2
    grep -q 'Address already in use' "$TMP/$proto/origin.log" || exit 1
    echo "== a port was taken; trying again" >&2
  done
  exit 1
}

run() { # srt | rtmp
  local proto=$1 i
  start_origin "$proto"
  local origin=$ORIGIN_PID

  # Publishers, started spread over 2 s so key frames are not all aligned; each one is
  # bounded by timeout even if this script is killed with SIGKILL.
  local -a pubs=()
  local limit=$((WARMUP + DURATION + PERF_S + 60)) input url fmt
  for i in $(seq 0 $((N - 1))); do
    if [[ $proto == srt ]]; then
      input=$CLIP.ts; fmt=mpegts
      # ffmpeg's srt latency is in microseconds; ffmpeg 5.1 does not %-decode values.
      url="srt://127.0.0.1:$SP?streamid=publish/live/benchkey-$i&latency=$((LATENCY_MS * 1000))&pkt_size=1316"
    else
      input=$CLIP.flv; fmt=flv
      url="rtmp://127.0.0.1:$RP/live/benchkey-$i"
    fi
    timeout -k 5 "$limit" ffmpeg -nostdin -hide_banner -loglevel warning -re -stream_loop -1 -i "$input" \
      -c copy -f "$fmt" "$url" >"$TMP/$proto/pub-$i.log" 2>&1 &
    pubs+=($!)
    LIVE_PIDS+=($!)
    sleep "$(awk -v n="$N" 'BEGIN { printf "%.3f", 2 / n }')"
  done
  nap "$WARMUP"

  local b0 m0 c0 p0 s0 t0 b1 m1 c1 p1 s1 t1 masters alive
  # The byte counters are read right next to the clock so both cover the same window.
  m0=$(msns)
  t0=$(now); c0=$(tree_ticks "$origin"); p0=$(tree_ticks "${pubs[@]}"); s0=$(sys_busy_ticks); b0=$(ingest_bytes)
  nap "$DURATION"
  t1=$(now); c1=$(tree_ticks "$origin"); p1=$(tree_ticks "${pubs[@]}"); s1=$(sys_busy_ticks); b1=$(ingest_bytes)
  local load1; load1=$(cut -d' ' -f1 /proc/loadavg)
  m1=$(msns); masters=$(masters_ok)
  alive=0; for i in "${pubs[@]}"; do if kill -0 "$i" 2>/dev/null; then alive=$((alive + 1)); fi; done
  kill -0 "$origin" 2>/dev/null || { echo "$proto: the origin died; see $TMP/$proto/origin.log (KEEP=1)" >&2; }

  local result
  result=$(awk -v proto="$proto" -v n="$N" -v tck="$TCK" -v t0="$t0" -v t1="$t1" \
    -v c0="$c0" -v c1="$c1" -v p0="$p0" -v p1="$p1" -v s0="$s0" -v s1="$s1" -v load1="$load1" \
    -v b0="$b0" -v b1="$b1" -v m0="$m0" -v m1="$m1" -v ms="$masters" -v alive="$alive" -v clip="$CLIP_MBPS" 'BEGIN {
      w = t1 - t0
      split(b0, B0, " "); split(b1, B1, " "); split(m0, M0, " "); split(m1, M1, " "); split(ms, MS, " ")
      live = 0; bytes = 0; nomaster = 0; stuck = 0; short = 0
      for (i = 1; i <= n; i++) {
        d = B1[i] - B0[i]; bytes += d
        ok = 1
        if (MS[i] != 1) { nomaster++; ok = 0 }
        if (M0[i] < 0 || M1[i] <= M0[i]) { stuck++; ok = 0 }
        if (d * 8 / w / 1e6 < 0.9 * clip) { short++; ok = 0 }
        live += ok
      }
      cpu = (c1 - c0) / tck; pub = (p1 - p0) / tck; other = (s1 - s0) / tck - cpu - pub
      if (other < 0) other = 0
      printf "RESULT proto=%s streams=%d channels_ok=%d/%d no_master=%d not_advancing=%d short_bytes=%d pubs_running=%d", proto, n, live, n, nomaster, stuck, short, alive
      printf " window_s=%.1f origin_cpu_s=%.2f ms_per_s_per_stream=%.3f pct_core_per_stream=%.3f", w, cpu, cpu * 1000 / w / n, cpu * 100 / w / n
      printf " recv_mbps_per_stream=%.3f recv_ratio=%.3f recv_bytes=%d publishers_cpu_s=%.2f other_cpu_s=%.2f load1=%s\n", bytes * 8 / w / n / 1e6, bytes * 8 / w / n / 1e6 / clip, bytes, pub, other, load1
    }')
  echo "$result"
  RESULTS+=("$result")

  if ((PERF_S > 0)) && kill -0 "$origin" 2>/dev/null; then
    echo "== $proto: perf record -g on the origin for ${PERF_S}s" >&2
    timeout -k 5 $((PERF_S + 30)) perf record -q -F 499 -g -p "$origin" -o "$TMP/$proto/perf.data" -- sleep "$PERF_S" >/dev/null 2>&1 &
    local perf=$!
    LIVE_PIDS+=("$perf")
    wait "$perf" || true
    timeout 300 perf report -i "$TMP/$proto/perf.data" --stdio --no-children --sort dso,sym --percent-limit 1 2>/dev/null |
      grep -E '^ +[0-9.]+%' | head -40 >"$TMP/$proto/perf-top.txt" || true
    echo "-- $proto: origin's top symbols (self time, >= 1 %)" >&2
    cat "$TMP/$proto/perf-top.txt" >&2
    echo "-- threads:" >&2
    timeout 60 perf report -i "$TMP/$proto/perf.data" --stdio --no-children --sort comm 2>/dev/null | grep -E '^ +[0-9.]+%' | head -10 >&2 || true
  fi

  stop_pids "${pubs[@]}" "$origin"
  LIVE_PIDS=()
}

RESULTS=()
for round in $(seq "$ROUNDS"); do
  echo "== round $round/$ROUNDS" >&2
  if ((round % 2)); then order="srt rtmp"; else order="rtmp srt"; fi
  for proto in $order; do
    if [[ $proto == srt && -n ${SKIP_SRT:-} ]] || [[ $proto == rtmp && -n ${SKIP_RTMP:-} ]]; then continue; fi
    run "$proto"
  done
done

pick() { local p=$1 r; shift; for r in "$@"; do if [[ $(field proto "$r") == "$p" ]]; then echo "$r"; fi; done; }
mapfile -t SRT_R < <(pick srt "${RESULTS[@]}")
mapfile -t RTMP_R < <(pick rtmp "${RESULTS[@]}")
bad=0
for r in "${RESULTS[@]}"; do [[ $(field channels_ok "$r") == "$N/$N" ]] || bad=1; done
if ((${#SRT_R[@]} && ${#RTMP_R[@]})); then
  s=$(values ms_per_s_per_stream "${SRT_R[@]}" | median); t=$(values ms_per_s_per_stream "${RTMP_R[@]}" | median)
  sr=$(values recv_mbps_per_stream "${SRT_R[@]}" | median); tr=$(values recv_mbps_per_stream "${RTMP_R[@]}" | median)
  awk -v s="$s" -v t="$t" -v sr="$sr" -v tr="$tr" -v n="$N" -v r="${#SRT_R[@]}" -v clip="$CLIP_MBPS" 'BEGIN {
    printf "received per stream (median): srt %.3f Mbit/s, rtmp %.3f Mbit/s (clip media %.3f)\n", sr, tr, clip
    printf "origin CPU per stream (ms of CPU per s, median of %d, %d streams): srt %.3f, rtmp %.3f\n", r, n, s, t
    printf "ratio srt/rtmp = %.2f (goal <= 1.5)\n", (t > 0 ? s / t : 0) }'
fi
if ((bad)); then echo "some channels were not live and advancing for the whole window (see channels_ok=)" >&2; exit 1; fi
