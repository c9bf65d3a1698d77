#!/usr/bin/env bash
# MCP quick start on embedded defaults: a local agent with a generated TLS certificate and a
# generated static access token (no MCIAS), an example service deployed through the real
# `mcp` CLI, its page fetched through the allocated port, and `mcp ps`.
#
#   ./scripts/quickstart.sh          set up (or reuse) and run; safe to run again
#   ./scripts/quickstart.sh --down   undeploy the example, stop the agent, keep the state dir
#   ./scripts/quickstart.sh --purge  --down, then remove the state dir
#
# Everything lives in $MCP_QUICKSTART_DIR (default: <repo>/.mcp-quickstart). Your own
# ~/.config/mcp is not touched: the CLI is pointed at the quick start's config with
# MCP_CONFIG, which the script prints for you to export. Ports: MCP_QUICKSTART_PORT (gRPC,
# default 9444) and MCP_QUICKSTART_METRICS_PORT (Prometheus /metrics, default 9445). Set on
# a re-run, they are written into the existing configs (a running agent is restarted on them);
# unset, a re-run keeps the ports the configs already have.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
state="${MCP_QUICKSTART_DIR:-$repo/.mcp-quickstart}"
port="${MCP_QUICKSTART_PORT:-9444}"
# Prometheus metrics (SPEC §10); its own port so that two agents on one machine never collide.
metrics_port="${MCP_QUICKSTART_METRICS_PORT:-9445}"
case "$port$metrics_port" in *[!0-9]*) echo "quickstart: MCP_QUICKSTART_PORT and MCP_QUICKSTART_METRICS_PORT must be port numbers" >&2; exit 2 ;; esac
image="localhost/mcp-test/busybox:1.0"
mcp() { node "$repo/bin/mcp.js" "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }
export MCP_CONFIG="$state/mcp.toml"
export npm_config_nodedir="${npm_config_nodedir:-/usr}"

agent_pid() {
  local pid
  pid=$(cat "$state/agent.pid" 2>/dev/null) || return 1
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

down() {
  if agent_pid >/dev/null && [ -f "$state/mcp.toml" ]; then
    step "undeploying the example service"
    mcp undeploy hello || true
  fi
  # The restart loop below ends once the agent exits with this file present.
  [ -d "$state" ] && touch "$state/agent.stop"
  if pid=$(agent_pid); then
    step "stopping the agent (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
  if loop=$(cat "$state/agent-loop.pid" 2>/dev/null) && kill -0 "$loop" 2>/dev/null; then
    for _ in $(seq 1 50); do kill -0 "$loop" 2>/dev/null || break; sleep 0.2; done
  fi
  rm -f "$state/agent.pid" "$state/agent-loop.pid"
}

# The agent's release layout (SPEC §16, docs/self-management.md), as deploy/install.sh makes
# it on a node: $state/agent/{bin/mcp-agent-launch, node_modules, releases/<version>-<sha12>,
# current, previous}. This build becomes current (the one it replaces, previous), so
# `mcp node upgrade local` works on the quick start too.
install_release() {
  local agent="$state/agent" made release was
  mkdir -p "$agent/bin" "$agent/releases"
  cp "$repo/deploy/mcp-agent-launch" "$agent/bin/mcp-agent-launch"
  chmod 0755 "$agent/bin/mcp-agent-launch"
  ln -sfn "$repo/node_modules" "$agent/node_modules"
  made=$(node "$repo/scripts/bundle-agent.js" --out "$agent/releases/.incoming-quickstart.tar.gz")
  release=$(node -e 'process.stdout.write(JSON.parse(process.argv[1]).release)' "$made")
  if [ ! -d "$agent/releases/$release" ]; then
    rm -rf "$agent/releases/.partial-quickstart"
    mkdir "$agent/releases/.partial-quickstart"
    tar -xzf "$agent/releases/.incoming-quickstart.tar.gz" -C "$agent/releases/.partial-quickstart"
    mv "$agent/releases/.partial-quickstart" "$agent/releases/$release"
  fi
  rm -f "$agent/releases/.incoming-quickstart.tar.gz"
  was=$(readlink "$agent/current" 2>/dev/null | sed 's|^releases/||' || true)
  if [ "$was" != "$release" ]; then
    if [ -n "$was" ] && [ -d "$agent/releases/$was" ]; then ln -sfn "releases/$was" "$agent/.previous.tmp" && mv -T "$agent/.previous.tmp" "$agent/previous"; fi
    ln -sfn "releases/$release" "$agent/.current.tmp" && mv -T "$agent/.current.tmp" "$agent/current"
  fi
  echo "agent release: $release"
}

case "${1:-}" in
  --down) down; echo "stopped; state kept in $state"; exit 0 ;;
  --purge) down; rm -rf "$state"; echo "removed $state"; exit 0 ;;
  -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
  "") ;;
  *) echo "quickstart: unknown option $1 (see --help)" >&2; exit 2 ;;
