import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { HealthSpec } from '@mcp/common';
import { startFakeMcproxy, type FakeMcproxy } from '../servers/fake-mcproxy';
import {
  agentClient,
  HTTPD_ON_PORT,
  makeTestConfig,
  makeTlsFixture,
  protoService,
  startAgentProcess,
  TEST_ADMIN_TOKEN,
  writeTestTokens,
  type AgentProcess,
  type AgentTestClient,
} from '../support';

jest.setTimeout(600_000);

/**
 * SPEC §8 with the real agent, real podman and mc-proxy's stand-in forwarding real TCP: a
 * client sends requests through the proxy the whole time, one new connection each, and every
 * failed request is counted.
 */
const run = promisify(execFile);
const V1 = 'localhost/mcp-test/busybox:1.0';
const V2 = 'localhost/mcp-test/busybox:2.0';
const PREFIX = `i11${randomBytes(3).toString('hex')}`;
const SERVICE = `${PREFIX}-web`;
const GOOD_HEALTH: HealthSpec = { http: '/', interval: '100ms', start_period: '20s' };

function spec(input: { image: string; cmd?: string[]; health?: HealthSpec; strategy?: 'start-first' | 'stop-first' }) {
  return protoService({
    name: SERVICE,
    components: [
      {
        name: SERVICE,
        image: input.image,
        cmd: input.cmd ?? HTTPD_ON_PORT,
        routes: [{ port: 443 }],
        drain: '1s',
        health: input.health ?? GOOD_HEALTH,
        ...(input.strategy ? { strategy: input.strategy } : {}),
      },
    ],
  });
}

/** GETs through the proxy back to back until stopped; counts failures and which version answered. */
function traffic(port: number): { stop: () => Promise<{ ok: number; failed: number; errors: string[]; bodies: Set<string> }> } {
  let running = true;
  const result = { ok: 0, failed: 0, errors: [] as string[], bodies: new Set<string>() };
  const once = (): Promise<void> =>
    new Promise((resolve) => {
      const request = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 10_000 }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => {
          if (res.statusCode === 200) {
            result.ok++;
            result.bodies.add(body.trim());
          } else {
            result.failed++;
            result.errors.push(`HTTP ${res.statusCode}`);
          }
          resolve();
        });
        res.on('error', (err) => {
          result.failed++;
          result.errors.push(err.message);
          resolve();
        });
      });
      request.on('timeout', () => request.destroy(new Error('timeout')));
      request.on('error', (err) => {
        result.failed++;
        result.errors.push(err.message);
        resolve();
      });
    });
  const loop = (async () => {
    while (running) await once();
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return result;
    },
  };
}

