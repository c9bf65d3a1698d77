import * as fs from 'node:fs';
import * as path from 'node:path';
import { Test } from '@nestjs/testing';
import { Failpoints, RegistryAuthError, RuntimeCommandError, RuntimeUnavailableError, type ComponentSpec, type ServiceSpec } from '@mcp/common';
import { AlertSender } from '@mcp/alerts';
import { HostPortProbe, NetworkProbe, ServiceChanges, deployerProviders } from '@mcp/deployer';
import { RouteRegistrar } from '@mcp/mcproxy';
import { AgentMetrics } from '@mcp/metrics';
import { ServiceRegistry } from '@mcp/registry';
import { ContainerRuntime } from '@mcp/runtime';
import { FakeNetworkProbe, FakeRegistrar, FakeRuntime, InMemoryRegistry, RecordingAlertSender, RecordingMetrics } from '../../../../test/fakes';
import { makeTestConfig } from '../../../../test/support';
import { AgentConfig } from '../config/agent-config';
import { DeployService } from './deploy.service';

const IMAGE = 'localhost/mcp-test/busybox:1.0';

class AlwaysFreeProbe extends HostPortProbe {
  async isFree(): Promise<boolean> {
    return true;
  }
}

function component(name: string, extra: Partial<ComponentSpec> = {}): ComponentSpec {
  return { name, image: IMAGE, ports: [], volumes: [], cmd: [], env: [], routes: [], ...extra };
}

function service(name: string, components: ComponentSpec[], active = true): ServiceSpec {
  return { name, node: 'test-node', active, components };
}

