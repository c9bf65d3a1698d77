'use strict';
// The bench's own world: a temp dir with a static-token agent (generated TLS via --dev-tls),
// a CLI config pointing at it, podman helpers and cleanup. Everything the bench creates in
// podman is named `mcpbench-…`, and everything is removed again, also after a failure.
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawn, execFile } = require('node:child_process');
const { setTimeout, clearTimeout } = require('node:timers');
const { run, procMemory } = require('./lib');
const { connect } = require('./grpc-client');

const ROOT = path.resolve(__dirname, '..');
/** Every name the bench creates in podman starts with this, then a per-run id. */
const PREFIX = 'mcpbench-';
const IMAGE = 'localhost/mcp-test/busybox:1.0';
const CONTAINERS_CONF = path.join(ROOT, 'test', 'podman', 'containers.conf');

/** The environment every podman / agent / CLI child gets. */
function baseEnv(extra = {}) {
  return { ...process.env, CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? CONTAINERS_CONF, ...extra };
}

function podman(args, options = {}) {
  return run(['podman', ...args], { env: baseEnv(), ...options });
}

/** A TCP port free on 127.0.0.1 right now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Removes every container, pod and network whose name holds `prefix` (podman-compose's too). */
async function removeBenchContainers(prefix) {
  if (!prefix.startsWith(PREFIX)) throw new Error(`refusing to remove containers outside ${PREFIX}*`);
  const { stdout } = await podman(['ps', '--all', '--format', '{{.Names}}'], { allowFail: true });
  const names = stdout.split('\n').map((s) => s.trim()).filter((n) => n.startsWith(prefix));
  for (let i = 0; i < names.length; i += 50) {
    await podman(['rm', '-f', '-t', '0', '--', ...names.slice(i, i + 50)], { allowFail: true });
  }
  const pods = await podman(['pod', 'ps', '--format', '{{.Name}}'], { allowFail: true });
  for (const pod of pods.stdout.split('\n').map((s) => s.trim()).filter((n) => n === `pod_${prefix}compose` || n.startsWith(prefix))) {
    await podman(['pod', 'rm', '-f', '--', pod], { allowFail: true });
  }
  const networks = await podman(['network', 'ls', '--format', '{{.Name}}'], { allowFail: true });
  for (const network of networks.stdout.split('\n').map((s) => s.trim()).filter((n) => n.startsWith(prefix))) {
    await podman(['network', 'rm', '-f', '--', network], { allowFail: true });
  }
  return names.length;
}

/**
 * The temp world: dir layout, static token (and its hash in the agent's tokens file), agent
 * config writer and CLI config. Nothing is started here.
 */
async function createWorld() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcpbench-'));
  fs.chmodSync(dir, 0o700);
  const token = crypto.randomBytes(32).toString('base64url');
  const hash = crypto.createHash('sha256').update(token).digest('hex');
  const world = {
    dir,
    port: await freePort(),
    tokenFile: path.join(dir, 'token'),
    tokensFile: path.join(dir, 'tokens.toml'),
    agentConfig: path.join(dir, 'agent.toml'),
    cliConfig: path.join(dir, 'mcp.toml'),
    servicesDir: path.join(dir, 'services'),
    srvRoot: path.join(dir, 'srv'),
    dataDir: path.join(dir, 'data'),
    binDir: path.join(dir, 'bin'),
    podmanLog: path.join(dir, 'podman-calls.log'),
  };
  world.caCert = path.join(world.dataDir, 'dev-tls', 'ca.crt');
  world.address = `127.0.0.1:${world.port}`;
  for (const d of [world.servicesDir, world.srvRoot, world.dataDir]) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(world.tokenFile, `${token}\n`, { mode: 0o600 });
  fs.writeFileSync(
    world.tokensFile,
    `# bench tokens: SHA-256 only\n[[tokens]]\nsha256 = "${hash}"\nusername = "bench"\nroles = ["admin"]\n`,
    { mode: 0o600 },
  );
  fs.writeFileSync(
    world.cliConfig,
    [
      '[services]',
      `dir = ${JSON.stringify(world.servicesDir)}`,
      '[auth]',
      `token_path = ${JSON.stringify(path.join(dir, 'cli-token'))}`,
      '[tls]',
      `ca_cert = ${JSON.stringify(world.caCert)}`,
      '[[nodes]]',
      'name = "local"',
      `address = "localhost:${world.port}"`,
      '',
    ].join('\n'),
  );
  return world;
}

