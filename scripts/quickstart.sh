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
# default 9444) and MCP_QUICKSTART_METRICS_PORT (Prometheus /metrics, default 9445).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
state="${MCP_QUICKSTART_DIR:-$repo/.mcp-quickstart}"
port="${MCP_QUICKSTART_PORT:-9444}"
# Prometheus metrics (SPEC §10); its own port so that two agents on one machine never collide.
metrics_port="${MCP_QUICKSTART_METRICS_PORT:-9445}"
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
  if pid=$(agent_pid); then
    step "stopping the agent (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
  rm -f "$state/agent.pid"
}

case "${1:-}" in
  --down) down; echo "stopped; state kept in $state"; exit 0 ;;
  --purge) down; rm -rf "$state"; echo "removed $state"; exit 0 ;;
  -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
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

[[components.routes]]
port = 443
mode = "l4"
TOML
fi

if pid=$(agent_pid); then
  step "agent already running (pid $pid)"
else
  step "starting the agent in the background (log: $state/agent.log)"
  # Readiness is judged only on what this start appends: the log keeps earlier runs' lines.
  log_start=$(( $(stat -c %s "$state/agent.log" 2>/dev/null || echo 0) + 1 ))
  # Run through its #! line, as systemd runs the installed command: that line carries the
  # agent's memory settings (RUNBOOK "Agent memory").
  nohup "$repo/bin/mcp-agent.js" serve --config "$state/agent.toml" --dev-tls \
    >>"$state/agent.log" 2>&1 < /dev/null &
  echo $! > "$state/agent.pid"
  ready=no
  for _ in $(seq 1 100); do
    if tail -c "+$log_start" "$state/agent.log" 2>/dev/null | grep -q '"listening' && [ -f "$state/data/dev-tls/ca.crt" ]; then ready=yes; break; fi
    agent_pid >/dev/null || break
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
