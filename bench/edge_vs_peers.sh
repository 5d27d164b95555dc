#!/usr/bin/env bash
# edge_vs_peers.sh — issue 3's edge bench: ferrocast-edge vs nginx proxy_cache and
# Varnish (malloc), same workload, same machine, loopback only.
#
# bench's static-origin serves sized cacheable objects; each server under test
# caches them. After a warm-up that is checked (x-cache: hit-memory / hit-disk for
# ferrocast, X-Cache-Status: HIT for nginx, two ids in X-Varnish for Varnish), the
# server runs on core 0 and the clients on core 1 (`taskset`), 32 connections:
#   segment  — 4 objects /sized/2000000/seg-{0..3}.m4s (2 MB segment hits): GB/s
#   playlist — 1 object /sized/1200/live.m3u8 (1.2 KB playlist hits): req/s
# HTTP/1.1 with `wrk -t1 -c32` (a Lua script rotating through the paths), HTTP/2
# (h2c, prior knowledge) with `h2load -t1 -c32 -m1`. GB/s are 10^9 bytes per
# second of what the client read (wrk and h2load print binary units; converted).
# Servers: ferrocast-mem (memory tier 1 GiB, no disk), ferrocast-disk (memory tier
# 1 MiB, the minimum, disk tier 1 GiB in the temp dir; per-tier hit counts are
# read from its /metrics), ferrocast-disk-zc (the same with `[cache.disk] zero_copy
# = true`: hits verified in place, written from the store mapping),
# ferrocast-disk-sf (zero_copy and `sendfile = true`: plain HTTP/1.1 disk hits go
# out with sendfile(2); its bytes are in the x-cache column as sendfile-bytes), nginx (proxy_cache, bench/peers/nginx-proxy-cache.conf.in;
# by default `sendfile off; output_buffers 2 1m`, its fastest here: see there)
# and varnish (malloc 1G, bench/peers/varnish.vcl.in). The final table gives
# medians over ROUNDS and the ratios of issue 3's goal: ferrocast-mem / best peer
# (segment GB/s, playlist req/s; h1 and h2 apart; goal >= 1.2) and
# ferrocast-disk / nginx (goal >= 1), and the same segment ratios per busy server
# core (GB/s over the server's CPU share: the client core caps HTTP/1.1 GB/s).
#
# Extra reports, each skippable:
#   p99 at 1,000 connections: `wrk -t1 -c1000 --latency` on the playlist, every
#     server (SKIP_P99=1);
#   RSS vs configured memory tier: ferrocast with 64 MiB, 256 MiB, 1 GiB, filled by
#     edge-load with a uniform catalog of 256 KiB objects 1.5x the tier, each object
#     requested 8 times on average (SKIP_RSS=1);
#   Zipf(1.0) hit ratio: ferrocast with memory ZIPF_MEM_MIB=32 + disk ZIPF_DISK_MIB=64
#     (the disk tier's minimum is 64 MiB), a catalog of 64 KiB objects 10x the total,
#     edge-load --dist zipf:1.0 --warmup-s 20 --duration-s 30; printed with the
#     static optimum H(K)/H(N) of a cache holding the K most popular objects
#     (SKIP_ZIPF=1).
#
# usage: bench/edge_vs_peers.sh [DURATION_S=10]
# env:   ROUNDS=1 (alternate the whole server set; the table uses medians)
#        SKIP_BUILD=1  SKIP_NGINX=1  SKIP_VARNISH=1  SKIP_FERROCAST=1  SKIP_DISK=1
#        SKIP_MEM=1 (no ferrocast-mem)  SKIP_SENDFILE=1 (no ferrocast-disk-zc, -sf)
#        SKIP_P99=1  SKIP_RSS=1  SKIP_ZIPF=1  KEEP=1 (keep the temp dir)
#        EDGE_BIN=path (A/B another ferrocast-edge build; default the release build)
#        SERVER_CPU=0 CLIENT_CPU=1 (taskset cores)
#        NGINX_SENDFILE=off NGINX_OUTPUT_BUFFERS="2 1m" (stock nginx: on, "2 32k")
# Installs wrk, nghttp2-client (h2load), varnish, nginx and curl with apt-get when
# missing (sudo unless root). Default run: about 8 minutes.
# Loopback only; every process it starts is killed on exit; everything is bounded.
set -euo pipefail

