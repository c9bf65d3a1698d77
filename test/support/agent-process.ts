import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AgentConfig } from '../../apps/agent/src/config/agent-config';
import { writeAgentConfigFile } from './test-config';

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'mcp-agent.js');
const BUNDLE = path.join(ROOT, 'dist', 'mcp-agent.js');

export interface AgentProcess {
  /** host:port the agent listens on. */
  address: string;
  pid: number;
  /** Everything the process wrote so far (stdout and stderr). */
  logs(): string;
  /** SIGTERM, then wait for exit; resolves to the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (no cleanup at all), then wait for exit. */
  kill9(): Promise<void>;
  /** Resolves when the process has exited, however it ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Spawns the real agent (`node bin/mcp-agent.js serve --config …`, needs `npm run build`)
 * and waits, bounded, for its "listening on" line.
 */
export async function startAgentProcess(input: { configPath?: string; config?: AgentConfig; args?: string[]; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<AgentProcess> {
  if (!fs.existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run npm run build first`);
  const configPath = input.configPath ?? (input.config ? writeAgentConfigFile(input.config) : undefined);
  if (!configPath) throw new Error('startAgentProcess needs configPath or config');
  const child = spawn(process.execPath, [BIN, 'serve', '--config', configPath, ...(input.args ?? [])], {
    cwd: ROOT,
    env: {
      ...process.env,
      CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? path.join(ROOT, 'test', 'podman', 'containers.conf'),
      ...input.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const exited = ended.then(({ code }) => code);

  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`agent did not report listening within ${input.timeoutMs ?? 30_000} ms:\n${output}`));
    }, input.timeoutMs ?? 30_000);
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
      reject(new Error(`agent exited with ${code} before listening:\n${output}`));
    });
  });

  return {
    address,
    pid: child.pid!,
    exited: ended,
    logs: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const code = await exited;
      if (input.config) reapOrphanedPodmanService(input.config.runtime.socket);
      return code;
    },
    kill9: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export type { ChildProcess };

/**
 * An agent killed with SIGKILL leaves its podman service running on purpose (the next start
 * reuses it), and the agent that reused it does not own it. Once a test has stopped its
 * agent for good, end any such service on that agent's socket so runs leave nothing behind.
 */
function reapOrphanedPodmanService(socket: string): void {
  const pattern = `system service --time=0 unix://${socket.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
  spawnSync('pkill', ['-f', '--', pattern], { stdio: 'ignore' });
}
