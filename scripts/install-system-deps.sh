#!/usr/bin/env bash
# Installs the Debian packages MCP needs. `--test` adds what the test suite runs against
# (a real OCI registry, a real ACME server). As root it installs them with apt; otherwise it
# lists the missing ones and exits 1.
set -euo pipefail
packages=(podman runc uidmap slirp4netns busybox-static openssl sqlite3 restic)
if [ "${1:-}" = "--test" ]; then
  packages+=(docker-registry apache2-utils pebble systemd prometheus chromium fonts-dejavu-core podman-compose catatonit iproute2 openssh-server openssh-client)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "== apt-get install ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
