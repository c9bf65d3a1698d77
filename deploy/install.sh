#!/usr/bin/env bash
# Installs (or removes) the MCP agent on this node. Idempotent: running it again changes
# nothing that is already right and never overwrites an existing config.
#
#   sudo deploy/install.sh                 install from this checkout (run `npm ci && npm run build` first)
#   sudo deploy/install.sh --uninstall     remove the program and units; keep /srv/mcp (data, config)
#   sudo deploy/install.sh --uninstall --purge-data   also remove /srv/mcp
#
# What it does: creates the `mcp` system user with subuid/subgid ranges (rootless podman)
# and lingering (so /run/user/<uid> exists without a login); creates /srv/mcp (0750, mcp);
# copies the built program to $MCP_PREFIX/lib/mcp (root's, for the `mcp` command) and links
# $MCP_PREFIX/bin/mcp; installs the agent in the release layout (SPEC §16,
# docs/self-management.md) under $MCP_PREFIX/lib/mcp-agent, owned by the mcp user so that
# `mcp node upgrade` can add releases: bin/mcp-agent-launch, node_modules/, the build as
# releases/<version>-<sha12>/ and `current` pointing at it (the release that was current
# becomes `previous`), and links $MCP_PREFIX/bin/mcp-agent to current; installs the systemd
# units; installs an example config as /srv/mcp/mcp-agent.toml if none exists. It does not
# start anything: `systemctl enable --now mcp-agent` does.
#
# Overridable for tests and unusual layouts: MCP_PREFIX (/usr/local), MCP_SRV (/srv/mcp),
# MCP_UNIT_DIR (/etc/systemd/system), MCP_USER (mcp).
set -euo pipefail

prefix="${MCP_PREFIX:-/usr/local}"
srv="${MCP_SRV:-/srv/mcp}"
unit_dir="${MCP_UNIT_DIR:-/etc/systemd/system}"
user="${MCP_USER:-mcp}"
src="$(cd "$(dirname "$0")/.." && pwd)"
mode=install
purge=no
for arg in "$@"; do
  case "$arg" in
    --uninstall) mode=uninstall ;;
    --purge-data) purge=yes ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root" >&2; exit 1; }
have_systemd() { [ -d /run/systemd/system ]; }
say() { echo "install.sh: $*"; }

if [ "$mode" = uninstall ]; then
  if have_systemd; then
    systemctl disable --now mcp-agent.service mcp-agent-backup.timer 2>/dev/null || true
  fi
  rm -f "$unit_dir/mcp-agent.service" "$unit_dir/mcp-agent-backup.service" "$unit_dir/mcp-agent-backup.timer"
  rm -f "$prefix/bin/mcp-agent" "$prefix/bin/mcp"
  rm -rf "$prefix/lib/mcp" "$prefix/lib/mcp-agent"
  have_systemd && systemctl daemon-reload || true
  if [ "$purge" = yes ]; then
    rm -rf "$srv"
    say "removed $srv"
  else
    say "kept $srv (data and config); --purge-data removes it"
  fi
  say "uninstalled"
  exit 0
fi

[ -f "$src/dist/mcp-agent.js" ] && [ -f "$src/dist/mcp.js" ] || {
  echo "install.sh: $src is not built: run npm ci && npm run build first" >&2
  exit 1
}

# The user: a system account whose home is the agent's data dir, with subordinate id
# ranges for rootless podman.
if ! id "$user" >/dev/null 2>&1; then
  useradd --system --home-dir "$srv" --shell /usr/sbin/nologin --user-group "$user"
  say "created user $user"
fi
uid=$(id -u "$user")
for f in /etc/subuid /etc/subgid; do
  touch "$f"
  if ! grep -q "^$user:" "$f"; then
    # Pick a 65536-id range above every range already handed out.
    start=$(awk -F: 'BEGIN{m=100000} {e=$2+$3; if (e>m) m=e} END{print m}' "$f")
    echo "$user:$start:65536" >> "$f"
    say "added $user:$start:65536 to $f"
  fi
done
if command -v loginctl >/dev/null 2>&1 && have_systemd; then
  loginctl enable-linger "$user"
fi

install -d -m 0750 -o "$user" -g "$user" "$srv" "$srv/backups"