DURATION=${1:-${DURATION_S:-10}}
ROUNDS=${ROUNDS:-1}
SCPU=${SERVER_CPU:-0}
CCPU=${CLIENT_CPU:-1}
ZIPF_MEM_MIB=${ZIPF_MEM_MIB:-32}
ZIPF_DISK_MIB=${ZIPF_DISK_MIB:-64}
if ! [[ $DURATION =~ ^[0-9]+$ && $DURATION -ge 2 && $DURATION -le 300 ]]; then echo "DURATION_S must be 2..300" >&2; exit 2; fi
if ! [[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -ge 1 && $ROUNDS -le 10 ]]; then echo "ROUNDS must be 1..10" >&2; exit 2; fi
if ! [[ $ZIPF_MEM_MIB =~ ^[0-9]+$ && $ZIPF_DISK_MIB =~ ^[0-9]+$ && $ZIPF_MEM_MIB -ge 1 && $ZIPF_DISK_MIB -ge 64 ]]; then
  echo "ZIPF_MEM_MIB must be >= 1 and ZIPF_DISK_MIB >= 64" >&2; exit 2
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
PEERS=$ROOT/bench/peers
TMP=$(mktemp -d /tmp/ferrocast-edge-bench.XXXXXX)
PIDS=() # every background process started here

cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ -z ${KEEP:-} ]]; then rm -rf "$TMP"; else echo "kept $TMP" >&2; fi
}
trap cleanup EXIT INT TERM

# shellcheck source=bench/lib/ports.sh
source "$ROOT/bench/lib/ports.sh"
stop() { # pid: TERM, then KILL after 10 s; forgotten afterwards (pids get reused)
  local p keep=()
  kill "$1" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}
log() { echo "== $*" >&2; }

# ---- tools --------------------------------------------------------------------
SUDO=""; [[ $EUID -eq 0 ]] || SUDO=sudo
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v h2load >/dev/null || need+=(nghttp2-client)
command -v curl >/dev/null || need+=(curl)
command -v taskset >/dev/null || need+=(util-linux)
if [[ -z ${SKIP_VARNISH:-} ]] && ! command -v varnishd >/dev/null && [[ ! -x /usr/sbin/varnishd ]]; then need+=(varnish); fi
if [[ -z ${SKIP_NGINX:-} ]] && ! command -v nginx >/dev/null && [[ ! -x /usr/sbin/nginx ]]; then need+=(nginx-light); fi
if (( ${#need[@]} )); then
  log "installing ${need[*]}"
  $SUDO timeout 300 apt-get update -q >&2
  if ! DEBIAN_FRONTEND=noninteractive $SUDO timeout 600 apt-get install -y -q "${need[@]}" >&2; then
    # nginx-light is gone from newer Debian releases: the full package then.
    need=("${need[@]/nginx-light/nginx}")
    DEBIAN_FRONTEND=noninteractive $SUDO timeout 600 apt-get install -y -q "${need[@]}" >&2
  fi
  if [[ " ${need[*]} " == *" varnish "* ]] && command -v systemctl >/dev/null \
    && systemctl is-system-running >/dev/null 2>&1; then
    # Debian starts a system varnishd on install; it would share the cores.
    $SUDO systemctl disable --now varnish.service varnishncsa.service >/dev/null 2>&1 || true
  fi
fi
PATH=$PATH:/usr/sbin
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if (( $(ulimit -n) < 2100 )); then echo "open files limit $(ulimit -n) is below 2100: 1,000 connections need more" >&2; exit 1; fi

if [[ -z ${SKIP_BUILD:-} ]]; then
  log "build (release)"
  CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} cargo build --release -q -p bench -p edge --manifest-path "$ROOT/Cargo.toml"
fi
EDGE=${EDGE_BIN:-$TARGET/release/ferrocast-edge}
LOAD=$TARGET/release/edge-load
ORIGIN_BIN=$TARGET/release/static-origin
for b in "$EDGE" "$LOAD" "$ORIGIN_BIN"; do [[ -x $b ]] || { echo "missing $b (build first)" >&2; exit 1; }; done

# ---- origin and workloads -----------------------------------------------------
OP=$(pick_port)
taskset -c "$CCPU" "$ORIGIN_BIN" --listen "127.0.0.1:$OP" 2>"$TMP/origin.log" &
ORIGIN_PID=$!; PIDS+=("$ORIGIN_PID")
wait_listen "$OP" "$ORIGIN_PID" static-origin
origin_requests() { curl -sf --max-time 5 "http://127.0.0.1:$OP/stats" | sed 's/[^0-9]//g'; }

SEGMENT_PATHS=(/sized/2000000/seg-0.m4s /sized/2000000/seg-1.m4s /sized/2000000/seg-2.m4s /sized/2000000/seg-3.m4s)
PLAYLIST_PATHS=(/sized/1200/live.m3u8)
WORKLOADS=(segment playlist)
paths_of() { if [[ $1 == segment ]]; then echo "${SEGMENT_PATHS[@]}"; else echo "${PLAYLIST_PATHS[@]}"; fi; }
for w in "${WORKLOADS[@]}"; do
  {
    printf 'local paths = {'
    for p in $(paths_of "$w"); do printf '"%s", ' "$p"; done
    printf '}\nlocal i = 0\nrequest = function()\n  i = i %% #paths + 1\n  return wrk.format("GET", paths[i])\nend\n'
  } >"$TMP/$w.lua"
done

# ---- clients ------------------------------------------------------------------
# "1.50GB" → bytes (wrk and h2load use powers of 1024).
to_bytes() {
  awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    m = (u ~ /^K/) ? 1024 : (u ~ /^M/) ? 1048576 : (u ~ /^G/) ? 1073741824 : (u ~ /^T/) ? 1099511627776 : 1
    printf "%.0f", n * m }'
}
# "12.34ms" → ms
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
  printf "%.3f", (u == "us") ? n / 1000 : (u == "s") ? n * 1000 : (u == "m") ? n * 60000 : n }'; }

