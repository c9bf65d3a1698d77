import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { mcpv1 } from '@mcp/proto';
import { startFakeMcproxy, type FakeMcproxy } from '../servers/fake-mcproxy';
import {
  httpGetWhenUp,
  agentClient,
  makeTestConfig,
  makeTlsFixture,
  startAgentProcess,
  TEST_ADMIN_TOKEN,
  writeTestTokens,
  type AgentProcess,
  type AgentTestClient,
} from '../support';

jest.setTimeout(120_000);

const run = promisify(execFile);
const IMAGE = 'localhost/mcp-test/busybox:1.0';
/** Every container this suite creates starts with this prefix (a valid service name). */
const PREFIX = `e2e${randomBytes(3).toString('hex')}`;
const SERVICE = `${PREFIX}-web`;

function component(name: string, routes: mcpv1.RouteSpec[], portVar: string): mcpv1.ComponentSpec {
  return {
    name,
    image: IMAGE,
    network: '',
    memory: '', cpus: 0, secrets: [], envSecrets: {}, dependsOn: [],
    user: '',
    restart: '',
    ports: [],
    volumes: [],
    // SPEC §8's implicit health check wants every route's port open: serve each one.
    cmd: ['/bin/sh', '-c', portVar === 'PORT' ? 'exec httpd -f -p $PORT -h /www' : 'httpd -p $PORT_ADMIN_UI -h /www; exec httpd -f -p $PORT_HTTP -h /www'],
    env: ['GREETING=hi'],
    routes,
  };
}

/** One component named like the service (one unnamed route), one with two named routes. */
const SPEC: mcpv1.ServiceSpec = {
  name: SERVICE,
  active: true,
  components: [
    component(SERVICE, [{ name: '', port: 443, mode: 'l4', hostname: '' }], 'PORT'),
    component('api', [
      { name: 'http', port: 8443, mode: 'l4', hostname: `api.${PREFIX}.test` },
      { name: 'admin-ui', port: 9443, mode: 'l4', hostname: '' },
    ], 'PORT_HTTP'),
  ],
};
const WEB = SERVICE;
const API = `${SERVICE}-api`;

async function podmanNames(): Promise<string[]> {
  const { stdout } = await run('podman', ['ps', '-a', '--format', '{{.Names}}']);
  return stdout.split('\n').filter((n) => n.startsWith(PREFIX));
}

async function removeOurContainers(): Promise<void> {
  const names = await podmanNames();
  if (names.length > 0) await run('podman', ['rm', '-f', '-t', '0', ...names]);
}

async function containerEnv(name: string): Promise<string[]> {
  const { stdout } = await run('podman', ['exec', name, 'env']);
  return stdout.split('\n');
}

async function containerId(name: string): Promise<string> {
  const { stdout } = await run('podman', ['inspect', '--format', '{{.Id}}', name]);
  return stdout.trim();
}