function writeAgentConfig(world, { monitorEnabled = false, monitorInterval = '60s', runtimeSocket, mcproxySocket, alertCommand, metricsListen = '' } = {}) {
  fs.writeFileSync(
    world.agentConfig,
    [
      '[server]',
      `grpc_addr = "${world.address}"`,
      `tls_cert = ${JSON.stringify(path.join(world.dataDir, 'dev-tls', 'server.crt'))}`,
      `tls_key = ${JSON.stringify(path.join(world.dataDir, 'dev-tls', 'server.key'))}`,
      '[database]',
      `path = ${JSON.stringify(path.join(world.dataDir, 'mcp.db'))}`,
      '[auth]',
      'mode = "static"',
      `tokens_file = ${JSON.stringify(world.tokensFile)}`,
      '[agent]',
      'node_name = "local"',
      `srv_root = ${JSON.stringify(world.srvRoot)}`,
      `backup_dir = ${JSON.stringify(path.join(world.dataDir, 'backups'))}`,
      'max_file_size = "2GiB"',
      'stop_timeout = "1s"',
      'port_range_start = 30000',
      'port_range_end = 32000',
      '[monitor]',
      `enabled = ${monitorEnabled}`,
      `interval = "${monitorInterval}"`,
      ...(alertCommand ? [`alert_command = ${JSON.stringify(alertCommand)}`] : []),
      ...(runtimeSocket ? ['[runtime]', `socket = ${JSON.stringify(runtimeSocket)}`] : []),
      ...(mcproxySocket ? ['[mcproxy]', `socket = ${JSON.stringify(mcproxySocket)}`, `cert_dir = ${JSON.stringify(path.join(world.dataDir, 'certs'))}`] : []),
      '[log]',
      'level = "info"',
      '[metrics]',
      `listen = ${JSON.stringify(metricsListen)}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
}

/** A `podman` wrapper (first on PATH) that appends "<epoch ms> <args>" to world.podmanLog. */
function writePodmanWrapper(world) {
  fs.mkdirSync(world.binDir, { recursive: true });
  const real = findOnPath('podman');
  const script = `#!/bin/sh\nprintf '%s %s\\n' "$(date +%s%3N)" "$*" >> ${shQuote(world.podmanLog)}\nexec ${shQuote(real)} "$@"\n`;
  fs.writeFileSync(path.join(world.binDir, 'podman'), script, { mode: 0o755 });
}

function shQuote(s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

function findOnPath(cmd) {
  for (const dir of (process.env.PATH || '').split(':')) {
    const candidate = path.join(dir, cmd);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      /* next */
    }
  }
  return null;
}

/**
 * For agents on podman's REST API: a supervised `podman system service` on a private socket,
 * and in front of it a pass-through proxy on `socketPath` (give it to the agent as
 * `[runtime] socket`) that appends "<epoch ms> api <METHOD> <path>" to world.podmanLog per
 * HTTP request. An agent on the CLI adapter never connects; the podman wrapper counts it.
 */
async function startApiCounter(world, { timeoutMs = 30_000 } = {}) {
  const listenPath = path.join(world.dir, 'podman-counted.sock');
  const targetPath = path.join(world.dir, 'podman-api.sock');
  const service = spawn(findOnPath('podman') ?? 'podman', ['system', 'service', '--time=0', `unix://${targetPath}`], {
    env: baseEnv(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let serviceErr = '';
  service.stderr.on('data', (d) => (serviceErr = (serviceErr + d).slice(-2000)));
  const serviceExited = new Promise((resolve) => service.once('exit', resolve));
  const deadline = Date.now() + timeoutMs;
  while (!(await ping(targetPath))) {
    if (service.exitCode !== null || Date.now() > deadline) {
      service.kill('SIGKILL');
      throw new Error(`podman system service did not answer on ${targetPath}: ${serviceErr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const REQUEST_LINE = /(?:^|\r\n)(GET|POST|PUT|DELETE|HEAD) (\S+) HTTP\/1\.[01]\r\n/g;
  const sockets = new Set();
  const proxy = net.createServer((client) => {
    const upstream = net.connect(targetPath);
    sockets.add(client).add(upstream);
    client.on('data', (chunk) => {
      const text = chunk.toString('latin1');
      for (const m of text.matchAll(REQUEST_LINE)) fs.appendFileSync(world.podmanLog, `${Date.now()} api ${m[1]} ${m[2].split('?')[0]}\n`);
    });
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  await new Promise((resolve, reject) => proxy.once('error', reject).listen(listenPath, resolve));
  return {
    socketPath: listenPath,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => proxy.close(resolve));
      if (service.exitCode === null && service.signalCode === null) service.kill('SIGTERM');
      const timer = setTimeout(() => service.kill('SIGKILL'), 10_000);
      await serviceExited;
      clearTimeout(timer);
    },
  };
}

/** GET `urlPath` over a Unix socket; resolves with the body (rejects on a non-2xx status). */
function httpGetSocket(socketPath, urlPath) {
  return new Promise((resolve, reject) => {
    const request = http.get({ socketPath, path: urlPath, agent: false, timeout: 30_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (d) => (body += d));
      response.on('end', () => (response.statusCode >= 200 && response.statusCode < 300 ? resolve(body) : reject(new Error(`GET ${urlPath}: ${response.statusCode}`))));
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${urlPath}: timeout`)));
    request.on('error', reject);
  });
}

function ping(socketPath) {
  return new Promise((resolve) => {
    const request = http.get({ socketPath, path: '/_ping', agent: false, timeout: 1000 }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode === 200));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

/**
 * Starts the agent (`node bin/mcp-agent.js serve --config … --dev-tls`) and resolves once it
 * logged "listening on" and its CA file exists. `wrapPodman` puts the counting wrapper first on PATH.
 */
/**
 * The environment and Node flags the installed `mcp-agent` command runs with: those on
 * bin/mcp-agent.js's `#!/usr/bin/env -S [VAR=value …] node [flag …]` line (the systemd unit
 * runs that file through its shebang), so the bench measures the agent as deployed.
 */
function agentLaunch() {
  const first = fs.readFileSync(path.join(ROOT, 'bin', 'mcp-agent.js'), 'utf8').split('\n')[0];
  const match = /^#!\/usr\/bin\/env -S (.*)$/.exec(first);
  const words = match ? match[1].trim().split(/\s+/) : ['node'];
  const node = words.findIndex((w) => !/^[A-Z_]+=/.test(w));
  if (words[node] !== 'node') throw new Error(`bin/mcp-agent.js: unexpected shebang ${first}`);
  const env = Object.fromEntries(words.slice(0, node).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
  return { env, nodeArgs: words.slice(node + 1) };
}

async function startAgent(world, { wrapPodman = false, env: extraEnv = {}, timeoutMs = 60_000, nodeArgs: extraNodeArgs = [], launch = agentLaunch() } = {}) {
  const env = baseEnv({ ...launch.env, ...(wrapPodman ? { PATH: `${world.binDir}:${process.env.PATH}` } : {}), ...extraEnv });
  const nodeArgs = [...launch.nodeArgs, ...extraNodeArgs];
  const child = spawn(process.execPath, [...nodeArgs, path.join(ROOT, 'bin', 'mcp-agent.js'), 'serve', '--config', world.agentConfig, '--dev-tls'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const logFile = fs.createWriteStream(path.join(world.dir, 'agent.log'), { flags: 'a' });
  const onData = (chunk) => {
    output = (output + chunk.toString()).slice(-200_000);
    logFile.write(chunk);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`agent not listening within ${timeoutMs} ms:\n${output.slice(-2000)}`));
    }, timeoutMs);
    const check = () => {
      if (output.includes('"listening on ') && fs.existsSync(world.caCert)) {
        clearTimeout(timer);
        child.stdout.off('data', check);
        resolve();
      }
    };
    child.stdout.on('data', check);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`agent exited (${code}) before listening:\n${output.slice(-2000)}`));
    });
  });
  const agent = {
    pid: child.pid,
    logs: () => output,
    client: connect({ address: `localhost:${world.port}`, caCert: world.caCert, token: fs.readFileSync(world.tokenFile, 'utf8').trim() }),
    async stop() {
      agent.client.close();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
      logFile.end();
    },
  };
  return agent;
}

