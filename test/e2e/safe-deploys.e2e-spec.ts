import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { ComponentSpec, HealthSpec } from '@mcp/common';
import { serializeServiceDefinition } from '@mcp/servicedef';
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
const BIN = path.resolve(__dirname, '..', '..', 'bin', 'mcp.js');
/** A tag this suite re-points from one image to another (SPEC §8 rollback by digest). */
const MOVING = `localhost/${PREFIX}/app:stable`;
/** httpd whose health path /cgi-bin/up answers 503 (a CGI script), while / serves the page. */
const SERVES_503 = [
  '/bin/sh',
  '-c',
  'mkdir -p /tmp/w/cgi-bin && cp /www/index.html /tmp/w/ && printf \'#!/bin/sh\\nprintf "Status: 503 Service Unavailable\\\\r\\\\nContent-Type: text/plain\\\\r\\\\n\\\\r\\\\ndown\\\\n"\\n\' > /tmp/w/cgi-bin/up && busybox chmod +x /tmp/w/cgi-bin/up && echo serving 503 on /cgi-bin/up && exec httpd -f -p $PORT -h /tmp/w',
];

/** The definition file the CLI reads: one routed component, as `spec()` builds it. */
function definition(input: { image: string; cmd?: string[]; health?: HealthSpec; strategy?: 'start-first' | 'stop-first'; env?: string[] }): string {
  const component: ComponentSpec = {
    name: SERVICE,
    image: input.image,
    cmd: input.cmd ?? HTTPD_ON_PORT,
    env: input.env ?? [],
    ports: [],
    volumes: [],
    routes: [{ port: 443, mode: 'l4' }],
    drain: '1s',
    health: input.health ?? GOOD_HEALTH,
    ...(input.strategy ? { strategy: input.strategy } : {}),
  };
  return `# ${SERVICE}: written by the safe-deploys e2e\n${serializeServiceDefinition({ name: SERVICE, node: 'local', active: true, components: [component] })}`;
}

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
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}-home-`));
  const servicesDir = path.join(home, '.config', 'mcp', 'services');
  const definitionFile = path.join(servicesDir, `${SERVICE}.toml`);

  /** The real CLI (bin/mcp.js) against this suite's agent. */
  function mcp(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  async function releases(): Promise<Array<{ release: number; outcome: string; image: string; digest: string; rollbackOf: number; message: string }>> {
    const result = await mcp(['releases', SERVICE, '--json']);
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout).releases;
  }

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
    fs.mkdirSync(servicesDir, { recursive: true });
    fs.writeFileSync(
      path.join(home, '.config', 'mcp', 'mcp.toml'),
      `[tls]\nca_cert = ${JSON.stringify(caCertPath)}\n\n[[nodes]]\nname = "local"\naddress = ${JSON.stringify(agent.address)}\nserver_name = "localhost"\n`,
    );
    fs.writeFileSync(path.join(home, '.config', 'mcp', 'token'), `${TEST_ADMIN_TOKEN}\n`, { mode: 0o600 });
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
    // Only this name: `podman untag IMAGE` alone would strip every name, the shared test image's too.
    await run('podman', ['untag', MOVING, MOVING]).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
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

  const BROKEN: Array<[string, { cmd?: string[]; health?: HealthSpec }, RegExp, string]> = [
    ['exits at start', { cmd: ['/bin/sh', '-c', 'echo broken build >&2; exit 3'] }, /container exited \(exit code 3\)/, 'broken build'],
    ['serves 503 on its health path', { cmd: SERVES_503, health: { http: '/cgi-bin/up', interval: '100ms', start_period: '3s' } }, /GET \/cgi-bin\/up → 503 after/, 'serving 503 on /cgi-bin/up'],
    ['never opens its port', { cmd: ['/bin/sh', '-c', 'echo listening soon; exec sleep 3600'], health: { http: '/', interval: '100ms', start_period: '3s' } }, /GET \/: ECONNREFUSED after/, 'listening soon'],
  ];

  it.each(BROKEN)('should keep the old version serving when the new one %s (start-first, through mcp deploy)', async (_what, broken, reason, logLine) => {
    const before = await containerId(SERVICE);
    fs.writeFileSync(definitionFile, definition({ image: V2, ...broken }));
    const load = traffic(mcproxy.listenerPort(':443')!);

    const result = await mcp(['deploy', SERVICE]);
    const seen = await load.stop();

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(reason);
    expect(result.stdout).toMatch(/the old container kept serving/);
    expect(result.stdout).toMatch(new RegExp(`last \\d+ log line\\(s\\) of the failed container of ${SERVICE}:\\n(  \\| .*\\n)*  \\| ${logLine}\\n`));
    expect(result.stderr).toMatch(/1 of 1 component\(s\) failed/);
    expect(seen.errors).toEqual([]);
    expect(seen.failed).toBe(0);
    expect(seen.ok).toBeGreaterThan(0);
    expect(await containerId(SERVICE)).toBe(before);
    const [newest] = await releases();
    expect(newest).toMatchObject({ outcome: 'failed', image: V2 });
    expect(newest.message).toMatch(reason);
    expect(result.stdout).toContain(`release ${newest.release} failed`);
  });

  it.each(BROKEN)('should bring the previous release back when the new one %s (stop-first), and say "rolled back to release N"', async (_what, broken, reason) => {
    fs.writeFileSync(definitionFile, definition({ image: V1, strategy: 'stop-first' }));
    expect((await mcp(['deploy', SERVICE])).code).toBe(0);
    const good = (await releases()).find((r) => r.outcome === 'succeeded')!;

    fs.writeFileSync(definitionFile, definition({ image: V2, strategy: 'stop-first', ...broken }));
    const result = await mcp(['deploy', SERVICE]);

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(new RegExp(`failed: rolled back to release ${good.release}: health check`));
    expect(result.stdout).toMatch(reason);
    const { stdout } = await run('podman', ['exec', SERVICE, 'cat', '/www/index.html']);
    expect(stdout.trim()).toBe('hello from mcp-test busybox 1.0');
    expect((await releases())[0]).toMatchObject({ outcome: 'rolled_back', image: V2 });
    const load = traffic(mcproxy.listenerPort(':443')!);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const seen = await load.stop();
    expect(seen.failed).toBe(0);
    expect([...seen.bodies]).toEqual(['hello from mcp-test busybox 1.0']);
  });

  it('should plan a deploy field by field and change nothing: same container, no pull, no port taken', async () => {
    fs.writeFileSync(definitionFile, definition({ image: V1 }));
    expect((await mcp(['deploy', SERVICE])).code).toBe(0);
    const before = await containerId(SERVICE);
    const routesBefore = JSON.stringify(mcproxy.routes());
    const portsBefore = (await client.call('listServices', {})).services.find((s) => s.name === SERVICE)!.components[0].routes.map((r) => r.hostPort);
    const missing = `localhost/${PREFIX}/never-pulled:9.9`;
    fs.writeFileSync(definitionFile, definition({ image: missing, env: ['FOO=1'], health: { http: '/', interval: '200ms', start_period: '20s' } }));

    const plan = await mcp(['deploy', SERVICE, '--dry-run']);
    const json = await mcp(['deploy', SERVICE, '--dry-run', '--json']);

    expect(plan.stderr).toBe('');
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(new RegExp(`^${SERVICE}\\s+recreate\\s+start-first\\s+image: `, 'm'));
    expect(plan.stdout).toContain('dry run: nothing was changed');
    expect(JSON.parse(json.stdout).components).toEqual([
      { component: SERVICE, action: 'recreate', strategy: 'start-first', changes: [`image: ${V1} → ${missing}`, 'env: +FOO', 'health: GET / interval=100ms start_period=20s → GET / interval=200ms start_period=20s'] },
    ]);
    expect(await containerId(SERVICE)).toBe(before);
    await expect(run('podman', ['image', 'exists', missing])).rejects.toThrow();
    expect(JSON.stringify(mcproxy.routes())).toBe(routesBefore);
    expect((await client.call('listServices', {})).services.find((s) => s.name === SERVICE)!.components[0].routes.map((r) => r.hostPort)).toEqual(portsBefore);
    expect((await client.call('listReleases', { service: SERVICE, component: '' })).releases.some((r) => r.image === missing)).toBe(false);
  });

  it('should roll back by digest when the tag was re-pointed since, record it as a rollback, and rewrite the file only with --write', async () => {
    await run('podman', ['tag', V1, MOVING]);
    fs.writeFileSync(definitionFile, definition({ image: MOVING }));
    expect((await mcp(['deploy', SERVICE])).code).toBe(0);
    const old = (await releases())[0];
    expect(old).toMatchObject({ outcome: 'succeeded', image: MOVING });
    const v1Id = (await run('podman', ['image', 'inspect', '--format', '{{.Id}}', V1])).stdout.trim();
    fs.writeFileSync(definitionFile, definition({ image: V2 }));
    expect((await mcp(['deploy', SERVICE])).code).toBe(0);
    // The tag now names the 2.0 image: deploying it by tag would run 2.0.
    await run('podman', ['tag', V2, MOVING]);

    const rolled = await mcp(['rollback', SERVICE, '--to', String(old.release)]);

    expect(rolled.stderr).toBe('');
    expect(rolled.code).toBe(0);
    expect(rolled.stdout).toMatch(new RegExp(`${SERVICE}\\s+local\\s+rolled back to release ${old.release}`));
    expect((await run('podman', ['inspect', '--format', '{{.Image}}', SERVICE])).stdout.trim()).toBe(v1Id);
    const { stdout } = await run('podman', ['exec', SERVICE, 'cat', '/www/index.html']);
    expect(stdout.trim()).toBe('hello from mcp-test busybox 1.0');
    expect((await releases())[0]).toMatchObject({ outcome: 'succeeded', rollbackOf: old.release, image: MOVING, digest: old.digest });
    // The file still says 2.0: status says so.
    expect(fs.readFileSync(definitionFile, 'utf8')).toBe(definition({ image: V2 }));
    const status = await mcp(['status', SERVICE]);
    expect(status.stdout).toMatch(new RegExp(`^${SERVICE}/${SERVICE}: running release \\d+ differs from file ${definitionFile.replace(/[.]/g, '\\.')}: image: ${MOVING} → ${V2}$`, 'm'));

    const written = await mcp(['rollback', SERVICE, '--to', String(old.release), '--write']);
    expect(written.code).toBe(0);
    expect(fs.readFileSync(definitionFile, 'utf8')).toBe(definition({ image: MOVING }));
    expect(JSON.parse((await mcp(['status', SERVICE, '--json'])).stdout).fileDiffers).toEqual([]);
  });
});