describe(DeployService.name, () => {
  let sut: DeployService;
  let registry: InMemoryRegistry;
  let runtime: FakeRuntime;
  let proxy: FakeRegistrar;
  let config: AgentConfig;
  let metrics: RecordingMetrics;
  let network: FakeNetworkProbe;
  let alerts: RecordingAlertSender;
  let changes: ServiceChanges;

  beforeEach(async () => {
    config = makeTestConfig();
    registry = new InMemoryRegistry();
    runtime = new FakeRuntime({ images: [IMAGE] });
    proxy = new FakeRegistrar();
    metrics = new RecordingMetrics();
    network = new FakeNetworkProbe();
    alerts = new RecordingAlertSender();
    const moduleRef = await Test.createTestingModule({
      providers: [
        ...deployerProviders({
          bindAddress: '127.0.0.1',
          routeBindAddress: '10.0.0.5',
          routeDomain: config.agent.routeDomain,
          portRangeStart: 20000,
          portRangeEnd: 20999,
          certDir: config.mcproxy.certDir,
          stopTimeoutSeconds: 1,
        }),
        DeployService,
        { provide: AgentConfig, useValue: config },
        { provide: ServiceRegistry, useValue: registry },
        { provide: ContainerRuntime, useValue: runtime },
        { provide: RouteRegistrar, useValue: proxy },
        { provide: AlertSender, useValue: alerts },
        { provide: Failpoints, useValue: new Failpoints() },
        { provide: AgentMetrics, useValue: metrics },
      ],
    })
      .overrideProvider(HostPortProbe)
      .useValue(new AlwaysFreeProbe())
      .overrideProvider(NetworkProbe)
      .useValue(network)
      .compile();
    sut = moduleRef.get(DeployService);
    changes = moduleRef.get(ServiceChanges);
  });

  afterEach(() => fs.rmSync(path.dirname(config.file), { recursive: true, force: true }));

  const web = () =>
    service('web', [
      component('web', { routes: [{ port: 443, mode: 'l4' }], env: ['A=1'] }),
      component('api', { routes: [{ name: 'http', port: 8443, mode: 'l4', hostname: 'api.example.net' }, { name: 'grpc-admin', port: 9443, mode: 'l4' }] }),
    ]);

  describe('deploy', () => {
    describe("podman's service gone in the middle (issue #12)", () => {
      const gone = () => new RuntimeUnavailableError('container runtime unavailable: podman API socket /run/podman.sock: connection refused (podman system service is not running)');

      it('should fail the whole deploy with RuntimeUnavailableError (UNAVAILABLE), after recording the failed release', async () => {
        runtime.failNext('run', gone());

        const attempt = sut.deploy({ spec: service('solo', [component('solo')]), force: false });

        await expect(attempt).rejects.toThrow(RuntimeUnavailableError);
        await expect(attempt).rejects.toThrow(
          'deploy of solo/solo failed: container runtime unavailable: podman API socket /run/podman.sock: connection refused (podman system service is not running) (release 1 recorded as failed); the agent restarts its podman service: deploy again in a moment',
        );
        expect((await registry.listReleases({ service: 'solo' })).map((r) => [r.number, r.outcome])).toEqual([[1, 'failed']]);
        // Nothing half-made is left: the next deploy (podman back) simply works.
        const again = await sut.deploy({ spec: service('solo', [component('solo')]), force: false });
        expect(again.results.map((r) => [r.ok, r.error])).toEqual([[true, '']]);
      });

      it('should keep an ordinary component failure (a podman error, not podman gone) as a failed result', async () => {
        runtime.failNext('run', new RuntimeCommandError('podman run solo: boom', { args: ['run'], exitCode: 125, stderr: 'boom' }));
        const result = await sut.deploy({ spec: service('solo', [component('solo')]), force: false });
        expect(result.results.map((r) => [r.ok, r.error])).toEqual([[false, 'podman run solo: boom']]);
      });

      it('should fail a sync that deploys with RuntimeUnavailableError too', async () => {
        runtime.failNext('run', gone());
        await expect(sut.sync({ specs: [service('fresh', [component('fresh')])], dryRun: false })).rejects.toThrow(/^sync of fresh\/fresh failed: container runtime unavailable: /);
      });
    });

    it('should count each component deploy by outcome in the metrics, and not an unchanged one left alone', async () => {
      await sut.deploy({ spec: web(), force: false });
      runtime.failNext('run', new RuntimeCommandError('podman run web-api: boom', { args: ['run'], exitCode: 125, stderr: 'boom' }));
      await sut.deploy({ spec: web(), component: 'api', force: true });
      await sut.deploy({ spec: web(), component: 'web', force: false });

      expect(metrics.deploys.map((d) => [d.service, d.component, d.outcome])).toEqual([
        ['web', 'web', 'succeeded'],
        ['web', 'api', 'succeeded'],
        ['web', 'api', 'failed'],
      ]);
      expect(metrics.deploys.every((d) => d.seconds >= 0)).toBe(true);
    });

    it('should run each component with route ports, route env and labels, and register the routes', async () => {
      const result = await sut.deploy({ spec: web(), force: false });

      expect(result.results.map((r) => [r.component, r.ok, r.container])).toEqual([
        ['web', true, 'web'],
        ['api', true, 'web-api'],
      ]);
      const runs = runtime.callsTo('run').map((c) => c.args as { name: string; env: string[]; ports: string[]; labels: Record<string, string> });
      const webRun = runs.find((r) => r.name === 'web')!;
      const webPort = Number(webRun.env.find((e) => e.startsWith('PORT='))!.split('=')[1]);
      expect(webRun.env).toEqual(['A=1', `PORT=${webPort}`]);
      expect(webRun.ports).toEqual([`127.0.0.1:${webPort}:${webPort}`]);
      expect(webRun.labels).toMatchObject({ 'mcp.managed': 'true', 'mcp.service': 'web', 'mcp.component': 'web' });
      const apiRun = runs.find((r) => r.name === 'web-api')!;
      expect(apiRun.env.map((e) => e.split('=')[0])).toEqual(['PORT_HTTP', 'PORT_GRPC_ADMIN']);

      expect(proxy.routes()).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ listener: ':443', hostname: `web.${config.agent.routeDomain}`, backend: `10.0.0.5:${webPort}`, mode: 'l4' }),
          expect.objectContaining({ listener: ':8443', hostname: 'api.example.net' }),
          expect.objectContaining({ listener: ':9443', hostname: `web.${config.agent.routeDomain}` }),
        ]),
      );
      const stored = await registry.getService('web');
      expect(stored!.components.find((c) => c.name === 'web')).toMatchObject({
        desiredState: 'running',
        observedState: 'running',
        version: '1.0',
        containerName: 'web',
        routes: [expect.objectContaining({ hostPort: webPort })],
      });
      expect((await registry.listEvents({ service: 'web' })).map((e) => e.kind)).toEqual(['deployed', 'deployed']);
    });

    it('should leave an unchanged, running component alone unless forced', async () => {
      await sut.deploy({ spec: web(), force: false });
      const firstId = runtime.container('web')!.id;
      runtime.clearCalls();

      await sut.deploy({ spec: web(), force: false });
      expect(runtime.callsTo('run')).toEqual([]);
      expect(runtime.callsTo('remove')).toEqual([]);
      expect(runtime.container('web')!.id).toBe(firstId);

      await sut.deploy({ spec: web(), force: true });
      expect(runtime.callsTo('run')).toHaveLength(2);
      expect(runtime.container('web')!.id).not.toBe(firstId);
    });

    it('should keep host ports across a stop-first redeploy with a changed spec', async () => {
      const stopFirst = () => {
        const spec = web();
        for (const c of spec.components) c.strategy = 'stop-first';
        return spec;
      };
      await sut.deploy({ spec: stopFirst(), force: false });
      const before = (await registry.getService('web'))!.components.flatMap((c) => c.routes.map((r) => r.hostPort));
      const changed = stopFirst();
      changed.components[0].env = ['A=2'];
      await sut.deploy({ spec: changed, force: false });
      const after = (await registry.getService('web'))!.components.flatMap((c) => c.routes.map((r) => r.hostPort));
      expect(after).toEqual(before);
    });

    it('should deploy only the named component', async () => {
      const result = await sut.deploy({ spec: web(), component: 'api', force: false });
      expect(result.results.map((r) => r.component)).toEqual(['api']);
      expect(runtime.containerNames()).toEqual(['web-api']);
    });

    it('should pull only when the image is not present', async () => {
      await sut.deploy({ spec: service('solo', [component('solo')]), force: false });
      expect(runtime.callsTo('pull')).toEqual([]);
      await sut.deploy({ spec: service('other', [component('other', { image: 'localhost/mcp-test/busybox:2.0' })]), force: false });
      expect(runtime.callsTo('pull').map((c) => c.args.image)).toEqual(['localhost/mcp-test/busybox:2.0']);
    });

    it('should honour pull: never refuses a missing image without pulling, always pulls a present one (SPEC §13)', async () => {
      const never = await sut.deploy({ spec: service('pushed', [component('pushed', { image: 'localhost/i22/not-here:1', pull: 'never' })]), force: false });
      expect(never.results).toEqual([expect.objectContaining({ ok: false, error: expect.stringContaining('image localhost/i22/not-here:1 is not on this node and pull = "never": push it first') })]);
      expect(runtime.callsTo('pull')).toEqual([]);
      await sut.deploy({ spec: service('fresh', [component('fresh', { pull: 'always' })]), force: false });
      expect(runtime.callsTo('pull').map((c) => c.args.image)).toEqual(['localhost/mcp-test/busybox:1.0']);
    });

    it('should report a failed component without hiding the others', async () => {
      runtime.failNext('pull', new RegistryAuthError('pull from mcr.example.net: unauthorized', { args: [], exitCode: 125, stderr: '' }));
      const spec = service('mixed', [component('bad', { image: 'mcr.example.net/app:1' }), component('good')]);
      const result = await sut.deploy({ spec, force: false });
      expect(result.results).toEqual([
        expect.objectContaining({ component: 'bad', ok: false, error: expect.stringContaining('mcr.example.net') }),
        expect.objectContaining({ component: 'good', ok: true, error: '' }),
      ]);
      const events = await registry.listEvents({ service: 'mixed', component: 'bad' });
      expect(events[0]).toMatchObject({ kind: 'error', message: expect.stringContaining('unauthorized') });
    });

    it('should release ports and routes when podman fails halfway', async () => {
      runtime.failNext('run', new RuntimeCommandError('podman run failed', { args: ['run'], exitCode: 126, stderr: 'oci runtime error' }));
      const result = await sut.deploy({ spec: service('web', [component('web', { routes: [{ port: 443, mode: 'l4' }] })]), force: false });
      expect(result.results[0]).toMatchObject({ ok: false, error: 'podman run failed' });
      expect(proxy.routes()).toEqual([]);
      expect(await registry.allocatedHostPorts()).toEqual([]);
      expect(runtime.containerNames()).toEqual([]);
      expect((await registry.listEvents({ service: 'web' }))[0].kind).toBe('deploy_failed');
    });

    it('should fail an l7 route whose certificate is missing, naming the file, before touching the container', async () => {
      const spec = service('secure', [component('secure', { routes: [{ port: 443, mode: 'l7' }] })]);
      const result = await sut.deploy({ spec, force: false });
      expect(result.results[0].ok).toBe(false);
      expect(result.results[0].error).toContain(path.join(config.mcproxy.certDir, 'secure.pem'));
      expect(runtime.callsTo('run')).toEqual([]);
    });

    it('should register l7 routes with the cert paths when the certificate exists', async () => {
      fs.mkdirSync(config.mcproxy.certDir, { recursive: true });
      fs.writeFileSync(path.join(config.mcproxy.certDir, 'secure.pem'), 'cert');
      fs.writeFileSync(path.join(config.mcproxy.certDir, 'secure.key'), 'key');
      await sut.deploy({ spec: service('secure', [component('secure', { routes: [{ port: 443, mode: 'l7' }] })]), force: false });
      expect(proxy.routes()).toEqual([
        expect.objectContaining({ mode: 'l7', tlsCert: path.join(config.mcproxy.certDir, 'secure.pem'), tlsKey: path.join(config.mcproxy.certDir, 'secure.key') }),
      ]);
    });

    it('should create but not start or route the containers of an inactive service', async () => {
      await sut.deploy({ spec: service('idle', [component('idle', { routes: [{ port: 443, mode: 'l4' }] })], false), force: false });
      expect(runtime.container('idle')!.state).not.toBe('running');
      expect(proxy.routes()).toEqual([]);
      expect((await registry.getService('idle'))!.components[0].desiredState).toBe('stopped');
    });

    it('should serialise deploys of one service', async () => {
      await Promise.all([sut.deploy({ spec: web(), force: true }), sut.deploy({ spec: web(), force: true }), sut.deploy({ spec: web(), force: true })]);
      // Interleaving would make a run collide with a container of the same name.
      expect(runtime.containerNames().sort()).toEqual(['web', 'web-api']);
      const events = await registry.listEvents({ service: 'web' });
      expect(events.filter((e) => e.kind === 'error')).toEqual([]);
    });
  });

  describe('sync', () => {
    it('should plan without changing anything on a dry run', async () => {
      const { actions } = await sut.sync({ specs: [web()], dryRun: true });
      expect(actions.map((a) => [a.component, a.action])).toEqual([
        ['web', 'deploy'],
        ['api', 'deploy'],
      ]);
      expect(await registry.listServices()).toEqual([]);
      expect(runtime.callsTo('run')).toEqual([]);
    });

    it('should deploy never-run components, stop to match active, and report services not in definitions', async () => {
      await sut.deploy({ spec: service('legacy', [component('legacy')]), force: false });
      await sut.deploy({ spec: web(), force: false });
      const inactive = web();
      inactive.active = false;

      const { actions } = await sut.sync({ specs: [inactive, service('fresh', [component('fresh')])], dryRun: false });

      expect(actions.map((a) => [a.service, a.component, a.action, a.ok])).toEqual([
        ['web', 'web', 'stop', true],
        ['web', 'api', 'stop', true],
        ['fresh', 'fresh', 'deploy', true],
        ['legacy', '', 'not_in_definitions', true],
      ]);
      expect(runtime.container('web')!.state).toBe('exited');
      expect(runtime.container('fresh')!.state).toBe('running');
      expect((await registry.getService('web'))!.components.every((c) => c.desiredState === 'stopped')).toBe(true);
    });

    it('should name the jobs a sync adds, removes or changes (SPEC §12), on a dry run without saving them', async () => {
      const report = { name: 'report', component: 'web', cmd: ['bin/report'], schedule: '0 3 * * *' };
      const first = web();
      first.jobs = [report, { name: 'tidy', component: 'web', cmd: ['bin/tidy'], schedule: '@daily' }];
      expect((await sut.sync({ specs: [first], dryRun: false })).jobChanges).toEqual([
        { service: 'web', changes: ['job report: added (0 3 * * *, component web ["bin/report"])', 'job tidy: added (@daily, component web ["bin/tidy"])'] },
      ]);
      const second = web();
      second.jobs = [{ ...report, schedule: '0 4 * * *' }, { name: 'mail', image: IMAGE, cmd: ['send'], schedule: '@hourly' }];
      const dry = await sut.sync({ specs: [second, service('fresh', [component('fresh')])], dryRun: true });
      expect(dry.jobChanges).toEqual([
        { service: 'web', changes: ['job report: schedule "0 3 * * *" → "0 4 * * *"', `job mail: added (@hourly, image ${IMAGE} ["send"])`, 'job tidy: removed (unscheduled)'] },
      ]);
      // The dry run saved nothing: the stored jobs are the first sync's.
      expect((await registry.getService('web'))!.jobs?.map((job) => [job.name, job.schedule])).toEqual([
        ['report', '0 3 * * *'],
        ['tidy', '@daily'],
      ]);
      expect((await sut.sync({ specs: [first], dryRun: true })).jobChanges).toEqual([]);
    });

    it('should answer a sync once the schedules followed it (ServiceChanges\' listeners done), so `mcp jobs` after `mcp sync` shows the new jobs', async () => {
      const order: string[] = [];
      // A listener that finishes later than the sync's own work (as the jobs' refresh reads the registry).
      changes.onChange((name) => new Promise<void>((resolve) => setTimeout(() => resolve(void order.push(`schedules of ${name} followed`)), 20)));
      const spec = web();
      spec.jobs = [{ name: 'report', component: 'web', cmd: ['bin/report'], schedule: '0 3 * * *' }];
      await sut.sync({ specs: [spec], dryRun: false });
      order.push('sync answered');
      expect(order).toEqual(['schedules of web followed', 'sync answered']);
      // A dry run tells no one.
      await sut.sync({ specs: [spec], dryRun: true });
      expect(order).toHaveLength(2);
    });

    it('should start a stopped component of an active service and leave a running one unchanged', async () => {
      await sut.deploy({ spec: web(), force: false });
      await runtime.stop({ name: 'web' });
      const { actions } = await sut.sync({ specs: [web()], dryRun: false });
      expect(actions.map((a) => [a.component, a.action])).toEqual([
        ['web', 'start'],
        ['api', 'unchanged'],
      ]);
      expect(runtime.container('web')!.state).toBe('running');
    });
  });

  describe('SPEC §9: limits, secrets and depends_on', () => {
    it('should run each component with its memory, cpus and secrets (files and variables)', async () => {
      await runtime.createSecret({ name: 'mcp.shop.db-password', value: Buffer.from('unit-secret') });

      const result = await sut.deploy({
        spec: service('shop', [component('db', { memory: '512m', cpus: 1.5, secrets: ['db-password'], env_secrets: { PGPASSWORD: 'db-password' } })]),
        force: false,
      });

      expect(result.results[0]).toMatchObject({ ok: true });
      expect(runtime.callsTo('run')[0].args).toMatchObject({
        memory: '512m',
        cpus: 1.5,
        secrets: [
          { source: 'mcp.shop.db-password', type: 'file', target: 'db-password' },
          { source: 'mcp.shop.db-password', type: 'env', target: 'PGPASSWORD' },
        ],
      });
      expect(JSON.stringify(runtime.callsTo('run'))).not.toContain('unit-secret');
    });

    it('should fail a component whose secret is not set, saying how to set it, and run nothing', async () => {
      const result = await sut.deploy({ spec: service('shop', [component('db', { secrets: ['db-password'] })]), force: false });

      expect(result.results[0]).toMatchObject({ ok: false, error: 'secret "db-password" of service "shop" not set: run mcp secret set shop db-password < FILE' });
      expect(runtime.callsTo('run')).toHaveLength(0);
    });

    it('should recreate only the components using a secret after it changes', async () => {
      await runtime.createSecret({ name: 'mcp.shop.token', value: Buffer.from('one') });
      const spec = service('shop', [component('api', { env_secrets: { TOKEN: 'token' } }), component('cache')]);
      await sut.deploy({ spec, force: false });
      runtime.clearCalls();

      const unchanged = await sut.deploy({ spec, force: false });
      await runtime.createSecret({ name: 'mcp.shop.token', value: Buffer.from('two') });
      const changed = await sut.deploy({ spec, force: false });

      expect(unchanged.results.map((r) => r.changed)).toEqual([false, false]);
      expect(changed.results.map((r) => [r.component, r.changed])).toEqual([['api', true], ['cache', false]]);
      expect(runtime.callsTo('run').map((call) => call.args.name)).toEqual(['shop-api']);
    });

    it('should plan a recreate that names the secret set again since the container was made', async () => {
      await runtime.createSecret({ name: 'mcp.shop.token', value: Buffer.from('one') });
      const spec = service('shop', [component('api', { env_secrets: { TOKEN: 'token' } }), component('cache')]);
      await sut.deploy({ spec, force: false });
      const before = await sut.plan({ spec, force: false });
      await new Promise((resolve) => setTimeout(resolve, 5)); // a later creation time than the container's
      await runtime.createSecret({ name: 'mcp.shop.token', value: Buffer.from('two') });

      const after = await sut.plan({ spec, force: false });

      expect(before.components.map((c) => [c.component, c.action])).toEqual([['api', 'unchanged'], ['cache', 'unchanged']]);
      expect(after.components.map((c) => [c.component, c.action, c.changes])).toEqual([
        ['api', 'recreate', ['secret token: set again since the container was made']],
        ['cache', 'unchanged', []],
      ]);
      expect(JSON.stringify(after)).not.toMatch(/"one"|"two"/);
    });

    it('should start dependencies first, independent components together, and report in definition order', async () => {
      const spec = service('shop', [
        component('web', { depends_on: ['db', 'cache'] }),
        component('worker', { depends_on: ['db'] }),
        component('db'),
        component('cache'),
      ]);

      const result = await sut.deploy({ spec, force: false });

      const runs = runtime.callsTo('run').map((call) => String(call.args.name));
      expect(result.results.map((r) => [r.component, r.ok])).toEqual([['web', true], ['worker', true], ['db', true], ['cache', true]]);
      expect(runs.indexOf('shop-db')).toBeLessThan(runs.indexOf('shop-web'));
      expect(runs.indexOf('shop-cache')).toBeLessThan(runs.indexOf('shop-web'));
      expect(runs.indexOf('shop-db')).toBeLessThan(runs.indexOf('shop-worker'));
      expect(runs.slice(0, 2).sort()).toEqual(['shop-cache', 'shop-db']);
    });

    it('should not deploy a component whose dependency failed, and say which', async () => {
      runtime.failNext('run', new RuntimeCommandError('podman run shop-db: boom', { args: ['run'], exitCode: 125, stderr: 'Error: boom' }));
      const spec = service('shop', [component('db'), component('web', { depends_on: ['db'] }), component('cache')]);

      const result = await sut.deploy({ spec, force: false });

      expect(result.results.map((r) => [r.component, r.ok, r.error])).toEqual([
        ['db', false, 'podman run shop-db: boom'],
        ['web', false, 'not deployed: dependency db did not come up'],
        ['cache', true, ''],
      ]);
      expect(runtime.callsTo('run').map((call) => call.args.name)).not.toContain('shop-web');
    });

    it('should treat a dependency that exits right after start as not up', async () => {
      const spec = service('shop', [component('db'), component('web', { depends_on: ['db'] })]);
      const run = runtime.run.bind(runtime);
      jest.spyOn(runtime, 'run').mockImplementation(async (options) => {
        const id = await run(options);
        if (options.name === 'shop-db') runtime.setState('shop-db', 'exited', 1);
        return id;
      });

      const result = await sut.deploy({ spec, force: false });

      expect(result.results.map((r) => [r.component, r.ok, r.error])).toEqual([
        // The health gate (SPEC §8) sees the exit before the dependency check does.
        ['db', false, expect.stringMatching(/^health check \(implicit\): container exited \(exit code 1\) after [\d.]+s$/)],
        ['web', false, 'not deployed: dependency db did not come up'],
      ]);
    });
  });
});
