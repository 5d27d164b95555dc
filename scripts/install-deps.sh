#!/usr/bin/env bash
# Install whatever Ferrocast needs that is missing, on Debian 12 (bookworm).
#
#   scripts/install-deps.sh run    # what building and running ferrocast-origin needs
#   scripts/install-deps.sh test   # plus what the tests need (ffmpeg, chromium, postgresql, node, npm packages)
#
# Idempotent and quick when everything is present: apt is only touched when a
# package is missing (checked with dpkg), `apt-get update` runs at most once,
# and `npm ci` in tests/browser only re-runs when package-lock.json changed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SET=${1:-run}

log() { printf '[install-deps] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

case "$SET" in
  run | test) ;;
  *) die "usage: $0 [run|test]" ;;
esac

# ---------------------------------------------------------------------------
# Package sets.
# ---------------------------------------------------------------------------

# Building and running the origin: a C toolchain (the linker, ring's few C/asm
# files) and pkg-config; ferrocast-origin links FFmpeg through ffmpeg-next
# (packager's `transcode` feature), which needs Debian's libav*-dev (FFmpeg 5.1)
# and clang/libclang for ffmpeg-sys-next's bindgen. The edge links no FFmpeg.
# cmake and g++ build aws-lc, the crypto behind str0m's DTLS-SRTP (WebRTC).
RUN_PKGS=(pkg-config gcc g++ cmake libc6-dev ca-certificates clang libclang-dev
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev
  libavfilter-dev libavdevice-dev)

# Tests: ffmpeg/ffprobe publish and inspect streams; chromium plays them in
# the browser tests (with a font so drawtext and pages render); curl for probes;
# postgresql (15 on Debian 12) for the control-plane tests, which run their own
# throwaway cluster on loopback via scripts/test-postgres.sh. The package may
# create and start a system cluster "15/main" on port 5432; nothing uses it.
# srt-tools gives srt-live-transmit, the second libsrt sender of the SRT tests.
# HTTP/3 is checked with third-party clients: ngtcp2-client (gtlsclient) from apt,
# aioquic from PyPI into a venv (python3-venv). pebble (with pebble-challtestsrv)
# is the local ACME CA of tests/tests/acme.rs.
TEST_PKGS=(ffmpeg chromium fonts-liberation curl postgresql srt-tools ngtcp2-client python3-venv pebble)

# ---------------------------------------------------------------------------

is_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'
}

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  fi
fi

APT_UPDATED=0
apt_install() {
  [ $# -gt 0 ] || return 0
  if [ "$(id -u)" -ne 0 ] && [ ${#SUDO[@]} -eq 0 ]; then
    die "missing packages: $* — run as root or install sudo, or: apt-get install $*"
  fi
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install by hand: $*"
  export DEBIAN_FRONTEND=noninteractive
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" </dev/null
}

want=("${RUN_PKGS[@]}")
if [ "$SET" = test ]; then
  want+=("${TEST_PKGS[@]}")
  # Node.js >= 18 and npm: keep whatever is there (e.g. NodeSource's nodejs,
  # which ships npm itself); otherwise take Debian's nodejs (18) and npm.
  node_major=0
  if command -v node >/dev/null 2>&1; then
    node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  fi
  if [ "$node_major" -lt 18 ]; then
    want+=(nodejs)
  fi
  if ! command -v npm >/dev/null 2>&1; then
    want+=(npm)
  fi
fi

missing=()
for p in "${want[@]}"; do
  is_installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}"
else
  log "apt packages for '$SET': all present"
fi

command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust (https://rustup.rs) first"

if [ "$SET" = test ]; then
  # npm packages for the browser tests (puppeteer-core drives Debian's
  # chromium, so no browser download; hls.js and dashjs are served to the page).
  export PUPPETEER_SKIP_DOWNLOAD=1 PUPPETEER_SKIP_CHROMIUM_DOWNLOAD=1
  BROWSER_DIR="$ROOT/tests/browser"
  stamp="$BROWSER_DIR/node_modules/.ferrocast-lock.sha256"
  lock_sum=$(sha256sum "$BROWSER_DIR/package-lock.json" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_sum" ] &&
    [ -d "$BROWSER_DIR/node_modules/puppeteer-core" ] &&
    [ -f "$BROWSER_DIR/node_modules/hls.js/dist/hls.min.js" ]; then
    log "npm packages in tests/browser: up to date"
  else
    log "npm ci in tests/browser"
    (cd "$BROWSER_DIR" && npm ci --no-audit --no-fund --loglevel=error </dev/null)
    printf '%s\n' "$lock_sum" >"$stamp"
  fi
fi

if [ "$SET" = test ]; then
  # aioquic's HTTP/3 client: the library from PyPI in a venv, and its example
  # client (examples/http3_client.py, shipped in the sdist only).
  AIOQUIC_VERSION=1.7.2
  AQ="$ROOT/tests/.aioquic"
  if [ -x "$AQ/venv/bin/python" ] && [ -f "$AQ/http3_client.py" ] &&
    "$AQ/venv/bin/python" -c "import aioquic, wsproto; assert aioquic.__version__ == '$AIOQUIC_VERSION'" 2>/dev/null; then
    log "aioquic $AIOQUIC_VERSION in tests/.aioquic: present"
  else
    log "aioquic $AIOQUIC_VERSION into tests/.aioquic (PyPI)"
    rm -rf "$AQ"
    python3 -m venv "$AQ/venv"
    "$AQ/venv/bin/pip" install -q --disable-pip-version-check "aioquic==$AIOQUIC_VERSION" wsproto </dev/null
    "$AQ/venv/bin/pip" download -q --disable-pip-version-check --no-deps --no-binary :all: \
      -d "$AQ/sdist" "aioquic==$AIOQUIC_VERSION" </dev/null
    tar -xzf "$AQ/sdist/aioquic-$AIOQUIC_VERSION.tar.gz" -C "$AQ/sdist"
    cp "$AQ/sdist/aioquic-$AIOQUIC_VERSION/examples/http3_client.py" "$AQ/http3_client.py"
    rm -rf "$AQ/sdist"
  fi
fi
