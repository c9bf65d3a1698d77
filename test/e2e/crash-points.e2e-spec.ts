import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import type { mcpv1 } from '@mcp/proto';
import { startFakeMcproxy, type FakeMcproxy } from '../servers/fake-mcproxy';
import { HTTPD_ON_PORT, httpGetWhenUp, makeTestConfig, protoService, TestAgent } from '../support';

jest.setTimeout(240_000);

const run = promisify(execFile);
const PREFIX = `i12-crash-${randomBytes(3).toString('hex')}`;
const V1 = 'localhost/mcp-test/busybox:1.0';
const V2 = 'localhost/mcp-test/busybox:2.0';

/** One routed httpd component named like the service, so the container is `<service>`. */
function spec(service: string, image: string): mcpv1.ServiceSpec {
  // stop-first: the flow whose points these are (with mc-proxy, routes default to start-first).
  return protoService({ name: service, components: [{ name: service, image, cmd: HTTPD_ON_PORT, routes: [{ port: 443 }], strategy: 'stop-first' }] });
}

/** The same component deployed start-first (the default with mc-proxy and routes), with an http check and no drain. */
function startFirstSpec(service: string, image: string): mcpv1.ServiceSpec {
  return protoService({
    name: service,
    components: [{ name: service, image, cmd: HTTPD_ON_PORT, routes: [{ port: 443 }], strategy: 'start-first', drain: '0s', health: { http: '/', interval: '100ms', start_period: '30s' } }],
  });
}

/** Every container podman has whose name starts with `service` (the canonical and any temporary one). */
async function containersOf(service: string): Promise<string[]> {
  const { stdout } = await run('podman', ['ps', '-a', '--format', '{{.Names}}']);
  return stdout.split('\n').filter((name) => name === service || name.startsWith(`${service}_`)).sort();
}

/** The registry's word on which container serves, and the outcome of each release. */
function servingRecord(file: string, service: string): { containerName: string; releases: string[] } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('SELECT container_name AS containerName FROM components WHERE service = ? AND name = ?').get(service, service) as { containerName: string };
    const releases = db.prepare('SELECT number, outcome FROM releases WHERE service = ? ORDER BY number').all(service) as Array<{ number: number; outcome: string }>;
    return { containerName: row.containerName, releases: releases.map((r) => `${r.number}:${r.outcome}`) };
  } finally {
    db.close();
  }
}

/** GET / through mc-proxy's stand-in (its :443 listener forwards to the route's backend). */
async function throughProxy(proxy: FakeMcproxy): Promise<string> {
  const port = proxy.listenerPort(':443');
  if (port === undefined) throw new Error('mc-proxy has no :443 listener');
  return httpGetWhenUp(port);
}

interface PodmanState {
  id: string;
  image: string;
  state: string;
}

/** What podman runs under `name` (live, from podman itself), or null. */
async function podmanState(name: string): Promise<PodmanState | null> {
  try {
    const { stdout } = await run('podman', ['container', 'inspect', '--format', '{{.Id}} {{.ImageName}} {{.State.Status}}', name]);
    const [id, image, state] = stdout.trim().split(' ');
    return { id, image, state };
  } catch (error) {
    if (/no such container/i.test((error as { stderr?: string }).stderr ?? '')) return null;
    throw error;
  }
}

function hostPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

interface RegistryRow {
  image: string;
  desired: string;
  observed: string;
  version: string;
  hash: string;
  containerId: string;
  hostPorts: number[];
  events: string[];
}

/** The registry's rows for a service, read straight from the SQLite file (read-only, WAL-aware). */
function registryRow(file: string, service: string): RegistryRow | null {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const row = db
      .prepare('SELECT spec_json, desired_state, observed_state, version, deployed_spec_hash, container_id FROM components WHERE service = ? AND name = ?')
      .get(service, service) as { spec_json: string; desired_state: string; observed_state: string; version: string; deployed_spec_hash: string; container_id: string } | undefined;
    if (!row) return null;
    const ports = db.prepare('SELECT host_port FROM routes WHERE service = ? ORDER BY port').all(service) as Array<{ host_port: number | null }>;
    const events = db.prepare('SELECT kind, message FROM events WHERE service = ? ORDER BY id').all(service) as Array<{ kind: string; message: string }>;
    return {
      image: (JSON.parse(row.spec_json) as { image: string }).image,
      desired: row.desired_state,
      observed: row.observed_state,
      version: row.version,
      hash: row.deployed_spec_hash,
      containerId: row.container_id,
      hostPorts: ports.map((p) => p.host_port ?? 0),
      events: events.map((e) => `${e.kind}: ${e.message}`),
    };
  } finally {
    db.close();
  }
}