# The production dependencies of the checkout (npm's own list: what `npm ci --omit=dev` would
# install), copied into $1 with their layout; the checkout's dev tools (TypeScript, Jest, the
# lint and build chain: more than half of node_modules) are not installed.
production_modules=()
copy_production_modules() {
  local to="$1" dir rel list
  if [ ${#production_modules[@]} -eq 0 ]; then
    list=$(cd "$src" && npm ls --omit=dev --parseable --all 2>/dev/null || true)
    while IFS= read -r dir; do
      rel="${dir#"$src/node_modules/"}"
      # The top of the tree, and packages nested in another (copied with it), are skipped.
      case "$dir" in "$src/node_modules/"*) ;; *) continue ;; esac
      case "$rel" in */node_modules/*) continue ;; esac
      production_modules+=("$rel")
    done <<< "$list"
    if [ ${#production_modules[@]} -eq 0 ]; then
      echo "install.sh: npm ls found no production dependencies in $src/node_modules: run npm ci first" >&2
      exit 1
    fi
  fi
  mkdir -p "$to"
  # One cp for all of them (a cp per package was ~440 processes an install, slow on a loaded machine).
  (cd "$src/node_modules" && printf '%s\0' "${production_modules[@]}" | xargs -0 cp -a --parents -t "$to")
}

# The program: a self-contained copy of the build with its production dependencies.
dest="$prefix/lib/mcp"
install -d -m 0755 "$dest"
rm -rf "$dest.new"
mkdir -p "$dest.new"
cp -a "$src/package.json" "$src/package-lock.json" "$src/bin" "$src/proto" "$dest.new/"
mkdir -p "$dest.new/dist"
cp -a "$src/dist/mcp-agent.js" "$src/dist/mcp.js" "$src/dist/mcp-help.txt" "$dest.new/dist/"
cp -a "$src/dist/"*.map "$dest.new/dist/" 2>/dev/null || true
copy_production_modules "$dest.new/node_modules"
rm -rf "$dest"
mv "$dest.new" "$dest"
install -d -m 0755 "$prefix/bin"
ln -sfn "$dest/bin/mcp.js" "$prefix/bin/mcp"

# The agent's release layout: this build becomes releases/<version>-<sha12> (the bundle
# `npm run bundle:agent` makes, unpacked), `current` points at it, and the release it
# replaces (if any) becomes `previous`, exactly as an upgrade leaves it.
agent="$prefix/lib/mcp-agent"
install -d -m 0755 -o "$user" -g "$user" "$agent" "$agent/bin" "$agent/releases"
install -m 0755 -o "$user" -g "$user" "$src/deploy/mcp-agent-launch" "$agent/bin/mcp-agent-launch"
bundle_dir=$(mktemp -d)
trap 'rm -rf "$bundle_dir"' EXIT
made=$(node "$src/scripts/bundle-agent.js" --out "$bundle_dir/bundle.tar.gz")
release=$(node -e 'process.stdout.write(JSON.parse(process.argv[1]).release)' "$made")
case "$release" in *[!0-9A-Za-z.+-]*|'') echo "install.sh: bad release name \"$release\"" >&2; exit 1 ;; esac
if [ ! -d "$agent/releases/$release" ]; then
  mkdir "$agent/releases/.partial-$release"
  tar -xzf "$bundle_dir/bundle.tar.gz" -C "$agent/releases/.partial-$release" --no-same-owner
  chown -R "$user:$user" "$agent/releases/.partial-$release"
  mv "$agent/releases/.partial-$release" "$agent/releases/$release"
fi
rm -rf "$agent/node_modules.new"
copy_production_modules "$agent/node_modules.new"
rm -rf "$agent/node_modules"
mv "$agent/node_modules.new" "$agent/node_modules"
was=$(readlink "$agent/current" 2>/dev/null | sed 's|^releases/||' || true)
if [ "$was" != "$release" ]; then
  if [ -n "$was" ] && [ -d "$agent/releases/$was" ]; then
    ln -sfn "releases/$was" "$agent/.previous.tmp" && mv -T "$agent/.previous.tmp" "$agent/previous"
  fi
  ln -sfn "releases/$release" "$agent/.current.tmp" && mv -T "$agent/.current.tmp" "$agent/current"
  chown -h "$user:$user" "$agent/current" "$agent/previous" 2>/dev/null || true
  say "agent release $release is current${was:+ (previous: $was)}"
else
  say "agent release $release is already current"
fi
ln -sfn "$agent/current/bin/mcp-agent.js" "$prefix/bin/mcp-agent"
say "installed $prefix/bin/mcp-agent and $prefix/bin/mcp"

# Units, with the mcp user's uid for XDG_RUNTIME_DIR.
install -d "$unit_dir"
sed -e "s/@MCP_UID@/$uid/g" -e "s|@MCP_AGENT_DIR@|$agent|g" "$src/deploy/mcp-agent.service" > "$unit_dir/mcp-agent.service"
install -m 0644 "$src/deploy/mcp-agent-backup.service" "$src/deploy/mcp-agent-backup.timer" "$unit_dir/"
chmod 0644 "$unit_dir/mcp-agent.service"
have_systemd && systemctl daemon-reload || true
say "installed units in $unit_dir"

if [ ! -e "$srv/mcp-agent.toml" ]; then
  install -m 0640 -o "$user" -g "$user" "$src/deploy/mcp-agent.toml" "$srv/mcp-agent.toml"
  say "installed example config $srv/mcp-agent.toml: edit it (node_name, TLS cert/key, auth)"
else
  say "kept existing $srv/mcp-agent.toml"
fi
say "done. Next: edit $srv/mcp-agent.toml, then systemctl enable --now mcp-agent mcp-agent-backup.timer"