# Each prints "rps gbps errors" (errors: non-2xx + socket errors / failed requests).
run_wrk() { # port workload connections [extra args]
  local port=$1 w=$2 c=$3 out
  shift 3
  out=$(timeout $((DURATION + 60)) taskset -c "$CCPU" wrk -t1 -c"$c" -d"${DURATION}s" --timeout 10s "$@" \
    -s "$TMP/$w.lua" "http://127.0.0.1:$port" 2>&1) || true
  echo "$out" >>"$TMP/clients.log"
  echo "$out" >"$TMP/last-wrk.out"
  local rps tr errs
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  tr=$(awk '/^Transfer\/sec:/ { print $2 }' <<<"$out")
  errs=$(awk '/Non-2xx or 3xx responses:/ { e += $NF } /Socket errors:/ { gsub(/,/, ""); e += $4 + $6 + $8 + $10 } END { print e + 0 }' <<<"$out")
  if [[ -z $rps || -z $tr ]]; then echo "0 0 -1"; return; fi
  echo "$rps $(awk -v b="$(to_bytes "$tr")" 'BEGIN { printf "%.3f", b / 1e9 }') $errs"
}
run_h2load() { # port workload
  local port=$1 w=$2 out p urls=()
  for p in $(paths_of "$w"); do urls+=("http://127.0.0.1:$port$p"); done
  out=$(timeout $((DURATION + 60)) taskset -c "$CCPU" h2load -t1 -c32 -m1 -D "$DURATION" "${urls[@]}" 2>&1) || true
  echo "$out" >>"$TMP/clients.log"
  local fin rps tr errs
  fin=$(grep -m1 '^finished in' <<<"$out" || true)
  if [[ -z $fin ]]; then echo "0 0 -1"; return; fi
  rps=$(sed -n 's/.*, \([0-9.]*\) req\/s.*/\1/p' <<<"$fin")
  tr=$(sed -n 's/.* req\/s, \([0-9.]*[KMGT]*B\)\/s.*/\1/p' <<<"$fin")
  # "requests: N total, N started, N done, N succeeded, N failed, ...": failed
  # includes the errored, timed-out and non-2xx/3xx ones.
  errs=$(awk '/^requests:/ { gsub(/,/, ""); print $10 }' <<<"$out")
  echo "${rps:-0} $(awk -v b="$(to_bytes "${tr:-0}")" 'BEGIN { printf "%.3f", b / 1e9 }') ${errs:-0}"
}

