#!/usr/bin/env bash
# Prepares an unprivileged user for the rootless e2e suite (run as root; idempotent):
#   - user $MCP_E2E_USER (default mcp-e2e) with subuid/subgid ranges (useradd gives them)
#   - its XDG_RUNTIME_DIR, /run/user/<uid> (systemd-logind would make it on a real host)
#   - /dev/net/tun usable by it: slirp4netns needs it for published ports. It is 0600 on these
#     sandbox machines and 0666 on ordinary hosts.
#   - the local test images in its own podman storage
# Prints the user name, uid and runtime dir.
set -euo pipefail
user="${MCP_E2E_USER:-mcp-e2e}"
root="$(cd "$(dirname "$0")/.." && pwd)"
[ "$(id -u)" -eq 0 ] || { echo "setup-rootless-test-env: run as root" >&2; exit 1; }
id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
for f in /etc/subuid /etc/subgid; do
  grep -q "^$user:" "$f" || {
    start=$(awk -F: 'BEGIN{m=100000} {e=$2+$3; if (e>m) m=e} END{print m}' "$f")
    echo "$user:$start:65536" >> "$f"
  }
done
uid=$(id -u "$user")
install -d -m 0700 -o "$user" -g "$user" "/run/user/$uid"
[ -c /dev/net/tun ] && chmod 0666 /dev/net/tun
conf="$root/test/podman/containers.conf"
runuser -u "$user" -- env HOME="$(getent passwd "$user" | cut -d: -f6)" XDG_RUNTIME_DIR="/run/user/$uid" \
  CONTAINERS_CONF="$conf" PATH="$PATH" "$root/scripts/build-test-image.sh" >/dev/null
echo "rootless test user: $user uid=$uid XDG_RUNTIME_DIR=/run/user/$uid"
