#!/usr/bin/env bash
# Prepares the three-node fleet e2e suite (run as root; idempotent): one rootless user per
# simulated node (mcpfleet1..3, each with its own podman storage holding the local test
# images), made the same way as the rootless suite's user. The suite itself creates and
# removes its network namespaces (`i12-*`); scripts/cleanup-fleet-test.sh removes any a
# killed run left behind.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
[ "$(id -u)" -eq 0 ] || { echo "setup-fleet-test-env: run as root" >&2; exit 1; }
command -v ip >/dev/null || { echo "setup-fleet-test-env: iproute2 (ip) is missing" >&2; exit 1; }
for i in 1 2 3; do
  MCP_E2E_USER="mcpfleet$i" "$root/scripts/setup-rootless-test-env.sh"
done
