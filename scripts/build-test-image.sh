#!/usr/bin/env bash
# Builds the small local images the tests and the quick start use, from Debian's static
# busybox (nothing is pulled from the internet). Idempotent: an existing image is kept.
#   localhost/mcp-test/busybox:1.0 and :2.0   httpd, sh, sleep, nc, env, ...
# Usage: scripts/build-test-image.sh   (runs podman as the calling user)
set -euo pipefail
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || { echo "build-test-image: busybox not found (apt-get install busybox-static)" >&2; exit 1; }
for tag in 1.0 2.0; do
  ref="localhost/mcp-test/busybox:$tag"
  if podman image exists "$ref"; then continue; fi
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/rootfs/bin" "$work/rootfs/www" "$work/rootfs/tmp" "$work/rootfs/etc"
  cp "$busybox" "$work/rootfs/bin/busybox"
  for applet in sh ash httpd sleep nc cat echo env ls mkdir id wget printenv true false kill ps date tail head grep; do
    ln -s busybox "$work/rootfs/bin/$applet"
  done
  echo "hello from mcp-test busybox $tag" > "$work/rootfs/www/index.html"
  echo "root:x:0:0:root:/root:/bin/sh" > "$work/rootfs/etc/passwd"
  echo "root:x:0:" > "$work/rootfs/etc/group"
  tar -C "$work/rootfs" -cf "$work/img.tar" .
  podman import --quiet \
    --change 'CMD ["/bin/httpd","-f","-p","8080","-h","/www"]' \
    --change 'ENV PATH=/bin' \
    "$work/img.tar" "$ref" >/dev/null
  rm -rf "$work"
  trap - EXIT
  echo "build-test-image: built $ref"
done