/** Runs the CLI (`node bin/mcp.js …`) against the world's config. */
function mcp(world, args, options = {}) {
  return run([process.execPath, path.join(ROOT, 'bin', 'mcp.js'), ...args], {
    env: baseEnv({ MCP_CONFIG: world.cliConfig, NO_COLOR: '1' }),
    ...options,
  });
}

/** Installs Debian's podman-compose when it is missing and we are root; returns its path or null. */
async function ensurePodmanCompose(log) {
  let found = findOnPath('podman-compose');
  if (found) return found;
  if (typeof process.getuid === 'function' && process.getuid() === 0 && findOnPath('apt-get')) {
    log('podman-compose missing: installing the Debian package (apt-get install -y podman-compose)');
    await run(['apt-get', 'install', '-y', '--no-install-recommends', 'podman-compose'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      allowFail: true,
    });
    found = findOnPath('podman-compose');
  }
  return found;
}

/** Child processes of `pid`: [{ pid, command, rssMiB }] (from /proc; [] when unreadable). */
function childProcesses(pid) {
  const out = [];
  let tasks = [];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const task of tasks) {
    let children = '';
    try {
      children = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const child of children.split(' ').filter(Boolean)) {
      try {
        const command = fs.readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
        out.push({ pid: Number(child), command, rssMiB: procMemory(Number(child)).rssMiB });
      } catch {
        /* exited meanwhile */
      }
    }
  }
  return out;
}

function execFileText(file, args, options) {
  return new Promise((resolve, reject) =>
    execFile(file, args, { maxBuffer: 256 * 1024 * 1024, ...options }, (error, stdout) => (error ? reject(error) : resolve(stdout))),
  );
}

module.exports = {
  ROOT,
  PREFIX,
  IMAGE,
  baseEnv,
  podman,
  freePort,
  removeBenchContainers,
  createWorld,
  writeAgentConfig,
  writePodmanWrapper,
  startAgent,
  agentLaunch,
  startApiCounter,
  mcp,
  ensurePodmanCompose,
  findOnPath,
  execFileText,
  childProcesses,
  httpGetSocket,
};
