#!/usr/bin/env bash
# vod_ladder.sh — VOD ladder wall time: packager::transcode (in-process, via the
# vod-ladder binary) against the ffmpeg CLI running the same ladder with the same
# encoder settings on the same file, in the same run (issue 7; goal: ours <= 1.05x).
#
# The clip: DURATION_S of 1920x1080 at 30 fps (testsrc2: moving pattern, scrolling
# text, a counter) with a 440 Hz stereo tone, H.264 8 Mbit/s + AAC, made once with
# ffmpeg. Both sides decode it once and produce the default ladder:
#   1080p 5000k (no scaling), 720p 2800k, 480p 1400k (854 wide), 360p 800k,
#   libx264 preset PRESET, profile high, maxrate = bitrate, bufsize = 2 x bitrate,
#   GOP cap 120 frames, sc_threshold 0, forced IDR every 2 s, x264 threads THREADS
#   (0 = auto), decoder threads auto, bicubic scaling; AAC-LC 128 kbit/s stereo.
# The CLI uses one decode, `split` + `scale` and writes every output to `-f null`
# (encoded, not muxed); vod-ladder counts and discards the frames (not muxed).
# Rounds alternate which side goes first; the last line is the ratio ours / CLI of
# the medians and the median of the per-round (paired) ratios. Each run's CPU
# (user+sys from /usr/bin/time) and the 1-minute load average are reported too.
#
# usage: bench/vod_ladder.sh
# env:   ROUNDS=3  DURATION_S=30  PRESET=veryfast  THREADS=0
#        CLIP=path (default target/bench-vod-1080p30-${DURATION_S}s.mp4, made when missing)
#        VOD_LADDER_BIN=path (default: builds and uses the release build)
#        PERF=1 (after the rounds, `perf record -g` one run of each side and print
#          their top symbols; not part of the timings)
# Everything it starts is a child that runs to completion; nothing listens.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION_S:-30}
PRESET=${PRESET:-veryfast}
THREADS=${THREADS:-0}
if ! [[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -ge 1 && $ROUNDS -le 20 ]]; then echo "ROUNDS must be 1..20" >&2; exit 2; fi
if ! [[ $DURATION =~ ^[0-9]+$ && $DURATION -ge 2 && $DURATION -le 600 ]]; then echo "DURATION_S must be 2..600" >&2; exit 2; fi
if ! [[ $THREADS =~ ^[0-9]+$ && $THREADS -le 64 ]]; then echo "THREADS must be 0..64" >&2; exit 2; fi
if ! [[ $PRESET =~ ^(ultrafast|superfast|veryfast|faster|fast|medium|slow|slower|veryslow)$ ]]; then echo "PRESET must be an x264 preset" >&2; exit 2; fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
CLIP=${CLIP:-$TARGET/bench-vod-1080p30-${DURATION}s.mp4}
TMP=$(mktemp -d /tmp/ferrocast-vod.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
# shellcheck source=lib/stats.sh
. "$ROOT/bench/lib/stats.sh"

if [[ ! -s $CLIP ]]; then
  echo "== making $CLIP" >&2
  mkdir -p "$(dirname "$CLIP")"
  ffmpeg -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000" -t "$DURATION" \
    -c:v libx264 -preset veryfast -b:v 8M -pix_fmt yuv420p -g 60 \
    -c:a aac -b:a 192k -ac 2 "$CLIP.part.mp4"
  mv "$CLIP.part.mp4" "$CLIP"
fi

BIN=${VOD_LADDER_BIN:-}
if [[ -z $BIN ]]; then
  echo "== building vod-ladder (release)" >&2
  (cd "$ROOT" && cargo build --release -q -p bench --bin vod-ladder)
  BIN=$TARGET/release/vod-ladder
fi

# The CLI side: the same ladder as LadderSpec::default() (packager/src/transcode/spec.rs)
# with the AVOptions packager/src/transcode/rendition.rs sets.
GOP=$((2 * 2 * 30))
x264_out() { # BITRATE_K -> the output options, one per line
  printf '%s\n' -c:v libx264 -preset "$PRESET" -profile:v high -b:v "${1}k" -maxrate "${1}k" \
    -bufsize "$((2 * $1))k" -g "$GOP" -sc_threshold 0 -forced-idr 1 \
    -force_key_frames "expr:gte(t,n_forced*2)" -threads "$THREADS" -f null -
}
CLI=(ffmpeg -hide_banner -nostdin -v error -y -threads auto -i "$CLIP"
  -filter_complex "[0:v]split=4[v0][a1][a2][a3];[a1]scale=1280:720[v1];[a2]scale=854:480[v2];[a3]scale=640:360[v3]")
for out in "v0 5000" "v1 2800" "v2 1400" "v3 800"; do
  mapfile -t opts < <(x264_out "${out#* }")
  CLI+=(-map "[${out% *}]" "${opts[@]}")
done
CLI+=(-map 0:a -c:a aac -b:a 128k -ac 2 -f null -)
OURS=("$BIN" "$CLIP" --preset "$PRESET" --threads "$THREADS" --keyframe-interval-s 2)

timed() { # NAME CMD... -> "RESULT side=NAME wall_s=… cpu_s=…" (stderr of the command in $TMP/NAME.err)
  local name=$1; shift
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$TMP/$name.time" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || {
    echo "$name failed:" >&2; cat "$TMP/$name.err" >&2; exit 1; }
  end=$(date +%s.%N)
  local cpu
  cpu=$(awk 'END { print $1 + $2 }' "$TMP/$name.time")
  echo "RESULT side=$name wall_s=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }') cpu_s=$cpu load1=$(cut -d' ' -f1 /proc/loadavg)"
}