esac

step "system packages"
"$repo/scripts/install-system-deps.sh"

step "installing and building MCP"
cd "$repo"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
# Build unless dist/ is newer than every source (a re-run after --down starts at once).
if [ ! -f dist/mcp-agent.js ] || [ ! -f dist/mcp.js ] || [ -n "$(find apps libs proto bin scripts/build.js package.json -newer dist/mcp-agent.js -type f -print -quit)" ]; then
  npm run build --silent
fi

step "example image (built locally from busybox; nothing is pulled)"
"$repo/scripts/build-test-image.sh"
# These sandbox machines need runc and low ulimits (docs/ARCHITECTURE.md); ordinary hosts do
# not. Use the project's workaround only when a plain run fails.
if [ -z "${CONTAINERS_CONF:-}" ] && ! podman run --rm "$image" true >/dev/null 2>&1; then
  export CONTAINERS_CONF="$repo/test/podman/containers.conf"
  echo "podman needs this machine's workaround: CONTAINERS_CONF=$CONTAINERS_CONF"
fi

mkdir -p "$state/services" "$state/srv" "$state/data"
chmod 700 "$state"
if [ ! -f "$state/agent.toml" ]; then
  step "generating the agent's TLS certificate and an access token"
  token=$(node -e "process.stdout.write(require('node:crypto').randomBytes(32).toString('base64url'))")
  hash=$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)
  (umask 077 && printf '%s\n' "$token" > "$state/token")
  (umask 077 && cat > "$state/tokens.toml" <<TOML
# Static access tokens for the quick start's agent: SHA-256 of each token, never the token.
[[tokens]]
sha256 = "$hash"
username = "quickstart"
roles = ["admin"]
TOML
)
  cat > "$state/agent.toml" <<TOML
# mcp-agent config written by scripts/quickstart.sh (embedded defaults).
[server]
grpc_addr = "127.0.0.1:$port"
tls_cert = "$state/data/dev-tls/server.crt"
tls_key = "$state/data/dev-tls/server.key"

[database]
path = "$state/data/mcp.db"

[auth]
mode = "static"
tokens_file = "$state/tokens.toml"

[agent]
node_name = "local"
srv_root = "$state/srv"
backup_dir = "$state/data/backups"

[monitor]
interval = "15s"

[metrics]
listen = "127.0.0.1:$metrics_port"

[log]
level = "info"
TOML
  cat > "$state/mcp.toml" <<TOML
# mcp CLI config written by scripts/quickstart.sh. Use it with: export MCP_CONFIG=$state/mcp.toml
[services]
dir = "$state/services"

[auth]
token_path = "$state/cli-token"

[tls]
ca_cert = "$state/data/dev-tls/ca.crt"

[[nodes]]
name = "local"
address = "localhost:$port"
TOML
fi

# A re-run with MCP_QUICKSTART_PORT / MCP_QUICKSTART_METRICS_PORT set applies them to the
# configs an earlier run wrote (issue #20): the agent's listen addresses and the CLI's node
# address. Without the variables the configs keep their ports.
config_changed=no
apply_port() { # file, line pattern, new line
  local file=$1 pattern=$2 line=$3
  if ! grep -qxF "$line" "$file"; then
    grep -q "$pattern" "$file" || { echo "quickstart: $file has no line matching '$pattern'; remove it (or --purge) to start fresh" >&2; exit 1; }
    sed -i "s|$pattern.*|$line|" "$file"
    echo "applied to $file: $line"
    config_changed=yes
  fi
}
if [ -n "${MCP_QUICKSTART_PORT:-}" ]; then
  apply_port "$state/agent.toml" '^grpc_addr = ' "grpc_addr = \"127.0.0.1:$port\""
  apply_port "$state/mcp.toml" '^address = "localhost:' "address = \"localhost:$port\""
fi
if [ -n "${MCP_QUICKSTART_METRICS_PORT:-}" ]; then
  apply_port "$state/agent.toml" '^listen = ' "listen = \"127.0.0.1:$metrics_port\""
fi

if [ ! -f "$state/services/hello.toml" ]; then
  cat > "$state/services/hello.toml" <<'TOML'
# The quick start's example: busybox httpd listening on the port MCP allocates ($PORT).
name = "hello"
node = "local"
active = true

