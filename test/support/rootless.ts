import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { AgentConfig } from '../../apps/agent/src/config/agent-config';
import type { AgentProcess } from './agent-process';
import { writeAgentConfigFile } from './test-config';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'mcp-agent.js');
const BUNDLE = path.join(ROOT, 'dist', 'mcp-agent.js');
const CONTAINERS_CONF = path.join(ROOT, 'test', 'podman', 'containers.conf');

/** The unprivileged account the rootless suite runs the agent and podman as. */
export interface RootlessUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** XDG_RUNTIME_DIR, /run/user/<uid>. */
  runtimeDir: string;
  /** The environment rootless podman needs (HOME, XDG_RUNTIME_DIR, CONTAINERS_CONF, PATH). */
  env: Record<string, string>;
}

class RootlessEnvironmentMissing extends Error {
  constructor(detail: string) {
    super(`rootless e2e environment is not prepared (${detail}): run scripts/setup-rootless-test-env.sh as root`);
    this.name = 'RootlessEnvironmentMissing';
  }
}

/**
 * The user named by MCP_E2E_USER (default mcp-e2e), looked up with `id` and `getent`.
 * Throws (never skips) when the account or its runtime dir is missing.
 */
export function rootlessUser(account?: string): RootlessUser {
  const name = account ?? process.env.MCP_E2E_USER ?? 'mcp-e2e';
  const id = (flag: string): number => {
    const result = spawnSync('id', [flag, name], { encoding: 'utf8' });
    if (result.status !== 0) throw new RootlessEnvironmentMissing(`no user ${name}`);
    return Number(result.stdout.trim());
  };
  const uid = id('-u');
  const gid = id('-g');
  const entry = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
  if (entry.status !== 0) throw new RootlessEnvironmentMissing(`getent passwd ${name} failed`);
  const home = entry.stdout.trim().split(':')[5];
  const runtimeDir = `/run/user/${uid}`;
  if (!fs.existsSync(runtimeDir) || fs.statSync(runtimeDir).uid !== uid) throw new RootlessEnvironmentMissing(`${runtimeDir} is missing or not owned by ${name}`);
  return {
    name,
    uid,
    gid,
    home,
    runtimeDir,
    env: { HOME: home, XDG_RUNTIME_DIR: runtimeDir, CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? CONTAINERS_CONF, PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' },
  };
}

/** argv prefix running a command as the user with rootless podman's environment. */
function asUser(user: RootlessUser, command: string[]): string[] {
  return ['-u', user.name, '--', 'env', ...Object.entries(user.env).map(([key, value]) => `${key}=${value}`), ...command];
}

/** Runs `podman <args>` as the user (its own rootless storage); resolves to trimmed stdout. */
export async function podmanAs(user: RootlessUser, args: string[]): Promise<string> {
  return (await run('runuser', asUser(user, ['podman', ...args]))).stdout.trim();
}

/** Removes every container of the user whose name starts with `prefix` (for afterAll). */
export async function removeContainersAs(user: RootlessUser, prefix: string): Promise<void> {
  const names = (await podmanAs(user, ['ps', '-a', '--format', '{{.Names}}'])).split('\n').filter((name) => name.startsWith(prefix));
  if (names.length > 0) await podmanAs(user, ['rm', '-f', '-t', '0', ...names]);
}

/** Hands the config's temp dir (config, DB, srv root, TLS files, tokens) to the user, mode 0700. */
function handOver(user: RootlessUser, dir: string): void {
  execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, dir]);
  fs.chmodSync(dir, 0o700);
}

/**
 * Writes the config file, gives its directory (which must hold everything the config points
 * at: makeTestConfig's temp dir) to the user, and spawns
 * `runuser -u <user> -- env HOME=… XDG_RUNTIME_DIR=… CONTAINERS_CONF=… PATH=… node bin/mcp-agent.js serve --config F`.
 * Waits, bounded, for the "listening on" line. stop()/kill9() signal the agent's own
 * process (runuser's child), not runuser.
 */
export async function startRootlessAgent(input: {
  user: RootlessUser;
  config: AgentConfig;
  timeoutMs?: number;
  /** Run inside this network namespace (`ip netns exec <netns> runuser …`). */
  netns?: string;
  /** Extra environment for the agent (e.g. MCP_AGENT_FAILPOINTS). */
  env?: Record<string, string>;
}): Promise<AgentProcess> {
  if (!fs.existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run npm run build first`);
  const { user, config } = input;
  const configPath = writeAgentConfigFile(config);
  handOver(user, path.dirname(configPath));
  const withEnv = { ...user, env: { ...user.env, ...input.env } };
  const argv = asUser(withEnv, [process.execPath, BIN, 'serve', '--config', configPath]);
  // `ip netns exec` execs runuser in place, so runuser stays the spawned process.
  const child = input.netns
    ? spawn('ip', ['netns', 'exec', input.netns, 'runuser', ...argv], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('runuser', argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const exited = ended.then(({ code }) => code);
  const timeoutMs = input.timeoutMs ?? 60_000;

  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`rootless agent did not report listening within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const check = () => {
      const line = output.split('\n').find((l) => l.includes('"listening on '));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { addr: string }).addr);
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`rootless agent exited with ${code} before listening:\n${output}`));
    });
  });

  // runuser forks; `env` execs node, so the agent is runuser's only child.
  const found = spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
  if (found.length !== 1) throw new Error(`expected one agent process under runuser ${child.pid}, found ${JSON.stringify(found)}`);
  const agentPid = Number(found[0]);
  const signal = (name: NodeJS.Signals): void => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(agentPid, name);
      } catch {
        // already gone
      }
    }
  };

  return {
    address,
    pid: agentPid,
    // runuser reports a killed agent as exit code 128 + signal.
    exited: ended,
    logs: () => output,
    stop: async () => {
      signal('SIGTERM');
      const code = await exited;
      reapPodmanService(config.runtime.socket);
      return code;
    },
    kill9: async () => {
      signal('SIGKILL');
      await exited;
    },
  };
}

/** Ends a podman service left on the agent's socket (after kill -9), as agent-process does. */
function reapPodmanService(socket: string): void {
  const pattern = `system service --time=0 unix://${socket.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
  spawnSync('pkill', ['-f', '--', pattern], { stdio: 'ignore' });
}