# ---- servers ------------------------------------------------------------------
# Each start_* sets SRV_PID, H1_PORT, H2_PORT (0: no h2c) and HIT_RE (what a
# warmed response's headers must match; HIT_RE_PLAYLIST for the playlist).
HIT_RE_PLAYLIST=""
edge_conf() { # memory_bytes disk_path disk_bytes port [more [cache.disk] lines]
  {
    printf '[http]\nlisten = "127.0.0.1:%s"\n[http3]\nlisten = "127.0.0.1:%s"\n' "$4" "$(pick_port)"
    printf '[upstream]\nparents = ["http://127.0.0.1:%s"]\n' "$OP"
    printf '[cache.memory]\nbytes = %s\n[cache.disk]\npath = "%s"\nbytes = %s\n' "$1" "$2" "$3"
    [[ -z ${5:-} ]] || printf '%s\n' "$5"
    printf '[auth]\npublic_key = ""\n'
  } >"$TMP/edge.toml"
}
start_edge() { # memory_bytes disk_path disk_bytes [more [cache.disk] lines]
  local port; port=$(pick_port)
  rm -rf "$TMP/disk"
  [[ -z $2 ]] || mkdir -p "$2"
  edge_conf "$1" "$2" "$3" "$port" "${4:-}"
  RUST_LOG=${RUST_LOG:-warn} taskset -c "$SCPU" "$EDGE" --config "$TMP/edge.toml" >>"$TMP/edge.out" 2>>"$TMP/edge.log" &
  SRV_PID=$!; PIDS+=("$SRV_PID")
  wait_listen "$port" "$SRV_PID" ferrocast-edge
  H1_PORT=$port; H2_PORT=$port
}
start_ferrocast-mem() { start_edge $((1 << 30)) "" $((1 << 30)); HIT_RE='x-cache: hit-memory'; }
# The playlist fits the 1 MiB memory tier: a memory hit is the expected answer.
start_ferrocast-disk() {
  start_edge $((1 << 20)) "$TMP/disk" $((1 << 30))
  HIT_RE='x-cache: hit-disk'; HIT_RE_PLAYLIST='x-cache: hit-(memory|disk)'
}
start_ferrocast-disk-zc() {
  start_edge $((1 << 20)) "$TMP/disk" $((1 << 30)) 'zero_copy = true'
  HIT_RE='x-cache: hit-disk'; HIT_RE_PLAYLIST='x-cache: hit-(memory|disk)'
}
start_ferrocast-disk-sf() {
  start_edge $((1 << 20)) "$TMP/disk" $((1 << 30)) $'zero_copy = true\nsendfile = true'
  HIT_RE='x-cache: hit-disk'; HIT_RE_PLAYLIST='x-cache: hit-(memory|disk)'
}
start_nginx() {
  H1_PORT=$(pick_port); H2_PORT=$(pick_port)
  rm -rf "$TMP/nginx"; mkdir -p "$TMP/nginx"
  # As root, workers would switch to a user that cannot enter the private temp dir.
  local user_line=""; [[ $EUID -eq 0 ]] && user_line="user root;"
  sed -e "s|@USER_LINE@|$user_line|" -e "s|@TMP@|$TMP/nginx|g" -e "s|@H1_PORT@|$H1_PORT|" \
    -e "s|@H2_PORT@|$H2_PORT|" -e "s|@ORIGIN_PORT@|$OP|" -e "s|@SENDFILE@|${NGINX_SENDFILE:-off}|" \
    -e "s|@OUTPUT_BUFFERS@|${NGINX_OUTPUT_BUFFERS:-2 1m}|" "$PEERS/nginx-proxy-cache.conf.in" >"$TMP/nginx/nginx.conf"
  taskset -c "$SCPU" nginx -p "$TMP/nginx" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf" -g 'daemon off;' 2>>"$TMP/nginx.log" &
  SRV_PID=$!; PIDS+=("$SRV_PID")
  wait_listen "$H1_PORT" "$SRV_PID" nginx
  HIT_RE='X-Cache-Status: HIT'
}
start_varnish() {
  H1_PORT=$(pick_port); H2_PORT=$H1_PORT
  rm -rf "$TMP/varnish"; mkdir -p "$TMP/varnish"
  sed -e "s|@ORIGIN_PORT@|$OP|" "$PEERS/varnish.vcl.in" >"$TMP/varnish.vcl"
  # -j none: no privilege separation, so root's private temp dir stays usable.
  local jail=(); [[ $EUID -eq 0 ]] && jail=(-j none)
  taskset -c "$SCPU" varnishd -F "${jail[@]}" -a "127.0.0.1:$H1_PORT" -T none -f "$TMP/varnish.vcl" \
    -s malloc,1G -n "$TMP/varnish" -p feature=+http2 >>"$TMP/varnish.log" 2>&1 &
  SRV_PID=$!; PIDS+=("$SRV_PID")
  wait_listen "$H1_PORT" "$SRV_PID" varnishd
  HIT_RE='X-Varnish: [0-9]+ [0-9]+'
}
# The h2c port answers HTTP/2 with prior knowledge? (Else h2 is reported unsupported.)
h2c_works() { curl -s --max-time 5 --http2-prior-knowledge -o /dev/null -w '%{http_version}' "http://127.0.0.1:$H2_PORT${PLAYLIST_PATHS[0]}" 2>/dev/null | grep -q '^2'; }

