#!/usr/bin/env bash
# Refresh origin/assets/vendor/tus.min.js from the npm registry.
#
#   scripts/vendor-tus.sh [VERSION]      (default: the version pinned below)
#
# The admin page uploads VOD sources with tus-js-client (tus 1.0 resumable uploads,
# issue 7), embedded in the binary (include_bytes!) like hls.js, so the page loads
# nothing from a CDN. This fetches the published tarball with `npm pack` (npm checks
# its integrity against the registry's sha512) and copies the browser build
# dist/tus.min.js (a UMD bundle: `window.tus`). The browser test
# (tests/browser/uploads.test.mjs) uses this copy, as the admin page serves it.
set -euo pipefail
TUS_VERSION=${1:-4.3.1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"
npm pack --silent "tus-js-client@$TUS_VERSION" >/dev/null
tar -xzf "tus-js-client-$TUS_VERSION.tgz"
grep -q "\"version\": \"$TUS_VERSION\"" package/package.json
cp package/dist/tus.min.js "$ROOT/origin/assets/vendor/tus.min.js"
echo "$TUS_VERSION" >"$ROOT/origin/assets/vendor/tus.version"
echo "origin/assets/vendor/tus.min.js is tus-js-client $TUS_VERSION" >&2