/** Every host port the registry holds, for any service (an orphan would show up here). */
function allHostPorts(file: string): Array<{ service: string; hostPort: number }> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT service, host_port AS hostPort FROM routes WHERE host_port IS NOT NULL ORDER BY service').all() as Array<{ service: string; hostPort: number }>;
  } finally {
    db.close();
  }
}

/**
 * Deterministic crash points (issue #12): the real agent, armed with one failpoint at a time
 * (`MCP_AGENT_FAILPOINTS=<point>=kill`), is SIGKILLed at that exact point of a redeploy
 * (1.0 → 2.0) of a routed service. After each crash the agent restarts unarmed and the suite
 * asserts exactly what the registry holds, what podman runs and what mc-proxy routes — no
 * orphan port or route — and that the next deploy converges and serves 2.0.
 */
describe('deploy crash points (real agent SIGKILLed at failpoints, real podman)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'i12-crash-'));
  const mcproxySocket = path.join(dir, 'mc-proxy.sock');
  const config = makeTestConfig({ dir, mcproxy: { socket: mcproxySocket } });
  let mcproxy: FakeMcproxy;
  let node: TestAgent;

  async function startAgent(failpoint?: string): Promise<void> {
    await node.stop();
    await node.start({ env: failpoint ? { MCP_AGENT_FAILPOINTS: `${failpoint}=kill` } : {} });
  }

  beforeAll(async () => {
    node = await TestAgent.create({ config });
    mcproxy = await startFakeMcproxy({ socketPath: mcproxySocket });
  });

  afterAll(async () => {
    await node?.stop();
    await mcproxy?.close();
    await node?.dispose({ containerPrefix: PREFIX });
  });

  /**
   * What each point leaves, for a redeploy whose route keeps its host port: the spec (2.0) is
   * stored before any step, the deployed-spec hash and observed state are recorded only at
   * the end, so each crash leaves the registry naming 1.0 as deployed — and the next deploy
   * sees the difference and recreates.
   */
  const POINTS: Array<{ point: string; container: 'old' | 'none' | 'new' }> = [
    { point: 'deploy.after-pull', container: 'old' },
    { point: 'deploy.after-port-allocation', container: 'old' },
    { point: 'deploy.after-old-removed', container: 'none' },
    { point: 'deploy.after-new-running', container: 'new' },
    { point: 'deploy.after-route-registration', container: 'new' },
  ];

  it.each(POINTS)('should recover from a crash at $point: exact registry, podman and mc-proxy state, then converge', async ({ point, container }) => {
    const service = `${PREFIX}-${POINTS.findIndex((p) => p.point === point)}`;
    await startAgent();
    const first = await node.rpc.call('deploy', { service: spec(service, V1), component: '', force: false });
    expect(first.results.map((r) => [r.component, r.ok, r.error])).toEqual([[service, true, '']]);
    const before = registryRow(config.database.path, service)!;
    const oldContainer = (await podmanState(service))!;
    const [hostPort] = before.hostPorts;
    expect(before).toMatchObject({ image: V1, desired: 'running', observed: 'running', version: '1.0' });
    expect(oldContainer).toMatchObject({ image: V1, state: 'running' });
    await node.stop();

    // The armed agent dies at the point: the RPC fails and the process ends by SIGKILL.
    await startAgent(point);
    expect(node.process!.logs()).toContain(`failpoints armed (test use only): ${point}=kill`);
    await expect(node.rpc.call('deploy', { service: spec(service, V2), component: '', force: false })).rejects.toMatchObject({ code: 14 });
    expect(await node.process!.exited).toEqual({ code: null, signal: 'SIGKILL' });

    await startAgent();
    const after = registryRow(config.database.path, service)!;
    expect(after).toEqual({
      ...before,
      image: V2,
      // No 'error' event: the deploy never finished, it was cut off.
      events: before.events,
    });
    const now = await podmanState(service);
    if (container === 'old') expect(now).toEqual(oldContainer);
    if (container === 'none') expect(now).toBeNull();
    if (container === 'new') {
      expect(now).toMatchObject({ image: V2, state: 'running' });
      expect(now!.id).not.toBe(oldContainer.id);
    }
    // The route's host port is held only by this component, and served exactly when a container runs.
    expect(allHostPorts(config.database.path).filter((p) => p.service.startsWith(PREFIX))).toEqual(
      expect.arrayContaining([{ service, hostPort }]),
    );
    expect(allHostPorts(config.database.path).filter((p) => p.hostPort === hostPort)).toEqual([{ service, hostPort }]);
    expect(await hostPortFree(hostPort)).toBe(container === 'none');
    expect(mcproxy.routes().filter((r) => r.hostname.startsWith(service))).toEqual([
      expect.objectContaining({ listener: ':443', hostname: `${service}.${config.agent.routeDomain}`, backend: `127.0.0.1:${hostPort}` }),
    ]);

    // The next deploy (no --force) converges: 2.0 runs, recorded, routed, serving.
    const again = await node.rpc.call('deploy', { service: spec(service, V2), component: '', force: false });
    expect(again.results.map((r) => [r.component, r.ok, r.error])).toEqual([[service, true, '']]);
    const converged = registryRow(config.database.path, service)!;
    const running = (await podmanState(service))!;
    expect(running).toMatchObject({ image: V2, state: 'running' });
    expect(converged).toMatchObject({ image: V2, desired: 'running', observed: 'running', version: '2.0', hostPorts: [hostPort], containerId: running.id });
    expect(converged.hash).not.toBe(before.hash);
    expect(mcproxy.routes().filter((r) => r.hostname.startsWith(service))).toEqual([expect.objectContaining({ backend: `127.0.0.1:${hostPort}` })]);
    expect(await httpGetWhenUp(hostPort)).toContain('2.0');

    await node.rpc.call('undeployService', { service });
    expect(await podmanState(service)).toBeNull();
    expect(mcproxy.routes().filter((r) => r.hostname.startsWith(service))).toEqual([]);
    expect(allHostPorts(config.database.path).filter((p) => p.service === service)).toEqual([]);
    await node.stop();
  });

  /**
   * Start-first (issue #11): killed at each step of a redeploy 1.0 → 2.0 — old serving/new
   * starting, new healthy/route not switched, switched/old not removed, old removed/not
   * renamed — the restarted agent (DeployRecovery, at start) leaves exactly one container of
   * the component, named canonically and serving the route through mc-proxy; the registry
   * names it; no temporary container, no orphan host port or route; the next deploy converges.
   * Before the switch the old container serves on; from the switch on (the registry names
   * the new container in the same transaction as its ports) the new one does.
   */
  const START_FIRST: Array<{ point: string; serves: 'old' | 'new' }> = [
    { point: 'deploy.start-first.new-started', serves: 'old' },
    { point: 'deploy.start-first.new-healthy', serves: 'old' },
    { point: 'deploy.start-first.route-switched', serves: 'new' },
    { point: 'deploy.start-first.old-removed', serves: 'new' },
  ];

  it.each(START_FIRST)('should recover from a crash at $point: one container serves the route, the one the registry names; then converge', async ({ point, serves }) => {
    const service = `${PREFIX}-sf${START_FIRST.findIndex((p) => p.point === point)}`;
    await startAgent();
    const first = await node.rpc.call('deploy', { service: startFirstSpec(service, V1), component: '', force: false });
    expect(first.results.map((r) => [r.component, r.ok, r.error])).toEqual([[service, true, '']]);
    const old = (await podmanState(service))!;
    const [oldPort] = registryRow(config.database.path, service)!.hostPorts;
    expect(await throughProxy(mcproxy)).toContain('1.0');
    await node.stop();

    await startAgent(point);
    await expect(node.rpc.call('deploy', { service: startFirstSpec(service, V2), component: '', force: false })).rejects.toMatchObject({ code: 14 });
    expect(await node.process!.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // What the crash left: the new container under its temporary name, and the old one until it was removed.
    expect(await containersOf(service)).toEqual(point === 'deploy.start-first.old-removed' ? [`${service}_next`] : [service, `${service}_next`]);

    await startAgent();
    // Exactly one container of the component, under its canonical name, and the registry names it.
    expect(await containersOf(service)).toEqual([service]);
    const now = (await podmanState(service))!;
    const row = registryRow(config.database.path, service)!;
    const record = servingRecord(config.database.path, service);
    expect(record.containerName).toBe(service);
    expect(now.state).toBe('running');
    if (serves === 'old') {
      expect(now).toEqual(old);
      expect(row).toMatchObject({ version: '1.0', hostPorts: [oldPort], containerId: old.id });
      expect(record.releases).toEqual(['1:succeeded', '2:failed']);
    } else {
      expect(now.image).toBe(V2);
      expect(now.id).not.toBe(old.id);
      expect(row).toMatchObject({ version: '2.0', observed: 'running' });
      expect(row.hostPorts[0]).not.toBe(oldPort);
      expect(record.releases).toEqual(['1:succeeded', '2:succeeded']);
      expect(row.events).toContainEqual(expect.stringMatching(/^recovered_deploy: finished an interrupted start-first deploy/));
    }
    // The route: one, to the serving container's host port, and traffic through it reaches that version.
    const [servingPort] = row.hostPorts;
    expect(mcproxy.routes().filter((r) => r.hostname.startsWith(`${service}.`))).toEqual([expect.objectContaining({ listener: ':443', backend: `127.0.0.1:${servingPort}` })]);
    expect(await throughProxy(mcproxy)).toContain(serves === 'old' ? '1.0' : '2.0');
    // No orphan: only the serving port held by this component; the other one free on the host.
    expect(allHostPorts(config.database.path).filter((p) => p.service === service)).toEqual([{ service, hostPort: servingPort }]);
    const otherPorts = serves === 'old' ? [] : [oldPort];
    for (const port of otherPorts) expect(await hostPortFree(port)).toBe(true);

    // The next deploy converges: 2.0 runs under the canonical name, recorded, routed, serving.
    const again = await node.rpc.call('deploy', { service: startFirstSpec(service, V2), component: '', force: false });
    expect(again.results.map((r) => [r.component, r.ok, r.error, r.changed])).toEqual([[service, true, '', serves === 'old']]);
    expect(await containersOf(service)).toEqual([service]);
    const converged = registryRow(config.database.path, service)!;
    const running = (await podmanState(service))!;
    expect(running).toMatchObject({ image: V2, state: 'running' });
    expect(converged).toMatchObject({ version: '2.0', observed: 'running', containerId: running.id });
    expect(servingRecord(config.database.path, service).containerName).toBe(service);
    expect(mcproxy.routes().filter((r) => r.hostname.startsWith(`${service}.`))).toEqual([expect.objectContaining({ backend: `127.0.0.1:${converged.hostPorts[0]}` })]);
    expect(await throughProxy(mcproxy)).toContain('2.0');

    await node.rpc.call('undeployService', { service });
    expect(await containersOf(service)).toEqual([]);
    expect(mcproxy.routes().filter((r) => r.hostname.startsWith(`${service}.`))).toEqual([]);
    await node.stop();
  });

  it('should recover from a crash on a first deploy after the container started: no orphan, next deploy converges', async () => {
    const service = `${PREFIX}-fresh`;
    await startAgent('deploy.after-new-running');
    await expect(node.rpc.call('deploy', { service: spec(service, V1), component: '', force: false })).rejects.toMatchObject({ code: 14 });
    expect((await node.process!.exited).signal).toBe('SIGKILL');

    await startAgent();
    const after = registryRow(config.database.path, service)!;
    expect(after).toMatchObject({ image: V1, desired: 'running', observed: 'unknown', hash: '', containerId: '', events: [] });
    const [hostPort] = after.hostPorts;
    expect(await podmanState(service)).toMatchObject({ image: V1, state: 'running' });
    expect(mcproxy.routes().filter((r) => r.hostname.startsWith(service))).toEqual([]);

    const again = await node.rpc.call('deploy', { service: spec(service, V1), component: '', force: false });
    expect(again.results.map((r) => r.ok)).toEqual([true]);
    expect(registryRow(config.database.path, service)).toMatchObject({ observed: 'running', version: '1.0', hostPorts: [hostPort] });
    expect(mcproxy.routes().filter((r) => r.hostname.startsWith(service))).toEqual([expect.objectContaining({ backend: `127.0.0.1:${hostPort}` })]);
    expect(await httpGetWhenUp(hostPort)).toContain('1.0');
    await node.rpc.call('undeployService', { service });
    await node.stop();
  });
});