describe('mcp-agent deploy (real process, real podman)', () => {
  const config = makeTestConfig({ mcproxy: { socket: undefined } });
  const dir = path.dirname(config.file);
  const socketPath = path.join(dir, 'mc-proxy.sock');
  let agent: AgentProcess | undefined;
  let client: AgentTestClient;
  let mcproxy: FakeMcproxy;
  let caCertPath: string;

  async function startAgent(): Promise<void> {
    agent = await startAgentProcess({ config: Object.assign(Object.create(Object.getPrototypeOf(config)), config, { mcproxy: { ...config.mcproxy, socket: socketPath } }) });
    client?.close();
    client = agentClient({ address: agent.address, caCertPath, token: TEST_ADMIN_TOKEN });
  }

  async function status(service = SERVICE): Promise<Record<string, mcpv1.ComponentStatus>> {
    const result = await client.call('getServiceStatus', { service, eventLimit: 50 });
    return Object.fromEntries(result.components.map((c) => [c.component, c]));
  }

  async function hostPorts(): Promise<Record<string, number>> {
    const list = await client.call('listServices', {});
    const svc = list.services.find((s) => s.name === SERVICE)!;
    return Object.fromEntries(svc.components.flatMap((c) => c.routes.map((r) => [`${c.name}/${r.name}`, r.hostPort])));
  }

  beforeAll(async () => {
    caCertPath = (await makeTlsFixture(path.join(dir, 'tls'))).caCertPath;
    await writeTestTokens(config);
    mcproxy = await startFakeMcproxy({ socketPath });
    await startAgent();
  });

  afterAll(async () => {
    client?.close();
    await agent?.stop();
    await mcproxy?.close();
    await removeOurContainers();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('should deploy both components, serve through the allocated port and pass PORT / PORT_<NAME>', async () => {
    const result = await client.call('deploy', { service: SPEC, component: '', force: false });
    expect(result.results).toEqual([
      { component: SERVICE, ok: true, error: '', container: WEB, release: 1, logTail: '', changed: true },
      { component: 'api', ok: true, error: '', container: API, release: 1, logTail: '', changed: true },
    ]);

    const ports = await hostPorts();
    const webPort = ports[`${SERVICE}/`];
    const httpPort = ports['api/http'];
    const adminPort = ports['api/admin-ui'];
    expect(new Set([webPort, httpPort, adminPort]).size).toBe(3);

    expect(await httpGetWhenUp(webPort)).toContain('hello from mcp-test busybox');
    expect(await httpGetWhenUp(httpPort)).toContain('hello from mcp-test busybox');

    expect(await containerEnv(WEB)).toEqual(expect.arrayContaining([`PORT=${webPort}`, 'GREETING=hi']));
    const apiEnv = await containerEnv(API);
    expect(apiEnv).toEqual(expect.arrayContaining([`PORT_HTTP=${httpPort}`, `PORT_ADMIN_UI=${adminPort}`]));
    expect(apiEnv.some((line) => line.startsWith('PORT='))).toBe(false);

    expect(mcproxy.routes()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ listener: ':443', hostname: `${SERVICE}.${config.agent.routeDomain}`, backend: `127.0.0.1:${webPort}`, mode: 'l4' }),
        expect.objectContaining({ listener: ':8443', hostname: `api.${PREFIX}.test`, backend: `127.0.0.1:${httpPort}` }),
        expect.objectContaining({ listener: ':9443', hostname: `${SERVICE}.${config.agent.routeDomain}`, backend: `127.0.0.1:${adminPort}` }),
      ]),
    );
    const st = await status();
    expect(st[SERVICE]).toMatchObject({ desiredState: 'running', observedState: 'running', version: '1.0', drift: false });
    expect(st.api).toMatchObject({ desiredState: 'running', observedState: 'running', drift: false });
  });

  it('should list live containers from podman, marking ones nobody manages as ignore', async () => {
    const stray = `${PREFIX}x-stray`;
    await run('podman', ['run', '-d', '--name', stray, IMAGE, 'sleep', '3600']);
    // LiveCheck answers from podman's event stream: a container started behind the agent's
    // back shows once its events arrive (SPEC §10: within 2 s; bench P11 measures it).
    const deadline = Date.now() + 10_000;
    let live = await client.call('liveCheck', {});
    while (live.containers.find((c) => c.container === stray)?.state !== 'running' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      live = await client.call('liveCheck', {});
    }
    const byName = Object.fromEntries(live.containers.map((c) => [c.container, c]));
    expect(byName[WEB]).toMatchObject({ service: SERVICE, component: SERVICE, state: 'running', version: '1.0', desiredState: 'running' });
    expect(byName[API]).toMatchObject({ service: SERVICE, component: 'api', desiredState: 'running' });
    expect(byName[stray]).toMatchObject({ state: 'running', desiredState: 'ignore' });
    await run('podman', ['rm', '-f', '-t', '0', stray]);

    const node = await client.call('nodeStatus', {});
    expect(node).toMatchObject({ node: config.agent.nodeName, version: expect.stringMatching(/^\d+\.\d+\.\d+/), runtimeVersion: expect.stringMatching(/^\d+\.\d+/) });
    expect(node.runningContainers).toBeGreaterThanOrEqual(2);
    expect(node.diskFreeBytes).toBeGreaterThan(0);
  });

  it('should leave an unchanged redeploy alone and recreate on force start-first, on new ports the routes now name', async () => {
    const before = await containerId(WEB);
    const ports = await hostPorts();

    await client.call('deploy', { service: SPEC, component: '', force: false });
    expect(await containerId(WEB)).toBe(before);

    const forced = await client.call('deploy', { service: SPEC, component: '', force: true });
    expect(forced.results.every((r) => r.ok)).toBe(true);
    expect(await containerId(WEB)).not.toBe(before);
    // Start-first (SPEC §8): the new container ran beside the old one, so on new host ports.
    const after = await hostPorts();
    expect(after[`${SERVICE}/`]).not.toBe(ports[`${SERVICE}/`]);
    expect(mcproxy.routes().filter((r) => r.hostname.includes(PREFIX)).map((r) => Number(r.backend.split(':')[1])).sort()).toEqual(Object.values(after).sort());
  });

  it('should stop, start, restart and undeploy with status reflecting each', async () => {
    await client.call('stopService', { service: SERVICE });
    let st = await status();
    expect(st[SERVICE]).toMatchObject({ desiredState: 'stopped', observedState: 'exited', drift: false });
    expect(mcproxy.routes().filter((r) => r.hostname.includes(PREFIX))).toEqual([]);

    await client.call('startService', { service: SERVICE });
    st = await status();
    expect(st[SERVICE]).toMatchObject({ desiredState: 'running', observedState: 'running' });
    expect(mcproxy.routes().filter((r) => r.hostname.includes(PREFIX))).toHaveLength(3);
    expect(await httpGetWhenUp((await hostPorts())[`${SERVICE}/`])).toContain('hello from mcp-test busybox');

    const id = await containerId(API);
    const restarted = await client.call('restartService', { service: SERVICE });
    expect(restarted.results.every((r) => r.ok)).toBe(true);
    expect(await containerId(API)).toBe(id);
    expect((await status()).api).toMatchObject({ desiredState: 'running', observedState: 'running' });

    await client.call('undeployService', { service: SERVICE });
    expect(await podmanNames()).toEqual([]);
    st = await status();
    expect(st[SERVICE]).toMatchObject({ observedState: 'removed', desiredState: 'stopped', drift: false });
    const list = await client.call('listServices', {});
    const svc = list.services.find((s) => s.name === SERVICE)!;
    expect(svc.active).toBe(false);
    expect(svc.components.flatMap((c) => c.routes.map((r) => r.hostPort))).toEqual([0, 0, 0]);
    const events = (await client.call('getServiceStatus', { service: SERVICE, eventLimit: 100 })).events.map((e) => e.kind);
    expect(events).toEqual(expect.arrayContaining(['deployed', 'stopped', 'started', 'restarted', 'undeployed']));
  });

  it('should survive kill -9 during a deploy with an intact database and truthful status', async () => {
    const victim: mcpv1.ServiceSpec = { ...SPEC, name: `${PREFIX}-victim`, components: [component(`${PREFIX}-victim`, [{ name: '', port: 443, mode: 'l4', hostname: '' }], 'PORT')] };
    const pending = client.call('deploy', { service: victim, component: '', force: true }).catch((err: Error) => err);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await agent!.kill9();
    await pending;

    const check = execFileSync('sqlite3', [config.database.path, 'PRAGMA integrity_check'], { encoding: 'utf8' }).trim();
    expect(check).toBe('ok');

    await startAgent();
    const exists = (await podmanNames()).includes(victim.name);
    const live = exists ? (await run('podman', ['inspect', '--format', '{{.State.Status}}', victim.name])).stdout.trim() : 'removed';
    const list = await client.call('listServices', {});
    if (list.services.some((s) => s.name === victim.name)) {
      // The agent reports what podman says now, whatever point the kill hit.
      expect((await status(victim.name))[victim.name].observedState).toBe(live);
    } else {
      expect(exists).toBe(false);
    }
    // And it still deploys normally afterwards.
    const again = await client.call('deploy', { service: victim, component: '', force: true });
    expect(again.results[0]).toMatchObject({ ok: true, error: "" });
    expect((await status(victim.name))[victim.name]).toMatchObject({ observedState: 'running', drift: false });
  });

  it('should finish an in-flight deploy on SIGTERM, then exit 0 with the database intact', async () => {
    const late: mcpv1.ServiceSpec = { ...SPEC, name: `${PREFIX}-late`, components: [{ ...component(`${PREFIX}-late`, [], 'PORT'), cmd: ['sleep', '3600'] }] };
    await client.call('nodeStatus', {}); // the connection is up, so the deploy below is in flight at SIGTERM
    const pending = client.call('deploy', { service: late, component: '', force: true });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const exitCode = agent!.stop();

    const result = await pending;
    expect(result.results[0]).toMatchObject({ ok: true });
    expect(await exitCode).toBe(0);
    expect(agent!.logs()).toContain('"msg":"stopped"');
    expect(execFileSync('sqlite3', [config.database.path, 'PRAGMA integrity_check'], { encoding: 'utf8' }).trim()).toBe('ok');

    await startAgent();
    expect((await status(late.name))[late.name]).toMatchObject({ observedState: 'running', desiredState: 'running' });
  });

  it('should refuse an invalid spec with INVALID_ARGUMENT listing every problem', async () => {
    const bad: mcpv1.ServiceSpec = { name: 'Bad_Name', active: true, components: [{ ...component('x', [], 'PORT'), name: '', image: 'busybox' }] };
    const err = await client.call('deploy', { service: bad, component: '', force: false }).then(
      () => undefined,
      (e: { code: number; details: string }) => e,
    );
    expect(err?.code).toBe(3);
    expect(err?.details.split('\n').length).toBeGreaterThanOrEqual(3);
  });
});
