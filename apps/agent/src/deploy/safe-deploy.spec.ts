import { RouteRegistrationError, type ComponentSpec, type ServiceSpec } from '@mcp/common';
import { DeployRecovery, HealthStates, temporaryName } from '@mcp/deployer';
import { featureHarness, type FeatureHarness } from '../../../../test/support/unit-module';
import { DeployService } from './deploy.service';

/** SPEC §8 with fakes: health gate, start-first and stop-first, automatic rollback, releases, rollback, plan, recovery. */
const V1 = 'localhost/mcp-test/busybox:1.0';
const V2 = 'localhost/mcp-test/busybox:2.0';

function web(extra: Partial<ComponentSpec> = {}): ServiceSpec {
  return {
    name: 'web',
    node: 'test',
    active: true,
    components: [
      {
        name: 'web',
        image: V1,
        ports: [],
        volumes: [],
        cmd: [],
        env: [],
        routes: [{ port: 443, mode: 'l4' }],
        drain: '0s',
        health: { cmd: ['/bin/check'], interval: '10ms', start_period: '200ms' },
        ...extra,
      },
    ],
  };
}

describe('DeployService (SPEC §8 safe deploys)', () => {
  let h: FeatureHarness;
  let sut: DeployService;

  beforeEach(async () => {
    h = await featureHarness({ providers: [DeployService], images: [V1, V2] });
    sut = h.moduleRef.get(DeployService);
  });

  const hostPorts = async () => (await h.registry.getService('web'))!.components[0].routes.map((r) => r.hostPort);
  const releases = async () => (await sut.listReleases({ service: 'web' })).map((r) => `${r.number} ${r.component} ${r.image.split(':').pop()} ${r.outcome}${r.rollbackOf ? ` rollback-of-${r.rollbackOf}` : ''}`);

  describe('start-first', () => {
    it('should switch the route to a new container on new ports, remove the old one, and record release 2', async () => {
      await sut.deploy({ spec: web(), force: false, caller: 'alice' });
      const oldId = h.runtime.container('web')!.id;
      const oldPorts = await hostPorts();

      const result = await sut.deploy({ spec: web({ image: V2 }), force: false, caller: 'bob' });

      expect(result.results[0]).toMatchObject({ ok: true, release: 2, strategy: 'start-first', container: 'web' });
      const now = h.runtime.container('web')!;
      expect(now.id).not.toBe(oldId);
      expect(now.image).toBe(V2);
      expect(h.runtime.containerNames()).toEqual(['web']);
      const newPorts = await hostPorts();
      expect(newPorts[0]).not.toBe(oldPorts[0]);
      expect(h.proxy.routes()).toEqual([expect.objectContaining({ listener: ':443', backend: `127.0.0.1:${newPorts[0]}` })]);
      expect(h.runtime.callsTo('run').map((c) => c.args.name)).toEqual(['web', 'web_next']);
      expect(await releases()).toEqual(['2 web 2.0 succeeded', '1 web 1.0 succeeded']);
      expect((await sut.listReleases({ service: 'web' }))[0]).toMatchObject({ deployedBy: 'bob', digest: expect.stringMatching(/^sha256:/) });
    });

    it('should leave a failing new version beside the old one untouched: old serves, routes unchanged, release failed, logs and alert', async () => {
      await sut.deploy({ spec: web(), force: false });
      const old = h.runtime.container('web')!;
      const routesBefore = h.proxy.routes();
      h.runtime.onExec(temporaryName('web'), () => ({ exitCode: 1, output: 'not ready' }));
      h.runtime.clearCalls();

      const result = await sut.deploy({ spec: web({ image: V2 }), force: false });

      expect(result.results[0]).toMatchObject({ ok: false, release: 2, outcome: 'failed' });
      expect(result.results[0].error).toMatch(/^health check cmd \/bin\/check: \/bin\/check → exit 1 \(not ready\) after [\d.]+s; the old container kept serving$/);
      expect(h.runtime.container('web')).toMatchObject({ id: old.id, image: V1, state: 'running' });
      expect(h.runtime.containerNames()).toEqual(['web']);
      expect(h.proxy.routes()).toEqual(routesBefore);
      expect(h.runtime.callsTo('stop').concat(h.runtime.callsTo('remove')).map((c) => c.args.name)).not.toContain('web');
      expect(await releases()).toEqual(['2 web 2.0 failed', '1 web 1.0 succeeded']);
      expect(h.alerts.sent).toEqual([expect.objectContaining({ kind: 'deploy_failed', service: 'web', component: 'web' })]);
      expect((await h.registry.listEvents({ service: 'web' }))[0]).toMatchObject({ kind: 'deploy_failed' });
    });

    it('should fail before anything is stopped when mc-proxy is down, and say so', async () => {
      await sut.deploy({ spec: web(), force: false });
      const old = h.runtime.container('web')!;
      h.proxy.failNext('status', new RouteRegistrationError('mc-proxy at /srv/mc-proxy.sock: connect ENOENT'));
      h.runtime.clearCalls();

      const result = await sut.deploy({ spec: web({ image: V2 }), force: false });

      expect(result.results[0]).toMatchObject({ ok: false, release: 0 });
      expect(result.results[0].error).toBe('mc-proxy is down, so a start-first deploy cannot switch routes; nothing was changed: mc-proxy at /srv/mc-proxy.sock: connect ENOENT');
      expect(h.runtime.callsTo('run')).toEqual([]);
      expect(h.runtime.callsTo('pull')).toEqual([]);
      expect(h.runtime.container('web')!.id).toBe(old.id);
      expect(await releases()).toEqual(['1 web 1.0 succeeded']);
    });

    it('should record no release for an unchanged spec', async () => {
      await sut.deploy({ spec: web(), force: false });
      const result = await sut.deploy({ spec: web(), force: false });

      expect(result.results[0]).toMatchObject({ ok: true, changed: false, release: 0 });
      expect(await releases()).toEqual(['1 web 1.0 succeeded']);
    });
  });

  describe('the health wait, seen as it goes, and a refused port explained (#20 item 2)', () => {
    const PROC_NET_TCP = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0',
    ].join('\n');

    /** Every tcp probe is refused; each records the port and the component's health detail at that moment. */
    function refuseAll(): { seen: string[]; ports: number[] } {
      const seen: string[] = [];
      const ports: number[] = [];
      jest.spyOn(h.network, 'tcp').mockImplementation(async (input) => {
        ports.push(input.port);
        seen.push(h.moduleRef.get(HealthStates).get({ service: 'web', component: 'web' })?.detail ?? '');
        return { ok: false, detail: `${input.host}:${input.port}: ECONNREFUSED` };
      });
      h.runtime.onExec('web', (cmd) => (cmd[0] === 'cat' ? { exitCode: 0, output: PROC_NET_TCP } : { exitCode: 0, output: '' }));
      return { seen, ports };
    }

    it('should keep "waiting for health (tcp host:port) Ns/start_period" as the detail while it waits, and name the port the container listens on', async () => {
      const { seen, ports } = refuseAll();
      const result = await sut.deploy({ spec: web({ health: { tcp: true, interval: '10ms', start_period: '300ms' } }), force: false });
      const port = ports[0];
      expect(result.results[0].ok).toBe(false);
      expect(result.results[0].error).toContain(`health check tcp connect: 127.0.0.1:${port}: ECONNREFUSED after `);
      expect(result.results[0].error).toContain(`; nothing listens on $PORT=${port}; the container listens on 8080 — does the program read $PORT?`);
      expect(seen.length).toBeGreaterThan(2);
      expect(seen.slice(1)).toContain(`waiting for health (tcp 127.0.0.1:${port}) 0s/0.3s`);
    });

    it('should name a named route\'s variable, and say nothing of ports for a fixed health port', async () => {
      refuseAll();
      const named = await sut.deploy({ spec: web({ routes: [{ name: 'http', port: 443, mode: 'l4' }], health: { tcp: true, interval: '10ms', start_period: '100ms' } }), force: false });
      expect(named.results[0].error).toContain('the container listens on 8080 — does the program read $PORT_HTTP?');
      const fixed = await sut.deploy({ spec: web({ ports: ['127.0.0.1:18080:8080'], health: { tcp: true, port: 18080, interval: '10ms', start_period: '100ms' } }), force: false });
      expect(fixed.results[0].error).toContain('127.0.0.1:18080: ECONNREFUSED');
      expect(fixed.results[0].error).not.toContain('nothing listens');
    });

    it('should give the hint after an http check is reset too, and none when the container does listen on the port', async () => {
      const { ports } = refuseAll();
      const http = jest.spyOn(h.network, 'http').mockImplementation(async (input) => {
        ports.push(input.port);
        return { ok: false, detail: `GET ${input.path}: ECONNRESET` };
      });
      const reset = await sut.deploy({ spec: web({ health: { http: '/up', interval: '10ms', start_period: '100ms' } }), force: false });
      expect(reset.results[0].error).toContain(`GET /up: ECONNRESET after `);
      expect(reset.results[0].error).toContain(`; nothing listens on $PORT=${ports[0]}; the container listens on 8080`);
      let probed = 0;
      http.mockImplementation(async (input) => {
        probed = input.port;
        return { ok: false, detail: `GET ${input.path}: ECONNRESET` };
      });
      const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
      h.runtime.onExec('web', () => ({ exitCode: 0, output: `  sl  local_address rem_address   st\n   0: 00000000:${hex(probed)} 00000000:0000 0A 0\n` }));
      const listens = await sut.deploy({ spec: web({ health: { http: '/up', interval: '10ms', start_period: '100ms' } }), force: true });
      expect(listens.results[0].error).toContain('GET /up: ECONNRESET after ');
      expect(listens.results[0].error).not.toContain('nothing listens');
    });
  });

  describe('stop-first', () => {
    it('should re-create the previous release on its ports when the new one is unhealthy, and say so', async () => {
      await sut.deploy({ spec: web({ strategy: 'stop-first' }), force: false });
      const ports = await hostPorts();
      let calls = 0;
      // The new container (release 2) fails its check; the re-created release 1 passes.
      h.runtime.onExec('web', () => ({ exitCode: h.runtime.container('web')!.image === V2 ? 1 : 0, output: String(++calls) }));

      const result = await sut.deploy({ spec: web({ strategy: 'stop-first', image: V2 }), force: false });

      expect(result.results[0]).toMatchObject({ ok: false, outcome: 'rolled_back', release: 2 });
      expect(result.results[0].error).toMatch(/^rolled back to release 1: health check cmd \/bin\/check: \/bin\/check → exit 1/);
      expect(h.runtime.container('web')).toMatchObject({ image: V1, state: 'running' });
      expect(await hostPorts()).toEqual(ports);
      expect(h.proxy.routes()).toEqual([expect.objectContaining({ backend: `127.0.0.1:${ports[0]}` })]);
      expect(await releases()).toEqual(['2 web 2.0 rolled_back', '1 web 1.0 succeeded']);
      expect(h.moduleRef.get(HealthStates).status({ service: 'web', component: 'web' })).toBe('healthy');
    });
  });

  describe('rollback', () => {
    it('should deploy the previous succeeded release as a release of its own', async () => {
      await sut.deploy({ spec: web(), force: false });
      await sut.deploy({ spec: web({ image: V2 }), force: false });

      const result = await sut.rollback({ service: 'web', caller: 'carol' });

      expect(result).toMatchObject({ to: 1, results: [expect.objectContaining({ ok: true, release: 3 })] });
      expect(h.runtime.container('web')!.image).toBe(V1);
      expect(await releases()).toEqual(['3 web 1.0 succeeded rollback-of-1', '2 web 2.0 succeeded', '1 web 1.0 succeeded']);
      expect((await h.registry.getService('web'))!.components[0].spec.image).toBe(V1);
    });

    it('should run the digest when the tag was re-pointed since', async () => {
      await sut.deploy({ spec: web(), force: false });
      const digest = (await sut.listReleases({ service: 'web' }))[0].digest;
      await sut.deploy({ spec: web({ image: V2 }), force: false });
      h.runtime.setDigest(V1, 'sha256:feedface');

      await sut.rollback({ service: 'web', to: 1 });

      expect(h.runtime.container('web')!.image).toBe(`localhost/mcp-test/busybox@${digest}`);
    });

    it('should refuse an unknown release and a service with nothing to go back to', async () => {
      await sut.deploy({ spec: web(), force: false });
      await expect(sut.rollback({ service: 'web', to: 7 })).rejects.toThrow('release 7 of web not found: see mcp releases web');
      await expect(sut.rollback({ service: 'web' })).rejects.toThrow('no earlier succeeded release of web to roll back to: see mcp releases web');
      await expect(sut.rollback({ service: 'nope' })).rejects.toThrow('nope');
    });
  });

  describe('plan', () => {
    it('should name a memory change, not --force (SPEC §9 fields were once left out of the diff)', async () => {
      await sut.deploy({ spec: web({ memory: '256m' }), force: false });

      const plan = await sut.plan({ spec: web({ memory: '512m' }), force: false });

      expect(plan.components).toEqual([{ component: 'web', action: 'recreate', changes: ['memory: 256m → 512m'], strategy: 'start-first' }]);
    });

    it('should list each changed field and change nothing', async () => {
      await sut.deploy({ spec: web({ env: ['BAR=1', 'BAZ=1'] }), force: false });
      const id = h.runtime.container('web')!.id;
      h.runtime.clearCalls();

      const plan = await sut.plan({ spec: web({ image: V2, env: ['FOO=1', 'BAR=2'] }), force: false });

      expect(plan.components).toEqual([{ component: 'web', action: 'recreate', changes: ['image: 1.0 → 2.0', 'env: +FOO ~BAR -BAZ'], strategy: 'start-first' }]);
      expect(h.runtime.calls.map((c) => c.method)).toEqual(['list']);
      expect(h.runtime.container('web')!.id).toBe(id);
      expect(await releases()).toEqual(['1 web 1.0 succeeded']);
      expect((await sut.plan({ spec: web({ env: ['BAR=1', 'BAZ=1'] }), force: false })).components[0].action).toBe('unchanged');
      expect((await sut.plan({ spec: { ...web(), name: 'fresh' }, force: false })).components[0].action).toBe('create');
    });
  });

  describe('recovery after a crash mid start-first', () => {
    async function crashAfter(step: 'started' | 'switched'): Promise<void> {
      await sut.deploy({ spec: web(), force: false });
      const record = (await h.registry.getService('web'))!.components[0];
      h.runtime.seedContainer({ name: temporaryName('web'), image: V2 });
      if (step === 'switched') {
        await h.registry.recordDeployment({ service: 'web', component: 'web', observedState: 'running', containerName: temporaryName('web'), routes: record.routes.map((r) => ({ ...r, hostPort: 45678 })) });
      }
    }

    it('should remove the new container and keep the old one serving when the switch was not recorded', async () => {
      await crashAfter('started');
      const old = h.runtime.container('web')!;

      await h.moduleRef.get(DeployRecovery).recoverAll();

      expect(h.runtime.containerNames()).toEqual(['web']);
      expect(h.runtime.container('web')!.id).toBe(old.id);
      expect((await h.registry.getService('web'))!.components[0].containerName).toBe('web');
    });

    it('should finish the switch when it was recorded: new container serves under the canonical name', async () => {
      await crashAfter('switched');
      const fresh = h.runtime.container(temporaryName('web'))!;

      await h.moduleRef.get(DeployRecovery).recoverAll();

      expect(h.runtime.containerNames()).toEqual(['web']);
      expect(h.runtime.container('web')!.id).toBe(fresh.id);
      expect((await h.registry.getService('web'))!.components[0].containerName).toBe('web');
      expect(h.proxy.routes()).toEqual([expect.objectContaining({ backend: '127.0.0.1:45678' })]);
    });
  });
});
