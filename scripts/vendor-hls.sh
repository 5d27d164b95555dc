#!/usr/bin/env bash
# Refresh origin/assets/vendor/hls.min.js from the npm registry.
#
#   scripts/vendor-hls.sh [VERSION]      (default: the version pinned below)
#
# The origin's pages embed hls.js in the binary (include_bytes!), so viewers never
# load a player from a CDN. This fetches the published tarball with `npm pack`,
# checks its integrity against the registry's sha512 (npm does), and copies
# dist/hls.min.js. Keep HLS_VERSION in step with tests/browser/package.json.
set -euo pipefail
HLS_VERSION=${1:-1.7.4}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"
npm pack --silent "hls.js@$HLS_VERSION" >/dev/null
tar -xzf "hls.js-$HLS_VERSION.tgz"
grep -q "\"version\": \"$HLS_VERSION\"" package/package.json
cp package/dist/hls.min.js "$ROOT/origin/assets/vendor/hls.min.js"
echo "$HLS_VERSION" >"$ROOT/origin/assets/vendor/hls.version"
echo "origin/assets/vendor/hls.min.js is hls.js $HLS_VERSION" >&2
