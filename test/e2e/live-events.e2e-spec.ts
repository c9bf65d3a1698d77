import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { AgentConfig } from '../../apps/agent/src/config/agent-config';
import { makeTestConfig, protoService, TestAgent, type AgentProcess, type AgentTestClient, writeCliConfig, loopbackAddress } from '../support';

jest.setTimeout(180_000);

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
const MCP = path.join(ROOT, 'bin', 'mcp.js');
const SERVICE = `live${randomBytes(3).toString('hex')}`;
const SLEEPER = ['/bin/sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"];

/** Waits (bounded) for the file the alert command writes for one kind and component. */
async function waitForAlert(dir: string, name: string, timeoutMs = 60_000): Promise<Record<string, string>> {
  const file = path.join(dir, name);
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(file) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  if (!fs.existsSync(file)) throw new Error(`no ${name} alert within ${timeoutMs} ms`);
  const text = fs.readFileSync(file, 'utf8');
  return Object.fromEntries(text.split('\n').filter((line) => line.startsWith('MCP_ALERT_')).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
}

/**
 * SPEC §10 with the real agent (REST adapter, the podman service it supervises), real podman
 * and the real `mcp` binary. The monitor's interval is an hour, so every alert here comes
 * from podman's event stream (or the reconciliation when the stream re-opens), not a tick.
 */
describe('Live state from podman events (real agent, real podman, mcp events -f)', () => {
  let node: TestAgent;
  let config: AgentConfig;
  let agent: AgentProcess;
  let client: AgentTestClient;
  let alertDir: string;
  let home: string;
  let follower: ChildProcess | undefined;
  let followed = '';

  beforeAll(async () => {
    const base = makeTestConfig();
    const dir = path.dirname(base.database.path);
    alertDir = path.join(dir, 'alerts');
    fs.mkdirSync(alertDir);
    const script = path.join(dir, 'alert.sh');
    // One file per alert kind and component, holding the command's whole environment.
    fs.writeFileSync(script, '#!/bin/sh\nf="$1/$MCP_ALERT_KIND-$MCP_ALERT_COMPONENT"; env > "$f.tmp" && mv "$f.tmp" "$f"\n', { mode: 0o755 });
    config = makeTestConfig({
      dir,
      mcproxy: { socket: undefined },
      monitor: { enabled: true, intervalMs: 3_600_000, alertCommand: [script, alertDir], alertTimeoutMs: 5000, alertCooldownMs: 60_000 },
    });
    node = await TestAgent.create({ config });
    client = await node.start();
    agent = node.process!;
    const deployed = await client.call('deploy', {
      service: protoService({ name: SERVICE, components: [{ name: 'web', cmd: SLEEPER }, { name: 'db', cmd: SLEEPER }, { name: 'cache', cmd: SLEEPER }] }),
      component: '',
      force: false,
    });
    expect(deployed.results.every((r) => r.ok)).toBe(true);

    home = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-live-e2e-'));
    const configDir = path.join(home, '.config', 'mcp');
    fs.mkdirSync(path.join(configDir, 'services'), { recursive: true });
    writeCliConfig(configDir, { caCertPath: node.caCertPath, nodes: [{ name: 'local', address: loopbackAddress(agent.address) }] });
  });

  afterAll(async () => {
    follower?.kill('SIGINT');
    await node?.dispose({ containerPrefix: SERVICE });
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  function followedEvents(): Array<{ kind: string; component: string; message: string }> {
    return followed.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
  }

  it('should stream the history with mcp events, then follow', async () => {
    follower = spawn(process.execPath, [MCP, 'events', SERVICE, '-f', '--json'], { env: { PATH: process.env.PATH, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    follower.stdout!.on('data', (chunk: Buffer) => (followed += chunk.toString()));
    const deadline = Date.now() + 30_000;
    // The history arrives one message at a time: wait for all three (bounded), not the first.
    const deployed = () => followedEvents().filter((e) => e.kind === 'deployed').map((e) => e.component).sort();
    while (deployed().length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(deployed()).toEqual(['cache', 'db', 'web']);
  });

  it('should record and alert a container killed by hand from the event stream, and show it live in mcp events -f', async () => {
    await run('podman', ['kill', `${SERVICE}-web`]);

    const env = await waitForAlert(alertDir, 'drift-web');

    expect(env).toEqual(expect.objectContaining({ MCP_ALERT_KIND: 'drift', MCP_ALERT_SERVICE: SERVICE, MCP_ALERT_COMPONENT: 'web', MCP_ALERT_OBSERVED: 'exited' }));
    const deadline = Date.now() + 30_000;
    while (!followedEvents().some((e) => e.kind === 'drift') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(followedEvents().filter((e) => e.kind === 'drift' || e.kind === 'state_changed')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'state_changed', component: 'web', message: 'running → exited' }),
        expect.objectContaining({ kind: 'drift', component: 'web', message: 'desired running, observed exited' }),
      ]),
    );
    const live = await client.call('liveCheck', {});
    expect(live.containers.find((c) => c.container === `${SERVICE}-web`)?.state).toBe('exited');
  });

  it('should re-open the stream when podman\'s service restarts, reconcile what it missed, and follow again', async () => {
    const socket = config.runtime.socket;
    const { stdout } = await run('pgrep', ['-f', `system service --time=0 unix://${socket}`]);
    const pid = Number(stdout.trim().split('\n')[0]);
    expect(pid).toBeGreaterThan(0);

    // The service dies (the agent restarts it); a container is removed by hand meanwhile.
    process.kill(pid, 'SIGKILL');
    await run('podman', ['rm', '-f', '-t', '0', `${SERVICE}-db`]);

    const removed = await waitForAlert(alertDir, 'drift-db');
    expect(removed).toEqual(expect.objectContaining({ MCP_ALERT_COMPONENT: 'db', MCP_ALERT_OBSERVED: 'removed' }));

    // The re-opened stream carries the next change.
    await run('podman', ['kill', `${SERVICE}-cache`]);
    const killed = await waitForAlert(alertDir, 'drift-cache');
    expect(killed).toEqual(expect.objectContaining({ MCP_ALERT_COMPONENT: 'cache', MCP_ALERT_OBSERVED: 'exited' }));
    expect(agent.logs()).toMatch(/podman event stream (ended|unavailable)/);
    expect(agent.logs()).toMatch(/podman event stream re-opened/);
  });
});
