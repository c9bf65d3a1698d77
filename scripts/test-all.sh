#!/usr/bin/env bash
# Runs the whole test suite from a fresh clone: installs the system packages the tests use
# (when run as root; otherwise lists what is missing), installs and builds MCP, builds the
# local test images, then runs every suite (`npm test`). This is the README's test command
# and exactly what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
export npm_config_nodedir="${npm_config_nodedir:-/usr}"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/test/podman/containers.conf}"

./scripts/install-system-deps.sh --test
# npm ci unless node_modules was installed from this very lockfile already (CI's lint step
# installs first; a developer re-running the suite keeps their tree).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "== build"
npm run build --silent
echo "== test images"
./scripts/build-test-image.sh
if [ "$(id -u)" -eq 0 ]; then ./scripts/setup-rootless-test-env.sh; ./scripts/setup-fleet-test-env.sh; fi
echo "== tests"
results="$(mktemp)"
rc=0
npm test -- --json --outputFile="$results" "$@" || rc=$?
# The plain closing line ("N passed, N failed") that any reader of this output understands.
node -e '
  const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
' "$results" || true
rm -f "$results"
exit "$rc"