[[components]]
name = "web"
image = "localhost/mcp-test/busybox:1.0"
cmd = ["/bin/sh", "-c", "exec httpd -f -p $PORT -h /www"]
restart = "on-failure"
# busybox httpd as PID 1 has no SIGTERM handler, so SIGTERM does nothing and every stop (each
# redeploy) would wait the full stop timeout (10s). It serves a static page and keeps no
# state: kill it at once. A real service handles SIGTERM (or names its own signal here) and
# sets stop_timeout to how long its graceful stop takes.
stop_signal = "SIGKILL"

[[components.routes]]
port = 443
mode = "l4"
TOML
fi

if [ "$config_changed" = yes ] && pid=$(agent_pid); then
  step "restarting the agent (pid $pid) on the new ports"
  # Stopped as --down stops it (agent.stop ends the restart loop), then started below.
  touch "$state/agent.stop"
  kill "$pid"
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if loop=$(cat "$state/agent-loop.pid" 2>/dev/null); then
    for _ in $(seq 1 50); do kill -0 "$loop" 2>/dev/null || break; sleep 0.2; done
  fi
  rm -f "$state/agent.pid" "$state/agent-loop.pid"
fi
if pid=$(agent_pid); then
  step "agent already running (pid $pid)"
else
  step "installing the agent's release and starting it in the background (log: $state/agent.log)"
  install_release
  # Readiness is judged only on what this start appends: the log keeps earlier runs' lines.
  log_start=$(( $(stat -c %s "$state/agent.log" 2>/dev/null || echo 0) + 1 ))
  rm -f "$state/agent.pid" "$state/agent.stop"
  # The launcher starts `current` with the release's memory settings (RUNBOOK "Agent
  # memory") and writes the agent's pid; the loop restarts it whenever it exits (what
  # systemd's Restart=always does on a node, so an upgrade's exit brings up the new release)
  # until --down leaves agent.stop.
  MCP_AGENT_PID_FILE="$state/agent.pid" nohup sh -c 'while :; do "$0" serve --config "$1" --dev-tls; [ -f "$2" ] && exit 0; sleep 1; done' \
    "$state/agent/bin/mcp-agent-launch" "$state/agent.toml" "$state/agent.stop" \
    >>"$state/agent.log" 2>&1 < /dev/null &
  echo $! > "$state/agent-loop.pid"
  ready=no
  for _ in $(seq 1 100); do
    if tail -c "+$log_start" "$state/agent.log" 2>/dev/null | grep -q '"listening' && [ -f "$state/data/dev-tls/ca.crt" ] && agent_pid >/dev/null; then ready=yes; break; fi
    kill -0 "$(cat "$state/agent-loop.pid")" 2>/dev/null || break
    sleep 0.2
  done
  if [ "$ready" != yes ]; then
    echo "quickstart: the agent did not start; last lines of $state/agent.log:" >&2
    tail -n 20 "$state/agent.log" >&2
    exit 1
  fi
fi

step "logging in with the generated token"
mcp login --token-file "$state/token"

step "deploying the example service through the CLI"
mcp deploy hello

step "fetching its page through the allocated port"
host_port=$(mcp list --json | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const out = JSON.parse(s);
    const find = (v) => { if (v && typeof v === "object") { if (typeof v.hostPort === "number" && v.hostPort > 0) return v.hostPort; for (const x of Object.values(v)) { const r = find(x); if (r) return r; } } };
    const port = find(out); if (!port) { console.error("no allocated port in mcp list --json"); process.exit(1); }
    process.stdout.write(String(port));
  });')
page=""
for _ in $(seq 1 50); do
  page=$(node -e "
    require('node:http').get('http://127.0.0.1:$host_port/', (r) => { let b=''; r.on('data', (d) => b += d).on('end', () => process.stdout.write(b)); })
      .on('error', () => process.exit(1));" 2>/dev/null) && break
  sleep 0.2
done
[ -n "$page" ] || { echo "quickstart: no answer on 127.0.0.1:$host_port" >&2; exit 1; }
echo "GET http://127.0.0.1:$host_port/ -> $page"

step "mcp ps"
mcp ps

cat <<MSG

MCP is running on embedded defaults. To use the CLI yourself:
  export MCP_CONFIG=$state/mcp.toml
  alias mcp='node $repo/bin/mcp.js'    # or: npm link (puts mcp and mcp-agent on PATH)
  mcp ps; mcp list; mcp status hello; mcp logs hello -n 20
  mcp ui      # the fleet as a live web page: open the URL it prints (Ctrl-C stops it)
  definitions: $state/services/          agent log: $state/agent.log
  stop everything:  ./scripts/quickstart.sh --down   (or --purge to also delete $state)
MSG