describe('safe deploys through mc-proxy (real agent, real podman)', () => {
  const config = makeTestConfig({ mcproxy: { socket: undefined } });
  const dir = path.dirname(config.file);
  const socketPath = path.join(dir, 'mc-proxy.sock');
  let agent: AgentProcess | undefined;
  let client: AgentTestClient;
  let mcproxy: FakeMcproxy;

  async function containerId(name: string): Promise<string> {
    const { stdout } = await run('podman', ['inspect', '--format', '{{.Id}}', name]);
    return stdout.trim();
  }

  beforeAll(async () => {
    const { caCertPath } = await makeTlsFixture(path.join(dir, 'tls'));
    await writeTestTokens(config);
    mcproxy = await startFakeMcproxy({ socketPath });
    agent = await startAgentProcess({ config: Object.assign(Object.create(Object.getPrototypeOf(config)), config, { mcproxy: { ...config.mcproxy, socket: socketPath } }) });
    client = agentClient({ address: agent.address, caCertPath, token: TEST_ADMIN_TOKEN });
    const first = await client.call('deploy', { service: spec({ image: V1 }), component: '', force: false });
    expect(first.results[0]).toMatchObject({ ok: true, release: 1 });
  });

  afterAll(async () => {
    client?.close();
    await agent?.stop();
    await mcproxy?.close();
    const { stdout } = await run('podman', ['ps', '-a', '--format', '{{.Names}}']);
    const ours = stdout.split('\n').filter((name) => name.startsWith(PREFIX));
    if (ours.length) await run('podman', ['rm', '-f', '-t', '0', ...ours]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('should serve every request during 20 start-first deploys alternating two versions, and serve both', async () => {
    const load = traffic(mcproxy.listenerPort(':443')!);
    const outcomes: string[] = [];
    for (let i = 0; i < 20; i++) {
      const result = await client.call('deploy', { service: spec({ image: i % 2 === 0 ? V2 : V1 }), component: '', force: false });
      outcomes.push(result.results[0].ok ? 'ok' : result.results[0].error);
    }
    const seen = await load.stop();

    expect(outcomes).toEqual(Array(20).fill('ok'));
    expect(seen.errors).toEqual([]);
    expect(seen.failed).toBe(0);
    expect(seen.ok).toBeGreaterThan(20);
    expect([...seen.bodies].sort()).toEqual(['hello from mcp-test busybox 1.0', 'hello from mcp-test busybox 2.0']);
    const releases = await client.call('listReleases', { service: SERVICE, component: '' });
    expect(releases.releases.slice(0, 20).every((r) => r.outcome === 'succeeded')).toBe(true);
  });

  it.each([
    ['exits at start', { cmd: ['/bin/sh', '-c', 'echo broken build >&2; exit 3'] }, /container exited \(exit code 3\)/],
    ['fails its health path (404)', { health: { http: '/up', interval: '100ms', start_period: '3s' } }, /GET \/up → 404 after/],
    ['never opens its port', { cmd: ['/bin/sh', '-c', 'echo listening soon; exec sleep 3600'], health: { http: '/', interval: '100ms', start_period: '3s' } }, /GET \/: ECONNREFUSED after/],
  ])('should keep the old version serving when the new one %s (start-first)', async (_what, broken, reason) => {
    const before = await containerId(SERVICE);
    const load = traffic(mcproxy.listenerPort(':443')!);

    const result = await client.call('deploy', { service: spec({ image: V2, ...broken }), component: '', force: false });
    const seen = await load.stop();

    expect(result.results[0]).toMatchObject({ ok: false, changed: true });
    expect(result.results[0].error).toMatch(reason);
    expect(result.results[0].error).toMatch(/the old container kept serving$/);
    if (_what === 'exits at start') expect(result.results[0].logTail).toContain('broken build');
    expect(seen.failed).toBe(0);
    expect(seen.ok).toBeGreaterThan(0);
    expect(await containerId(SERVICE)).toBe(before);
    const releases = await client.call('listReleases', { service: SERVICE, component: '' });
    expect(releases.releases[0]).toMatchObject({ number: result.results[0].release, outcome: 'failed' });
  });

  it('should bring the previous release back when the new one fails stop-first, and say so', async () => {
    await client.call('deploy', { service: spec({ image: V1, strategy: 'stop-first' }), component: '', force: false });
    const good = (await client.call('listReleases', { service: SERVICE, component: '' })).releases[0];

    const result = await client.call('deploy', { service: spec({ image: V2, strategy: 'stop-first', cmd: ['/bin/sh', '-c', 'echo broken build >&2; exit 3'] }), component: '', force: false });

    expect(result.results[0]).toMatchObject({ ok: false });
    expect(result.results[0].error).toMatch(new RegExp(`^rolled back to release ${good.number}: health check GET /: container exited \\(exit code 3\\)`));
    const { stdout } = await run('podman', ['exec', SERVICE, 'cat', '/www/index.html']);
    expect(stdout.trim()).toBe('hello from mcp-test busybox 1.0');
    const releases = await client.call('listReleases', { service: SERVICE, component: '' });
    expect(releases.releases[0]).toMatchObject({ outcome: 'rolled_back' });
    const port = mcproxy.listenerPort(':443')!;
    const load = traffic(port);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await load.stop()).failed).toBe(0);
  });
});