echo "== $CLIP: ${DURATION}s 1080p30, preset $PRESET, x264 threads $THREADS, $ROUNDS rounds" >&2
CLI_RESULTS=() OUR_RESULTS=()
for round in $(seq "$ROUNDS"); do
  echo "== round $round/$ROUNDS" >&2
  for side in $( ((round % 2)) && echo "cli ours" || echo "ours cli"); do
    if [[ $side == cli ]]; then r=$(timed cli "${CLI[@]}"); else r=$(timed ours "${OURS[@]}"); fi
    echo "$r"
    if [[ $side == cli ]]; then CLI_RESULTS+=("$r"); else
      OUR_RESULTS+=("$r")
      grep '^track ' "$TMP/ours.out" >&2
      frames=$(field frames "$(tail -1 "$TMP/ours.out")")
      # Every rendition must have every frame (4 x 30 fps x DURATION) plus the audio.
      if (( frames < 4 * 30 * DURATION )); then echo "ours produced only $frames frames" >&2; exit 1; fi
    fi
  done
done

# Paired ratios: the load of a shared box drifts between rounds, less within one.
PAIRED=()
for i in "${!CLI_RESULTS[@]}"; do
  PAIRED+=("$(awk -v o="$(field wall_s "${OUR_RESULTS[$i]}")" -v c="$(field wall_s "${CLI_RESULTS[$i]}")" 'BEGIN { printf "%.3f", o / c }')")
done
echo "per-round wall ratios ours/cli: ${PAIRED[*]}"
c=$(values wall_s "${CLI_RESULTS[@]}" | median); o=$(values wall_s "${OUR_RESULTS[@]}" | median)
cc=$(values cpu_s "${CLI_RESULTS[@]}" | median); oc=$(values cpu_s "${OUR_RESULTS[@]}" | median)
p=$(printf '%s\n' "${PAIRED[@]}" | median)
awk -v c="$c" -v o="$o" -v cc="$cc" -v oc="$oc" -v r="$ROUNDS" -v p="$p" 'BEGIN {
  printf "median of %d: wall ours %.2f s, ffmpeg CLI %.2f s; CPU ours %.1f s, CLI %.1f s\n", r, o, c, oc, cc
  printf "RATIO wall ours/cli = %.3f (medians), %.3f (median of per-round ratios)  (goal <= 1.05)\n", (c > 0 ? o / c : 0), p }'

if [[ -n ${PERF:-} ]]; then
  for side in cli ours; do
    echo "== perf: $side" >&2
    if [[ $side == cli ]]; then cmd=("${CLI[@]}"); else cmd=("${OURS[@]}"); fi
    perf record -q -g -o "$TMP/$side.perf" -- "${cmd[@]}" >/dev/null 2>&1
    perf report -q -i "$TMP/$side.perf" --no-children --sort dso,sym 2>/dev/null | head -25
  done
fi
