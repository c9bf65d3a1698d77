import * as fs from 'node:fs';
import * as path from 'node:path';
import { ServiceNotFoundError, type ComponentSpec, type ServiceSpec } from '@mcp/common';
import { ComponentDeployer } from '@mcp/deployer';
import { featureHarness, type FeatureHarness } from '../../../../test/support';
import { LifecycleService } from './lifecycle.service';

const IMAGE = 'localhost/mcp-test/busybox:1.0';
const component = (name: string, extra: Partial<ComponentSpec> = {}): ComponentSpec => ({ name, image: IMAGE, ports: [], volumes: [], cmd: [], env: [], routes: [], ...extra });
const WEB: ServiceSpec = {
  name: 'web',
  node: 'test-node',
  active: true,
  components: [component('web', { routes: [{ port: 443, mode: 'l4' }] }), component('api', { routes: [{ name: 'http', port: 8443, mode: 'l4' }] })],
};

describe(LifecycleService.name, () => {
  let h: FeatureHarness;
  let sut: LifecycleService;

  async function deploy(spec: ServiceSpec = WEB): Promise<void> {
    const deployer = h.moduleRef.get(ComponentDeployer);
    await h.registry.saveService({ name: spec.name, active: spec.active, components: spec.components.map((c) => ({ spec: c, desiredState: 'running' })) });
    for (const c of spec.components) {
      const outcome = await deployer.deploy({ service: spec.name, spec: c, desired: 'running', force: false });
      if (!outcome.ok) throw new Error(outcome.error);
    }
    h.runtime.clearCalls();
  }

  beforeEach(async () => {
    h = await featureHarness({ providers: [LifecycleService] });
    sut = h.moduleRef.get(LifecycleService);
  });

  afterEach(() => fs.rmSync(path.dirname(h.config.file), { recursive: true, force: true }));

  describe('stop', () => {
    it('should set desired stopped, remove routes and stop every container', async () => {
      await deploy();
      const result = await sut.stop({ service: 'web' });
      expect(result.results.map((r) => [r.component, r.ok]).sort()).toEqual([
        ['api', true],
        ['web', true],
      ]);
      expect(h.proxy.routes()).toEqual([]);
      expect(h.runtime.container('web')!.state).toBe('exited');
      const stored = (await h.registry.getService('web'))!;
      expect(stored.active).toBe(false);
      expect(stored.components.map((c) => [c.desiredState, c.observedState])).toEqual([
        ['stopped', 'exited'],
        ['stopped', 'exited'],
      ]);
    });

    it('should refuse an unknown service with ServiceNotFoundError', async () => {
      await expect(sut.stop({ service: 'nope' })).rejects.toThrow(ServiceNotFoundError);
    });

    it('should treat a container that is already gone as stopped', async () => {
      await deploy();
      await h.runtime.remove({ name: 'web-api' });
      const result = await sut.stop({ service: 'web' });
      expect(result.results.every((r) => r.ok)).toBe(true);
      expect((await h.registry.getService('web'))!.components.find((c) => c.name === 'api')!.observedState).toBe('removed');
    });
  });

  describe('start', () => {
    it('should start stopped containers and re-register their routes', async () => {
      await deploy();
      await sut.stop({ service: 'web' });
      await sut.start({ service: 'web' });
      expect(h.runtime.container('web')!.state).toBe('running');
      expect(h.proxy.routes().map((r) => r.listener).sort()).toEqual([':443', ':8443']);
      expect((await h.registry.getService('web'))!.components.every((c) => c.desiredState === 'running')).toBe(true);
    });

    it('should re-create a missing container from the stored spec, keeping its ports', async () => {
      await deploy();
      const port = (await h.registry.getService('web'))!.components.find((c) => c.name === 'web')!.routes[0].hostPort;
      await h.runtime.remove({ name: 'web' });
      const result = await sut.start({ service: 'web' });
      expect(result.results.every((r) => r.ok)).toBe(true);
      const run = h.runtime.callsTo('run').find((c) => c.args.name === 'web')!;
      expect(run.args.env).toEqual([`PORT=${port}`]);
      expect(h.runtime.container('web')!.state).toBe('running');
    });
  });

  describe('restart', () => {
    it('should restart in place, leaving desired state alone', async () => {
      await deploy();
      const id = h.runtime.container('web')!.id;
      await sut.restart({ service: 'web' });
      expect(h.runtime.callsTo('restart').map((c) => c.args.name).sort()).toEqual(['web', 'web-api']);
      expect(h.runtime.container('web')!.id).toBe(id);
      expect((await h.registry.getService('web'))!.components.every((c) => c.desiredState === 'running')).toBe(true);
    });

    it('should report a component whose container is missing without failing the others', async () => {
      await deploy();
      await h.runtime.remove({ name: 'web-api' });
      const result = await sut.restart({ service: 'web' });
      expect(result.results.map((r) => [r.component, r.ok]).sort()).toEqual([
        ['api', false],
        ['web', true],
      ]);
    });
  });

  describe('undeploy', () => {
    it('should remove routes and containers, release ports and mark the service inactive, keeping history', async () => {
      await deploy();
      await sut.undeploy({ service: 'web' });
      expect(h.runtime.containerNames()).toEqual([]);
      expect(h.proxy.routes()).toEqual([]);
      expect(await h.registry.allocatedHostPorts()).toEqual([]);
      const stored = (await h.registry.getService('web'))!;
      expect(stored.active).toBe(false);
      expect(stored.components.map((c) => c.observedState)).toEqual(['removed', 'removed']);
      const kinds = (await h.registry.listEvents({ service: 'web' })).map((e) => e.kind);
      expect(kinds).toEqual(expect.arrayContaining(['deployed', 'undeployed']));
    });
  });

  describe('purge', () => {
    it('should drop entries whose container is gone and not defined, never a running one', async () => {
      await deploy();
      await h.runtime.remove({ name: 'web-api' });
      const purged = await sut.purge({ defined: [], dryRun: false });
      expect(purged).toEqual([{ service: 'web', component: 'api', observedState: 'removed' }]);
      expect((await h.registry.getService('web'))!.components.map((c) => c.name)).toEqual(['web']);
      expect(h.runtime.callsTo('list')).toHaveLength(1);
    });

    it('should keep components still in the definitions', async () => {
      await deploy();
      await h.runtime.stop({ name: 'web-api' });
      expect(await sut.purge({ defined: ['web/api'], dryRun: false })).toEqual([]);
      expect(await sut.purge({ defined: ['web'], dryRun: false })).toEqual([]);
    });

    it('should only report on a dry run', async () => {
      await deploy();
      await h.runtime.stop({ name: 'web' });
      await h.runtime.stop({ name: 'web-api' });
      const purged = await sut.purge({ service: 'web', defined: [], dryRun: true });
      expect(purged.map((p) => [p.component, p.observedState]).sort()).toEqual([
        ['api', 'exited'],
        ['web', 'exited'],
      ]);
      expect((await h.registry.getService('web'))!.components).toHaveLength(2);
    });

    it('should delete the service once its last component is purged', async () => {
      await deploy();
      await h.runtime.remove({ name: 'web' });
      await h.runtime.remove({ name: 'web-api' });
      await sut.purge({ service: 'web', defined: [], dryRun: false });
      expect(await h.registry.getService('web')).toBeNull();
    });
  });
});
