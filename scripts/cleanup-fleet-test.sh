#!/usr/bin/env bash
# Removes what an interrupted fleet e2e run left: every network namespace named `i12-*`
# (only the fleet suite makes those), after ending the processes still running inside them.
# Run as root.
set -euo pipefail
for ns in $(ip netns list | awk '{print $1}' | grep '^i12-' || true); do
  for pid in $(ip netns pids "$ns"); do kill -9 "$pid" 2>/dev/null || true; done
  ip netns delete "$ns"
  echo "removed network namespace $ns"
done
