import * as fs from 'node:fs';
import * as path from 'node:path';
import { isDrift, ServiceNotFoundError, type ComponentSpec } from '@mcp/common';
import { ComponentDeployer, HealthStates } from '@mcp/deployer';
import { componentSpecHash } from '@mcp/servicedef';
import { featureHarness, type FeatureHarness } from '../../../../test/support';
import { AGENT_VERSION } from '../version';
import { StatusService } from './status.service';

const IMAGE = 'localhost/mcp-test/busybox:1.0';
const component = (name: string, extra: Partial<ComponentSpec> = {}): ComponentSpec => ({ name, image: IMAGE, ports: [], volumes: [], cmd: [], env: [], routes: [], ...extra });

describe(StatusService.name, () => {
  let h: FeatureHarness;
  let sut: StatusService;

  async function deploy(service: string, components: ComponentSpec[]): Promise<void> {
    await h.registry.saveService({ name: service, active: true, components: components.map((c) => ({ spec: c, desiredState: 'running' })) });
    for (const c of components) {
      const outcome = await h.moduleRef.get(ComponentDeployer).deploy({ service, spec: c, desired: 'running', force: false });
      if (!outcome.ok) throw new Error(outcome.error);
    }
  }

  beforeEach(async () => {
    h = await featureHarness({ providers: [StatusService] });
    sut = h.moduleRef.get(StatusService);
    await deploy('mc-proxy', [component('mc-proxy', { routes: [{ port: 443, mode: 'l4' }] })]);
    await deploy('web', [component('web'), component('api')]);
    h.runtime.clearCalls();
  });

  afterEach(() => fs.rmSync(path.dirname(h.config.file), { recursive: true, force: true }));

  describe('listServices', () => {
    it('should answer from the registry alone, with specs and routes', async () => {
      const result = await sut.listServices();
      expect(h.runtime.calls).toEqual([]);
      expect(result.node).toBe('test-node');
      expect(result.services.map((s) => s.name).sort()).toEqual(['mc-proxy', 'web']);
      const proxy = result.services.find((s) => s.name === 'mc-proxy')!;
      expect(proxy.components[0]).toMatchObject({ name: 'mc-proxy', image: IMAGE, desiredState: 'running', observedState: 'running', version: '1.0', container: 'mc-proxy' });
      expect(proxy.components[0].routes[0]).toMatchObject({ port: 443, mode: 'l4', hostname: `mc-proxy.${h.config.agent.routeDomain}`, hostPort: expect.any(Number) });
      expect(proxy.spec).toMatchObject({ name: 'mc-proxy', active: true, components: [expect.objectContaining({ name: 'mc-proxy', image: IMAGE })] });
    });
  });

  describe('serviceStatus', () => {
    it('should flag drift from one live listing plus one inspect per container of the named service, and list events most recent first', async () => {
      h.runtime.setState('web-api', 'exited', 137);
      h.clock.advance(1000);
      await h.registry.addEvent({ service: 'web', component: 'api', kind: 'state_changed', message: 'running -> exited' });

      const result = await sut.serviceStatus({ service: 'web' });

      expect(h.runtime.callsTo('list')).toHaveLength(1);
      // Drift detail inspects the asked service's containers, no other.
      expect(h.runtime.callsTo('inspect').map((call) => call.args.name).sort()).toEqual(['web', 'web-api']);
      expect(h.runtime.calls).toHaveLength(3);
      const byName = Object.fromEntries(result.components.map((c) => [c.component, c]));
      expect(byName.api).toMatchObject({ desiredState: 'running', observedState: 'exited', drift: true, container: 'web-api' });
      expect(byName.web).toMatchObject({ observedState: 'running', drift: false, version: '1.0', driftFields: [] });
      expect(result.events[0]).toMatchObject({ kind: 'state_changed', component: 'api' });
      expect(result.events.every((e) => e.service === 'web')).toBe(true);
    });

    it('should show a vanished container as removed and drifting', async () => {
      await h.runtime.remove({ name: 'web' });
      const result = await sut.serviceStatus({ service: 'web' });
      expect(result.components.find((c) => c.component === 'web')).toMatchObject({ observedState: 'removed', drift: true });
    });

    it('should cover every service when none is named from the listing alone (no inspect), and honour the event limit', async () => {
      const result = await sut.serviceStatus({ eventLimit: 1 });
      expect(h.runtime.calls.map((c) => c.method)).toEqual(['list']);
      expect(new Set(result.components.map((c) => c.service))).toEqual(new Set(['mc-proxy', 'web']));
      expect(result.events).toHaveLength(1);
    });

    it('should name a container replaced by hand and list every field in which it differs from the deployed spec', async () => {
      await deploy('notes', [
        component('notes', { env: ['MODE=prod', 'LEVEL=1'], cmd: ['httpd', '-f'], volumes: ['/srv/notes:/data'], restart: 'always', memory: '64m', routes: [{ port: 443, mode: 'l4' }] }),
      ]);
      const hostPort = (await h.registry.getService('notes'))!.components[0].routes[0].hostPort!;
      // podman rm -f notes; podman run --name notes … (another image, env, command, no MCP labels)
      await h.runtime.remove({ name: 'notes' });
      h.runtime.seedContainer({
        name: 'notes',
        image: 'localhost/mcp-test/busybox:2.0',
        state: 'running',
        env: ['MODE=dev', 'PATH=/bin'],
        cmd: ['sh'],
        portSpecs: [`127.0.0.1:${hostPort}:${hostPort}/tcp`],
        volumes: [],
        network: 'host',
        user: '1000',
        labels: {},
      });
      h.runtime.clearCalls();

      const named = await sut.serviceStatus({ service: 'notes' });
      const all = await sut.serviceStatus({});

      expect(named.components[0]).toMatchObject({ component: 'notes', observedState: 'running', drift: true });
      expect(named.components[0].driftFields).toEqual([
        'replaced by hand: the container has no mcp.managed label (run by hand, not by MCP)',
        'image: localhost/mcp-test/busybox:1.0 → localhost/mcp-test/busybox:2.0',
        'cmd: [httpd -f] → [sh]',
        'env: ~MODE -LEVEL -PORT',
        'volumes: -/srv/notes:/data',
        'network: (default) → host',
        'restart: always → no',
        'memory: 64m → (none)',
      ]);
      // Without a service: what the listing shows (made by hand, image), no inspect.
      expect(all.components.find((c) => c.service === 'notes')!.driftFields).toEqual(named.components[0].driftFields.slice(0, 2));
      expect(h.runtime.callsTo('inspect').map((call) => call.args.name)).toEqual(['notes']);
    });

    it('should show no drift fields for the container MCP deployed, and the fields podman update changed', async () => {
      await deploy('notes', [component('notes', { env: ['MODE=prod'], cpus: 0.5, routes: [{ port: 443, mode: 'l4' }] })]);
      expect((await sut.serviceStatus({ service: 'notes' })).components[0]).toMatchObject({ drift: false, driftFields: [] });

      const made = (await h.runtime.inspect({ name: 'notes' }))!;
      await h.runtime.remove({ name: 'notes' });
      h.runtime.seedContainer({ ...made, cpus: 2 });
      expect((await sut.serviceStatus({ service: 'notes' })).components[0]).toMatchObject({ drift: true, driftFields: ['cpus: 0.5 → 2'] });
    });

    it('should not call an adopted container (never deployed by MCP, so unlabelled) replaced by hand', async () => {
      h.runtime.seedContainer({ name: 'legacy', image: IMAGE, state: 'running', env: ['A=1'], cmd: ['sh'] });
      const spec = component('legacy', { env: ['A=1'], cmd: ['sh'] });
      await h.registry.saveService({ name: 'legacy', active: true, components: [{ spec, desiredState: 'running' }] });
      await h.registry.recordObserved({ service: 'legacy', component: 'legacy', observedState: 'running', containerName: 'legacy', deployedSpecHash: componentSpecHash(spec) });

      expect((await sut.serviceStatus({ service: 'legacy' })).components[0]).toMatchObject({ drift: false, driftFields: [] });
    });

    it('should report each component\'s health as the agent last judged it', async () => {
      h.moduleRef.get(HealthStates).set({ service: 'web', component: 'api', status: 'unhealthy', detail: 'GET /up → 503' });
      const result = await sut.serviceStatus({ service: 'web' });
      expect(Object.fromEntries(result.components.map((c) => [c.component, c.health]))).toEqual({ api: 'unhealthy', web: 'healthy' });
      const live = await sut.liveCheck();
      expect(Object.fromEntries(live.containers.map((c) => [c.container, c.health]))).toMatchObject({ 'web-api': 'unhealthy', web: 'healthy' });
    });

    it('should name the release each component runs: the newest succeeded one with the deployed spec, not a later failed one', async () => {
      const before = await sut.serviceStatus({ service: 'web' });
      const numbers = Object.fromEntries(before.components.map((c) => [c.component, c.release]));
      expect(numbers).toEqual({ web: expect.any(Number), api: expect.any(Number) });
      await deploy('web', [component('web', { cmd: ['sleep', '1000'] }), component('api')]);
      const web = (await h.registry.listReleases({ service: 'web', component: 'web' }))[0];
      // A newer release of the same spec that failed does not run.
      await h.registry.addRelease({ ...web, deployedAt: undefined, number: web.number + 10, outcome: 'failed', rollbackOf: 0, message: 'x' });

      const after = await sut.serviceStatus({});

      const byName = Object.fromEntries(after.components.map((c) => [`${c.service}/${c.component}`, c.release]));
      expect(byName['web/web']).toBe(web.number);
      expect(web.number).toBeGreaterThan(numbers.web!);
      expect(byName['mc-proxy/mc-proxy']).toEqual(expect.any(Number));
    });

    it('should refuse an unknown service', async () => {
      await expect(sut.serviceStatus({ service: 'nope' })).rejects.toThrow(ServiceNotFoundError);
    });
  });

  describe('liveCheck', () => {
    it('should map containers to services with exactly one runtime listing; unmanaged ones show ignore', async () => {
      h.runtime.seedContainer({ name: 'legacy-db', image: 'localhost/postgres:16', state: 'running' });
      const result = await sut.liveCheck();
      expect(h.runtime.calls.map((c) => c.method)).toEqual(['list']);
      const byContainer = Object.fromEntries(result.containers.map((c) => [c.container, c]));
      expect(byContainer['mc-proxy']).toMatchObject({ service: 'mc-proxy', component: 'mc-proxy', desiredState: 'running', version: '1.0', state: 'running' });
      expect(byContainer['web-api']).toMatchObject({ service: 'web', component: 'api', desiredState: 'running' });
      expect(byContainer['legacy-db']).toMatchObject({ service: 'legacy', component: 'db', desiredState: 'ignore', version: '16', health: '-' });
    });
  });

  describe('nodeStatus', () => {
    it('should report version, uptime, container counts and host figures', async () => {
      h.runtime.setState('web', 'exited', 0);
      h.clock.advance(90_000);
      const result = await sut.nodeStatus();
      expect(result).toMatchObject({ node: 'test-node', version: AGENT_VERSION, uptimeSeconds: 90, containers: 3, runningContainers: 2, runtimeVersion: '4.3.1' });
      expect(result.cpus).toBeGreaterThan(0);
      expect(result.memoryTotalBytes).toBeGreaterThan(result.memoryFreeBytes);
      expect(result.diskTotalBytes).toBeGreaterThan(0);
      expect(h.runtime.callsTo('list')).toHaveLength(1);
    });
  });
});

describe('isDrift', () => {
  it.each([
    ['running', 'running', false],
    ['running', 'exited', true],
    ['running', 'removed', true],
    ['stopped', 'exited', false],
    ['stopped', 'running', true],
    ['ignore', 'exited', false],
    ['ignore', 'running', false],
  ])('should say desired %s vs observed %s drifts: %s', (desired, observed, drift) => {
    expect(isDrift(desired, observed)).toBe(drift);
  });
});
