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
# With arguments (a path, -t NAME, ...): one in-band Jest run of what they select, as before.
# Without: two Jest runs at once (issue #20): the serial group, in band (the e2e suites that
# share machine state: test/suite-groups.js says which and why), and the concurrent group
# (every other suite, in MCP_TEST_WORKERS parallel workers). Then the totals and the 10
# slowest suites (test/results-summary.js).
work="$(mktemp -d)"
serial_pid=""
trap '[ -z "$serial_pid" ] || kill "$serial_pid" 2>/dev/null; rm -rf "$work"' EXIT
rc=0
started=$(date +%s)
if [ $# -gt 0 ]; then
  npm test -- --json --outputFile="$work/all.json" "$@" || rc=$?
  summary=("all=$work/all.json")
else
  # The serial group shares the rootless users and the netns fleet: on a shared machine it
  # waits for any other run of those suites (the lock every engineer's run takes).
  lock=()
  if command -v flock >/dev/null; then lock=(flock "${MCP_FLEET_LOCK:-/tmp/mcp-fleet.lock}"); fi
  # Its output goes to a file, printed once it is done, so the two reports do not interleave.
  MCP_TEST_GROUP=serial "${lock[@]}" npx jest --runInBand --json --outputFile="$work/serial.json" \
    >"$work/serial.log" 2>&1 &
  serial_pid=$!
  MCP_TEST_GROUP=concurrent npx jest --maxWorkers="${MCP_TEST_WORKERS:-3}" --json --outputFile="$work/concurrent.json" || rc=$?
  serial_rc=0
  wait "$serial_pid" || serial_rc=$?
  serial_pid=""
  echo "== serial group (ran beside the concurrent group; exit $serial_rc)"
  cat "$work/serial.log"
  [ "$serial_rc" -eq 0 ] || rc=$serial_rc
  summary=("serial=$work/serial.json" "concurrent=$work/concurrent.json")
fi
# The plain closing lines ("N passed, N failed", the slowest suites) that any reader of this output understands.
node test/results-summary.js "${summary[@]}" || true
echo "tests took $(( $(date +%s) - started )) s"
exit "$rc"