# ferrocast lookups by x-cache phase and disk writes from /metrics:
# "hit-memory=N hit-disk=N ... disk-writes=N"
edge_lookups() {
  curl -sf --max-time 5 "http://127.0.0.1:$H1_PORT/metrics" | sed -n \
    -e 's/^ferrocast_edge_cache_lookups_total{result="\([^"]*\)"} \([0-9]*\).*/\1=\2/p' \
    -e 's/^ferrocast_edge_cache_disk_writes_total \([0-9]*\).*/disk-writes=\1/p' \
    -e 's/^ferrocast_http_sendfile_bytes_total \([0-9]*\).*/sendfile-bytes=\1/p' | tr '\n' ' '
}
# CPU ticks (utime + stime) of a process and its descendants (nginx's worker,
# varnishd's child).
tree_pids() { local c; echo "$1"; for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do tree_pids "$c"; done; }
cpu_ticks() {
  local p t=0
  for p in $(tree_pids "$1"); do
    t=$((t + $(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
# Runs a client command ("rps gbps errors") and appends the server's CPU % over it.
with_cpu() {
  local c0 r c1 t0 t1
  c0=$(cpu_ticks "$SRV_PID"); t0=$(date +%s.%N)
  r=$("$@")
  c1=$(cpu_ticks "$SRV_PID"); t1=$(date +%s.%N)
  echo "$r $(awk -v c=$((c1 - c0)) -v k="$TCK" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", c / k / (b - a) * 100 }')"
}
# "a=1 b=2" minus "a=0 b=1" → "a=1 b=1"
lookup_delta() {
  awk -v after="$1" -v before="$2" 'BEGIN {
    n = split(before, b, " "); for (i = 1; i <= n; i++) { split(b[i], kv, "="); old[kv[1]] = kv[2] }
    n = split(after, a, " "); for (i = 1; i <= n; i++) { split(a[i], kv, "="); d = kv[2] - old[kv[1]]; if (d) printf "%s=%.0f ", kv[1], d }
  }'
}

# Requests every path until its response headers match HIT_RE (at most 20 tries).
warm() { # server
  local p h i re
  for p in "${SEGMENT_PATHS[@]}" "${PLAYLIST_PATHS[@]}"; do
    re=$HIT_RE; [[ $p == "${PLAYLIST_PATHS[0]}" && -n $HIT_RE_PLAYLIST ]] && re=$HIT_RE_PLAYLIST
    for i in $(seq 20); do
      h=$(curl -s --max-time 10 -o /dev/null -D - "http://127.0.0.1:$H1_PORT$p" | tr -d '\r')
      if grep -Eqi "^$re" <<<"$h"; then break; fi
      [[ $i -ge 2 ]] && sleep 0.2 # let a disk writer or moka's housekeeping run
      if [[ $i -eq 20 ]]; then
        echo "WARN $1: $p never answered '$re'; last: $(grep -Ei '^(x-cache|x-cache-status|x-varnish|age):' <<<"$h" | tr '\n' ' ')" >&2
      fi
    done
  done
  return 0
}

declare -A RES # "server workload proto" → "rps gbps errors;rps gbps errors;..."
declare -A TIERS # "server workload proto" → ferrocast lookups during the run
declare -A P99 # server → "p99_ms;..."
measure() { # server
  local s=$1 w r before
  for w in "${WORKLOADS[@]}"; do
    before=""; [[ $s == ferrocast* ]] && before=$(edge_lookups)
    r=$(with_cpu run_wrk "$H1_PORT" "$w" 32)
    RES["$s $w h1"]+="$r;"
    [[ $s == ferrocast* ]] && TIERS["$s $w h1"]=$(lookup_delta "$(edge_lookups)" "$before")
    log "$s $w h1: rps GB/s errors server-cpu% = $r ${TIERS["$s $w h1"]:-}"
    if [[ $H2_PORT == 0 ]]; then RES["$s $w h2"]+="unsupported;"; continue; fi
    before=""; [[ $s == ferrocast* ]] && before=$(edge_lookups)
    r=$(with_cpu run_h2load "$H2_PORT" "$w")
    RES["$s $w h2"]+="$r;"
    [[ $s == ferrocast* ]] && TIERS["$s $w h2"]=$(lookup_delta "$(edge_lookups)" "$before")
    log "$s $w h2: rps GB/s errors server-cpu% = $r ${TIERS["$s $w h2"]:-}"
  done
  if [[ -z ${SKIP_P99:-} ]]; then
    local out p50 p99 r rps errs
    r=$(run_wrk "$H1_PORT" playlist 1000 --latency)
    out=$(<"$TMP/last-wrk.out")
    p50=$(awk '/Latency Distribution/ { d = 1 } d && $1 == "50%" { print $2; exit }' <<<"$out")
    p99=$(awk '/Latency Distribution/ { d = 1 } d && $1 == "99%" { print $2; exit }' <<<"$out")
    read -r rps _ errs <<<"$r"
    P99[$s]+="p50 $(to_ms "${p50:-0}") ms, p99 $(to_ms "${p99:-0}") ms, $rps req/s, $errs errors; "
    log "$s playlist h1 1000 connections: p50 ${p50:-?} p99 ${p99:-?} $rps req/s errors $errs"
  fi
}

run_server() { # name
  local s=$1
  log "$s"
  HIT_RE_PLAYLIST=""
  "start_$s"
  if ! h2c_works; then
    echo "NOTE $s: no HTTP/2 with prior knowledge on port $H2_PORT: h2 reported as unsupported" >&2
    H2_PORT=0
  fi
  warm "$s"
  measure "$s"
  stop "$SRV_PID"
}

SERVERS=()
[[ -n ${SKIP_FERROCAST:-} || -n ${SKIP_MEM:-} ]] || SERVERS+=(ferrocast-mem)
[[ -n ${SKIP_FERROCAST:-} || -n ${SKIP_DISK:-} ]] || SERVERS+=(ferrocast-disk)
[[ -n ${SKIP_FERROCAST:-} || -n ${SKIP_DISK:-} || -n ${SKIP_SENDFILE:-} ]] || SERVERS+=(ferrocast-disk-zc ferrocast-disk-sf)
[[ -n ${SKIP_NGINX:-} ]] || SERVERS+=(nginx)
[[ -n ${SKIP_VARNISH:-} ]] || SERVERS+=(varnish)
for round in $(seq "$ROUNDS"); do
  log "round $round/$ROUNDS (${DURATION}s per measurement)"
  for s in "${SERVERS[@]}"; do run_server "$s"; done
done

# ---- RSS vs configured memory tier --------------------------------------------
RSS_LINES=()
if [[ -z ${SKIP_RSS:-} && -z ${SKIP_FERROCAST:-} ]]; then
  for mib in 64 256 1024; do
    log "ferrocast RSS with a ${mib} MiB memory tier"
    start_edge $((mib << 20)) "" $((1 << 30))
    idle=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SRV_PID/status")
    n=$((mib * 4 * 3 / 2)) # 256 KiB objects, 1.5x the tier
    timeout 600 taskset -c "$CCPU" "$LOAD" --url "http://127.0.0.1:$H1_PORT" --catalog "$n" \
      --template "/sized/262144/rss-{i}.bin" --dist uniform --requests $((n * 8)) --connections 16 --json \
      >"$TMP/rss-$mib.json" 2>>"$TMP/clients.log" || true
    sleep 1
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SRV_PID/status")
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SRV_PID/status")
    held=$(curl -sf --max-time 5 "http://127.0.0.1:$H1_PORT/metrics" | awk '/^ferrocast_edge_cache_memory_bytes / { print $2 }')
    RSS_LINES+=("$(awk -v m="$mib" -v i="$idle" -v r="$rss" -v h="$hwm" -v b="${held:-0}" -v j="$(tr -d '\n' <"$TMP/rss-$mib.json")" 'BEGIN {
      match(j, /"requests":[0-9]+/); q = substr(j, RSTART + 11, RLENGTH - 11)
      printf "%8d MiB %12.1f %12.1f %12.1f %12.1f %10.2f %10s\n", m, b / 1048576, i / 1024, r / 1024, h / 1024, r / 1024 / m, q }')")
    stop "$SRV_PID"
  done
fi

# ---- Zipf hit ratio -----------------------------------------------------------
ZIPF_LINE=""
if [[ -z ${SKIP_ZIPF:-} && -z ${SKIP_FERROCAST:-} ]]; then
  total_mib=$((ZIPF_MEM_MIB + ZIPF_DISK_MIB))
  zn=$((total_mib * 16 * 10)) # 64 KiB objects, 10x the cache
  log "ferrocast Zipf(1.0): memory ${ZIPF_MEM_MIB} MiB + disk ${ZIPF_DISK_MIB} MiB, catalog $zn x 64 KiB"
  start_edge $((ZIPF_MEM_MIB << 20)) "$TMP/disk" $((ZIPF_DISK_MIB << 20))
  o0=$(origin_requests)
  timeout 200 taskset -c "$CCPU" "$LOAD" --url "http://127.0.0.1:$H1_PORT" --catalog "$zn" \
    --template "/sized/65536/z-{i}.bin" --dist zipf:1.0 --warmup-s 20 --duration-s 30 --connections 32 --json \
    >"$TMP/zipf.json" 2>>"$TMP/clients.log" || true
  o1=$(origin_requests)
  ZIPF_JSON=$(tr -d '\n' <"$TMP/zipf.json")
  ZIPF_LINE=$(awk -v j="$ZIPF_JSON" -v n="$zn" -v k=$((total_mib * 16)) -v o=$((o1 - o0)) 'BEGIN {
    for (i = 1; i <= n; i++) { h += 1 / i; if (i == k) hk = h }
    match(j, /"hit_ratio":[0-9.e-]+/); r = substr(j, RSTART + 12, RLENGTH - 12)
    match(j, /"x_cache":\{[^}]*\}/); x = substr(j, RSTART + 10, RLENGTH - 10)
    match(j, /"requests":[0-9]+/); q = substr(j, RSTART + 11, RLENGTH - 11)
    match(j, /"errors":[0-9]+/); e = substr(j, RSTART + 9, RLENGTH - 9)
    printf "hit_ratio %s (requests %s, errors %s, x-cache %s; origin requests during warm-up+run %d)\n", r, q, e, x, o
    printf "static optimum H(K)/H(N), K = %d cached objects, N = %d: %.4f", k, n, hk / h }')
  stop "$SRV_PID"
fi

# ---- report -------------------------------------------------------------------
median() { tr ' ' '\n' | awk NF | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
# column k (1 rps, 2 GB/s, 3 errors, 4 server CPU %) of "server workload proto", median over rounds
stat() {
  local v=${RES["$1"]:-}
  [[ -n $v ]] || { echo "-"; return; }
  [[ $v == unsupported* ]] && { echo "n/a"; return; }
  tr ';' '\n' <<<"$v" | awk NF | awk -v k="$2" '{ print $k }' | tr '\n' ' ' | median \
    | awk -v k="$2" '{ printf (k == 2 ? "%.3f\n" : "%.0f\n"), $1 }'
}
# GB/s per busy server core: the median GB/s over the median server CPU share. On a
# 2-core box a single client core caps every server near the same GB/s; this shows
# what each server spends for it (the brief's "throughput per core").
per_core() { awk -v g="$(stat "$1" 2)" -v c="$(stat "$1" 4)" 'BEGIN { if (g + 0 > 0 && c + 0 > 0) printf "%.2f", g / (c / 100); else printf "-" }'; }
best_per_core() { # workload proto: best GB/s per core of nginx and varnish, "value name"
  local n v; n=$(per_core "nginx $1 $2"); v=$(per_core "varnish $1 $2")
  awk -v n="$n" -v v="$v" 'BEGIN { if (v + 0 > n + 0) print v, "varnish"; else if (n + 0 > 0) print n, "nginx"; else print "- none" }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else printf "-" }'; }
best() { # workload proto column: best of nginx and varnish, "value name"
  local n v; n=$(stat "nginx $1 $2" "$3"); v=$(stat "varnish $1 $2" "$3")
  awk -v n="$n" -v v="$v" 'BEGIN { if (v + 0 > n + 0) print v, "varnish"; else if (n + 0 > 0) print n, "nginx"; else print "- none" }'
}

echo
echo "edge_vs_peers: ${DURATION}s per measurement, ${ROUNDS} round(s), server on core $SCPU, clients on core $CCPU, 32 connections"
echo "(srv_cpu%: the server's CPU over the run, 100 = its one core busy; a server well below 100 was not the bottleneck)"
printf '%-17s %-9s %-5s %12s %8s %7s %9s %10s  %s\n' server workload proto req/s GB/s errors srv_cpu% GB/s/core "ferrocast x-cache, disk writes (from /metrics)"
for s in "${SERVERS[@]}"; do
  for w in "${WORKLOADS[@]}"; do
    for p in h1 h2; do
      printf '%-17s %-9s %-5s %12s %8s %7s %9s %10s  %s\n' "$s" "$w" "$p" "$(stat "$s $w $p" 1)" "$(stat "$s $w $p" 2)" \
        "$(stat "$s $w $p" 3)" "$(stat "$s $w $p" 4)" "$(per_core "$s $w $p")" "${TIERS["$s $w $p"]:-}"
    done
  done
done
if [[ " ${SERVERS[*]} " == *" ferrocast-mem "* ]] && [[ " ${SERVERS[*]} " == *" nginx "* || " ${SERVERS[*]} " == *" varnish "* ]]; then
  echo
  echo "RATIOS (goal: ferrocast-mem >= 1.2x the best peer; ferrocast-disk >= 1.0x nginx)"
  for p in h1 h2; do
    read -r bv bn <<<"$(best segment $p 2)"
    echo "  segment  $p GB/s:  ferrocast-mem / best peer ($bn) = $(ratio "$(stat "ferrocast-mem segment $p" 2)" "$bv")"
    read -r bv bn <<<"$(best playlist $p 1)"
    echo "  playlist $p req/s: ferrocast-mem / best peer ($bn) = $(ratio "$(stat "ferrocast-mem playlist $p" 1)" "$bv")"
    read -r bv bn <<<"$(best_per_core segment $p)"
    echo "  segment  $p GB/s per server core: ferrocast-mem / best peer ($bn) = $(ratio "$(per_core "ferrocast-mem segment $p")" "$bv")"
  done
  if [[ " ${SERVERS[*]} " == *" ferrocast-disk "* && " ${SERVERS[*]} " == *" nginx "* ]]; then
    for p in h1 h2; do
      echo "  segment  $p GB/s:  ferrocast-disk / nginx = $(ratio "$(stat "ferrocast-disk segment $p" 2)" "$(stat "nginx segment $p" 2)")"
      echo "  segment  $p GB/s per server core: ferrocast-disk / nginx = $(ratio "$(per_core "ferrocast-disk segment $p")" "$(per_core "nginx segment $p")")"
      echo "  playlist $p req/s: ferrocast-disk / nginx = $(ratio "$(stat "ferrocast-disk playlist $p" 1)" "$(stat "nginx playlist $p" 1)")"
    done
  fi
fi
if [[ " ${SERVERS[*]} " == *" ferrocast-disk "* && " ${SERVERS[*]} " == *" ferrocast-disk-sf "* ]]; then
  echo
  echo "ZERO-COPY / SENDFILE (after / before, same build, same run; before = ferrocast-disk, hits copied out)"
  for s in ferrocast-disk-zc ferrocast-disk-sf; do
    for p in h1 h2; do
      echo "  $s segment $p GB/s: $(ratio "$(stat "$s segment $p" 2)" "$(stat "ferrocast-disk segment $p" 2)"), per server core: $(ratio "$(per_core "$s segment $p")" "$(per_core "ferrocast-disk segment $p")")"
    done
  done
fi
if [[ -z ${SKIP_P99:-} ]]; then
  echo
  echo "latency at 1000 connections: playlist hits, HTTP/1.1, wrk -t1 -c1000 --latency (per round)"
  for s in "${SERVERS[@]}"; do printf '  %-15s %s\n' "$s" "${P99[$s]:-}"; done
fi
if (( ${#RSS_LINES[@]} )); then
  echo
  echo "ferrocast RSS vs configured memory tier (MiB; filled with 256 KiB objects, catalog 1.5x the tier)"
  printf '%12s %12s %12s %12s %12s %10s %10s\n' configured tier_held rss_idle rss_full rss_peak rss/conf requests
  printf '%s\n' "${RSS_LINES[@]}"
fi
if [[ -n $ZIPF_LINE ]]; then
  echo
  echo "ferrocast Zipf(1.0) hit ratio, memory ${ZIPF_MEM_MIB} MiB + disk ${ZIPF_DISK_MIB} MiB, catalog 10x (64 KiB objects), 32 connections, 20 s warm-up + 30 s"
  echo "  $ZIPF_LINE" | sed '2s/^/  /'
fi
