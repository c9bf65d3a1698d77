import {
  type Clock,
  type ComponentSpec,
  ComponentNotFoundError,
  InvalidArgumentError,
  ServiceNotFoundError,
  ValidationError,
} from '@mcp/common';
import { HostPortInUseError } from '../registry-errors';
import type { RouteRecord, ServiceRegistry } from '../service-registry';

/** A clock the contract moves by hand. */
export class ManualClock implements Clock {
  constructor(private current = new Date('2026-11-01T12:00:00.000Z')) {}
  now(): Date {
    return new Date(this.current.getTime());
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

export interface ContractSubject {
  sut: ServiceRegistry;
  clock: ManualClock;
}

export function componentSpec(name: string, overrides: Partial<ComponentSpec> = {}): ComponentSpec {
  return {
    name,
    image: `localhost/mcp-test/${name}:1.0`,
    ports: [],
    volumes: [],
    cmd: [],
    env: [],
    routes: [],
    ...overrides,
  };
}

function route(overrides: Partial<RouteRecord> = {}): RouteRecord {
  return { name: '', port: 443, mode: 'l4', hostname: 'svc.example.test', hostPort: null, ...overrides };
}

/**
 * The behaviour every ServiceRegistry must have. Run against TypeormRegistry (real SQLite)
 * and against the InMemoryRegistry fake, so the fake other tests rely on cannot drift.
 * `open` makes a fresh, empty registry; `dispose` closes it and removes what it made.
 */
export function serviceRegistryContract(
  open: (clock: ManualClock) => Promise<ServiceRegistry>,
  dispose: (sut: ServiceRegistry) => Promise<void>,
): void {
  let sut: ServiceRegistry;
  let clock: ManualClock;

  beforeEach(async () => {
    clock = new ManualClock();
    sut = await open(clock);
  });

  afterEach(async () => {
    await dispose(sut);
  });

  const fullSpec = componentSpec('web', {
    network: 'mcp',
    user: '0:0',
    restart: 'unless-stopped',
    ports: ['127.0.0.1:8080:80/tcp', '9090:90'],
    volumes: ['/srv/notes/data:/data:rw', '/srv/notes/cfg:/cfg:ro'],
    cmd: ['httpd', '-f', '-p', '8080'],
    env: ['B=2', 'A=1', 'EMPTY='],
    routes: [{ name: 'api', port: 8443, mode: 'l7', hostname: 'api.example.test' }, { port: 443, mode: 'l4' }],
  });

  describe('saveService', () => {
    it('should store a new service with every spec field and fresh observed fields', async () => {
      const saved = await sut.saveService({ name: 'notes', active: true, components: [{ spec: fullSpec, desiredState: 'running' }] });

      expect(saved).toEqual({
        name: 'notes',
        active: true,
        createdAt: clock.now(),
        updatedAt: clock.now(),
        components: [
          {
            service: 'notes',
            name: 'web',
            spec: fullSpec,
            desiredState: 'running',
            observedState: 'unknown',
            version: '',
            containerName: '',
            containerId: '',
            deployedSpecHash: '',
            routes: [],
            createdAt: clock.now(),
            updatedAt: clock.now(),
          },
        ],
      });
      expect(await sut.getService('notes')).toEqual(saved);
    });

    it('should update given components, keep observed state and routes, and leave other components alone', async () => {
      await sut.saveService({
        name: 'notes',
        active: true,
        components: [
          { spec: componentSpec('web'), desiredState: 'running' },
          { spec: componentSpec('db'), desiredState: 'running' },
        ],
      });
      await sut.recordObserved({ service: 'notes', component: 'web', observedState: 'running', version: '1.0', containerId: 'abc' });
      await sut.setRoutes({ service: 'notes', component: 'web', routes: [route({ hostPort: 20001 })] });
      const created = clock.now();
      clock.advance(60_000);

      const updated = componentSpec('web', { image: 'localhost/mcp-test/web:2.0', env: ['X=1'] });
      const saved = await sut.saveService({ name: 'notes', active: false, components: [{ spec: updated, desiredState: 'stopped' }] });

      expect(saved.active).toBe(false);
      expect(saved.createdAt).toEqual(created);
      expect(saved.updatedAt).toEqual(clock.now());
      expect(saved.components.map((c) => c.name)).toEqual(['db', 'web']);
      const web = saved.components[1]!;
      expect(web).toMatchObject({
        spec: updated,
        desiredState: 'stopped',
        observedState: 'running',
        version: '1.0',
        containerId: 'abc',
        routes: [route({ hostPort: 20001 })],
        createdAt: created,
        updatedAt: clock.now(),
      });
      expect(saved.components[0]!.spec).toEqual(componentSpec('db'));
    });

    it('should drop optional fields that a new spec no longer has', async () => {
      await sut.saveService({ name: 'notes', active: true, components: [{ spec: fullSpec, desiredState: 'running' }] });

      await sut.saveService({ name: 'notes', active: true, components: [{ spec: componentSpec('web'), desiredState: 'running' }] });

      expect((await sut.getService('notes'))!.components[0]!.spec).toEqual(componentSpec('web'));
    });

    it('should reject duplicate component names in one call and store nothing', async () => {
      const save = sut.saveService({
        name: 'notes',
        active: true,
        components: [
          { spec: componentSpec('web'), desiredState: 'running' },
          { spec: componentSpec('web'), desiredState: 'running' },
        ],
      });

      await expect(save).rejects.toThrow(ValidationError);
      expect(await sut.getService('notes')).toBeNull();
    });

    it('should not let the caller change stored state by mutating its input or the result', async () => {
      const spec = componentSpec('web', { env: ['A=1'] });
      const saved = await sut.saveService({ name: 'notes', active: true, components: [{ spec, desiredState: 'running' }] });

      spec.env.push('B=2');
      saved.components[0]!.spec.env.push('C=3');

      expect((await sut.getService('notes'))!.components[0]!.spec.env).toEqual(['A=1']);
    });
  });

  describe('getService', () => {
    it('should return null for an unknown service', async () => {
      expect(await sut.getService('nope')).toBeNull();
    });
  });

  describe('listServices', () => {
    it('should list every service by name with its components', async () => {
      await sut.saveService({ name: 'zeta', active: true, components: [{ spec: componentSpec('z'), desiredState: 'running' }] });
      await sut.saveService({ name: 'alpha', active: false, components: [] });

      const services = await sut.listServices();

      expect(services.map((s) => [s.name, s.active, s.components.map((c) => c.name)])).toEqual([
        ['alpha', false, []],
        ['zeta', true, ['z']],
      ]);
    });

    it('should return an empty list when nothing is registered', async () => {
      expect(await sut.listServices()).toEqual([]);
    });
  });

  describe('listComponentStates', () => {
    it("should list every component's states by service and component name, as listServices has them", async () => {
      await sut.saveService({ name: 'zeta', active: true, components: [{ spec: componentSpec('z'), desiredState: 'running' }] });
      await sut.saveService({ name: 'alpha', active: true, components: [{ spec: componentSpec('web'), desiredState: 'stopped' }, { spec: componentSpec('db'), desiredState: 'running' }] });
      await sut.recordObserved({ service: 'alpha', component: 'db', observedState: 'exited', containerName: 'alpha-db' });

      const states = await sut.listComponentStates();
      const fromServices = (await sut.listServices()).flatMap((s) => s.components.map((c) => ({ service: s.name, name: c.name, desiredState: c.desiredState, observedState: c.observedState, containerName: c.containerName })));

      expect(states).toEqual(fromServices);
      expect(states.map((c) => [c.service, c.name, c.desiredState, c.observedState, c.containerName])).toEqual([
        ['alpha', 'db', 'running', 'exited', 'alpha-db'],
        ['alpha', 'web', 'stopped', fromServices[1].observedState, fromServices[1].containerName],
        ['zeta', 'z', 'running', fromServices[2].observedState, fromServices[2].containerName],
      ]);
    });
  });

  describe('setServiceActive', () => {
    it('should change the active flag', async () => {
      await sut.saveService({ name: 'notes', active: true, components: [] });

      await sut.setServiceActive('notes', false);

      expect((await sut.getService('notes'))!.active).toBe(false);
    });

    it('should throw ServiceNotFoundError for an unknown service', async () => {
      await expect(sut.setServiceActive('nope', true)).rejects.toThrow(ServiceNotFoundError);
    });
  });

  describe('setDesiredState', () => {
    beforeEach(async () => {
      await sut.saveService({
        name: 'notes',
        active: true,
        components: [
          { spec: componentSpec('web'), desiredState: 'running' },
          { spec: componentSpec('db'), desiredState: 'running' },
        ],
      });
    });

    it('should set one component when a component is named', async () => {
      await sut.setDesiredState({ service: 'notes', component: 'db', state: 'stopped' });

      const states = (await sut.getService('notes'))!.components.map((c) => [c.name, c.desiredState]);
      expect(states).toEqual([
        ['db', 'stopped'],
        ['web', 'running'],
      ]);
    });

    it('should set every component when none is named', async () => {
      await sut.setDesiredState({ service: 'notes', state: 'ignore' });

      const states = (await sut.getService('notes'))!.components.map((c) => c.desiredState);
      expect(states).toEqual(['ignore', 'ignore']);
    });

    it('should throw ComponentNotFoundError for an unknown component and ServiceNotFoundError for an unknown service', async () => {
      await expect(sut.setDesiredState({ service: 'notes', component: 'nope', state: 'stopped' })).rejects.toThrow(
        ComponentNotFoundError,
      );
      await expect(sut.setDesiredState({ service: 'nope', state: 'stopped' })).rejects.toThrow(ServiceNotFoundError);
    });
  });

  describe('recordObserved', () => {
    beforeEach(async () => {
      await sut.saveService({ name: 'notes', active: true, components: [{ spec: componentSpec('web'), desiredState: 'running' }] });
    });

    it('should record every given field and keep the ones not given', async () => {
      await sut.recordObserved({
        service: 'notes',
        component: 'web',
        observedState: 'running',
        version: '1.0',
        containerName: 'notes-web',
        containerId: 'c0ffee',
        deployedSpecHash: 'sha256:1',
      });
      clock.advance(1000);

      await sut.recordObserved({ service: 'notes', component: 'web', observedState: 'exited' });

      expect((await sut.getService('notes'))!.components[0]).toMatchObject({
        observedState: 'exited',
        version: '1.0',
        containerName: 'notes-web',
        containerId: 'c0ffee',
        deployedSpecHash: 'sha256:1',
        updatedAt: clock.now(),
      });
    });

    it('should throw ComponentNotFoundError for an unknown component', async () => {
      await expect(sut.recordObserved({ service: 'notes', component: 'nope', observedState: 'running' })).rejects.toThrow(
        ComponentNotFoundError,
      );
    });
  });

  describe('setRoutes', () => {
    beforeEach(async () => {
      await sut.saveService({
        name: 'notes',
        active: true,
        components: [
          { spec: componentSpec('web'), desiredState: 'running' },
          { spec: componentSpec('api'), desiredState: 'running' },
        ],
      });
    });

    it('should replace the routes of a component, in order', async () => {
      await sut.setRoutes({ service: 'notes', component: 'web', routes: [route({ name: 'old', hostPort: 20000 })] });
      const routes = [
        route({ name: 'b', port: 8443, mode: 'l7', hostname: 'b.example.test', hostPort: 20002 }),
        route({ name: 'a', port: 443, hostPort: null }),
        route({ name: '', port: 9443, hostPort: 20001 }),
      ];

      await sut.setRoutes({ service: 'notes', component: 'web', routes });

      expect((await sut.getService('notes'))!.components.find((c) => c.name === 'web')!.routes).toEqual(routes);
    });

    it('should let a component keep its own host ports on a redeploy', async () => {
      await sut.setRoutes({ service: 'notes', component: 'web', routes: [route({ hostPort: 20000 })] });

      await sut.setRoutes({ service: 'notes', component: 'web', routes: [route({ port: 8443, hostPort: 20000 })] });

      expect(await sut.allocatedHostPorts()).toEqual([{ hostPort: 20000, service: 'notes', component: 'web' }]);
    });

    it('should refuse a host port held by another component and keep the old routes', async () => {
      await sut.setRoutes({ service: 'notes', component: 'web', routes: [route({ hostPort: 20000 })] });
      await sut.setRoutes({ service: 'notes', component: 'api', routes: [route({ hostPort: 20005 })] });

      const conflict = sut.setRoutes({
        service: 'notes',
        component: 'api',
        routes: [route({ hostPort: 20006 }), route({ port: 8443, hostPort: 20000 })],
      });

      await expect(conflict).rejects.toThrow(HostPortInUseError);
      await expect(conflict).rejects.toMatchObject({ hostPort: 20000, heldBy: { service: 'notes', component: 'web' } });
      expect((await sut.getService('notes'))!.components.find((c) => c.name === 'api')!.routes).toEqual([
        route({ hostPort: 20005 }),
      ]);
    });

    it('should refuse one host port given twice', async () => {
      const twice = sut.setRoutes({
        service: 'notes',
        component: 'web',
        routes: [route({ hostPort: 20000 }), route({ port: 8443, hostPort: 20000 })],
      });

      await expect(twice).rejects.toThrow(ValidationError);
    });

    it('should allow many routes without a host port', async () => {
      await sut.setRoutes({ service: 'notes', component: 'web', routes: [route(), route({ port: 8443 })] });
      await sut.setRoutes({ service: 'notes', component: 'api', routes: [route()] });

      expect(await sut.allocatedHostPorts()).toEqual([]);
    });

    it('should throw ComponentNotFoundError for an unknown component', async () => {
      await expect(sut.setRoutes({ service: 'notes', component: 'nope', routes: [] })).rejects.toThrow(ComponentNotFoundError);
    });
  });

  describe('allocatedHostPorts', () => {
    it('should list every allocated port across services in port order', async () => {
      await sut.saveService({ name: 'b', active: true, components: [{ spec: componentSpec('x'), desiredState: 'running' }] });
      await sut.saveService({ name: 'a', active: true, components: [{ spec: componentSpec('y'), desiredState: 'running' }] });
      await sut.setRoutes({ service: 'b', component: 'x', routes: [route({ hostPort: 30000 }), route({ port: 1, hostPort: null })] });
      await sut.setRoutes({ service: 'a', component: 'y', routes: [route({ hostPort: 10000 })] });

      expect(await sut.allocatedHostPorts()).toEqual([
        { hostPort: 10000, service: 'a', component: 'y' },
        { hostPort: 30000, service: 'b', component: 'x' },
      ]);
    });
  });

  describe('releaseHostPorts', () => {
    beforeEach(async () => {
      await sut.saveService({
        name: 'notes',
        active: true,
        components: [
          { spec: componentSpec('web'), desiredState: 'running' },
          { spec: componentSpec('api'), desiredState: 'running' },
        ],
      });
      await sut.setRoutes({ service: 'notes', component: 'web', routes: [route({ hostPort: 20000 })] });
      await sut.setRoutes({ service: 'notes', component: 'api', routes: [route({ hostPort: 20001 })] });
    });

    it('should release the ports of one component and keep its routes', async () => {
      await sut.releaseHostPorts({ service: 'notes', component: 'web' });

      expect(await sut.allocatedHostPorts()).toEqual([{ hostPort: 20001, service: 'notes', component: 'api' }]);
      expect((await sut.getService('notes'))!.components.find((c) => c.name === 'web')!.routes).toEqual([route()]);
    });

    it('should release every port of a service', async () => {
      await sut.releaseHostPorts({ service: 'notes' });

      expect(await sut.allocatedHostPorts()).toEqual([]);
    });

    it('should throw ServiceNotFoundError for an unknown service', async () => {
      await expect(sut.releaseHostPorts({ service: 'nope' })).rejects.toThrow(ServiceNotFoundError);
    });
  });

  describe('deleteComponent', () => {
    it('should remove the component with its routes and keep the rest', async () => {
      await sut.saveService({
        name: 'notes',
        active: true,
        components: [
          { spec: componentSpec('web'), desiredState: 'running' },
          { spec: componentSpec('api'), desiredState: 'running' },
        ],
      });
      await sut.setRoutes({ service: 'notes', component: 'web', routes: [route({ hostPort: 20000 })] });

      await sut.deleteComponent({ service: 'notes', component: 'web' });

      expect((await sut.getService('notes'))!.components.map((c) => c.name)).toEqual(['api']);
      expect(await sut.allocatedHostPorts()).toEqual([]);
    });

    it('should throw ComponentNotFoundError or ServiceNotFoundError for unknown targets', async () => {
      await sut.saveService({ name: 'notes', active: true, components: [] });

      await expect(sut.deleteComponent({ service: 'notes', component: 'web' })).rejects.toThrow(ComponentNotFoundError);
      await expect(sut.deleteComponent({ service: 'nope', component: 'web' })).rejects.toThrow(ServiceNotFoundError);
    });
  });

  describe('deleteService', () => {
    it('should remove the service, its components and routes, and keep its events', async () => {
      await sut.saveService({ name: 'notes', active: true, components: [{ spec: fullSpec, desiredState: 'running' }] });
      await sut.setRoutes({ service: 'notes', component: 'web', routes: [route({ hostPort: 20000 })] });
      await sut.addEvent({ service: 'notes', component: 'web', kind: 'deploy', message: 'deployed' });

      await sut.deleteService('notes');

      expect(await sut.getService('notes')).toBeNull();
      expect(await sut.listServices()).toEqual([]);
      expect(await sut.allocatedHostPorts()).toEqual([]);
      expect((await sut.listEvents({ service: 'notes' })).map((e) => e.kind)).toEqual(['deploy']);
    });

    it('should let a deleted service be saved again from scratch', async () => {
      await sut.saveService({ name: 'notes', active: true, components: [{ spec: fullSpec, desiredState: 'running' }] });
      await sut.recordObserved({ service: 'notes', component: 'web', observedState: 'running' });
      await sut.deleteService('notes');

      const again = await sut.saveService({ name: 'notes', active: true, components: [{ spec: fullSpec, desiredState: 'running' }] });

      expect(again.components[0]!.observedState).toBe('unknown');
    });

    it('should throw ServiceNotFoundError for an unknown service', async () => {
      await expect(sut.deleteService('nope')).rejects.toThrow(ServiceNotFoundError);
    });
  });

  describe('addEvent', () => {
    it('should assign increasing ids, default the time to now and the states to empty', async () => {
      const first = await sut.addEvent({ service: 'notes', component: '', kind: 'sync', message: 'synced' });
      const second = await sut.addEvent({
        service: 'notes',
        component: 'web',
        kind: 'state',
        message: 'web exited',
        fromState: 'running',
        toState: 'exited',
        time: new Date('2026-10-01T00:00:00.123Z'),
      });

      expect(first).toEqual({
        id: first.id,
        time: clock.now(),
        service: 'notes',
        component: '',
        kind: 'sync',
        message: 'synced',
        fromState: '',
        toState: '',
      });
      expect(second.id).toBeGreaterThan(first.id);
      expect(second.time).toEqual(new Date('2026-10-01T00:00:00.123Z'));
      expect(await sut.listEvents({})).toEqual([first, second]);
    });
  });

  describe('listEvents', () => {
    beforeEach(async () => {
      const at = (minute: number) => new Date(Date.UTC(2026, 10, 1, 12, minute));
      await sut.addEvent({ service: 'notes', component: 'web', kind: 'a', message: '1', time: at(1) });
      await sut.addEvent({ service: 'notes', component: 'db', kind: 'b', message: '2', time: at(2) });
      await sut.addEvent({ service: 'other', component: 'web', kind: 'c', message: '3', time: at(3) });
      await sut.addEvent({ service: 'notes', component: 'web', kind: 'd', message: '4', time: at(3) });
    });

    it('should return the most recent first, newer ids first within one instant', async () => {
      expect((await sut.listEvents({})).map((e) => e.message)).toEqual(['4', '3', '2', '1']);
    });

    it('should filter by service, component, since and limit', async () => {
      expect((await sut.listEvents({ service: 'notes' })).map((e) => e.message)).toEqual(['4', '2', '1']);
      expect((await sut.listEvents({ service: 'notes', component: 'web' })).map((e) => e.message)).toEqual(['4', '1']);
      expect((await sut.listEvents({ since: new Date(Date.UTC(2026, 10, 1, 12, 2)) })).map((e) => e.message)).toEqual([
        '4',
        '3',
        '2',
      ]);
      expect((await sut.listEvents({ limit: 2 })).map((e) => e.message)).toEqual(['4', '3']);
      expect(await sut.listEvents({ limit: 0 })).toEqual([]);
    });

    it('should reject a negative limit or an invalid date', async () => {
      await expect(sut.listEvents({ limit: -1 })).rejects.toThrow(InvalidArgumentError);
      await expect(sut.listEvents({ since: new Date('nope') })).rejects.toThrow(InvalidArgumentError);
    });
  });

  describe('eventsAfter', () => {
    it('should return the events after an id, oldest first, filtered and limited', async () => {
      const first = await sut.addEvent({ service: 'notes', component: 'web', kind: 'a', message: '1' });
      await sut.addEvent({ service: 'other', component: 'web', kind: 'b', message: '2' });
      await sut.addEvent({ service: 'notes', component: 'db', kind: 'c', message: '3' });
      await sut.addEvent({ service: 'notes', component: 'web', kind: 'd', message: '4' });
      expect((await sut.eventsAfter({ afterId: 0, limit: 10 })).map((e) => e.message)).toEqual(['1', '2', '3', '4']);
      expect((await sut.eventsAfter({ afterId: first.id, service: 'notes', limit: 10 })).map((e) => e.message)).toEqual(['3', '4']);
      expect((await sut.eventsAfter({ afterId: first.id, limit: 2 })).map((e) => e.message)).toEqual(['2', '3']);
    });

    it('should reject a negative id or a limit below 1', async () => {
      await expect(sut.eventsAfter({ afterId: -1, limit: 1 })).rejects.toThrow(InvalidArgumentError);
      await expect(sut.eventsAfter({ afterId: 0, limit: 0 })).rejects.toThrow(InvalidArgumentError);
    });
  });

  describe('onEventAdded', () => {
    it('should tell every listener about each stored event until it unsubscribes, whatever another listener does', async () => {
      const seen: string[] = [];
      const stop = sut.onEventAdded((event) => seen.push(`${event.id}:${event.message}`));
      sut.onEventAdded(() => {
        throw new Error('a broken listener');
      });
      const stored = await sut.addEvent({ service: 'notes', component: '', kind: 'a', message: 'one' });
      stop();
      await sut.addEvent({ service: 'notes', component: '', kind: 'a', message: 'two' });
      expect(seen).toEqual([`${stored.id}:one`]);
    });
  });

  describe('pruneEvents', () => {
    const day = 24 * 60 * 60 * 1000;

    beforeEach(async () => {
      for (let age = 5; age >= 0; age--) {
        await sut.addEvent({ service: 's', component: '', kind: 'k', message: `age ${age}d`, time: new Date(clock.now().getTime() - age * day) });
      }
    });

    it('should delete events older than the cut-off and report how many went', async () => {
      const removed = await sut.pruneEvents({ before: new Date(clock.now().getTime() - 2 * day) });

      expect(removed).toBe(3);
      expect((await sut.listEvents({})).map((e) => e.message)).toEqual(['age 0d', 'age 1d', 'age 2d']);
    });

    it('should then keep only the newest keepMax events', async () => {
      const removed = await sut.pruneEvents({ before: new Date(clock.now().getTime() - 4 * day), keepMax: 2 });

      expect(removed).toBe(4);
      expect((await sut.listEvents({})).map((e) => e.message)).toEqual(['age 0d', 'age 1d']);
    });

    it('should delete every event when keepMax is 0', async () => {
      expect(await sut.pruneEvents({ before: new Date(0), keepMax: 0 })).toBe(6);
      expect(await sut.listEvents({})).toEqual([]);
    });

    it('should reject a negative keepMax and delete nothing', async () => {
      await expect(sut.pruneEvents({ before: new Date(), keepMax: -1 })).rejects.toThrow(InvalidArgumentError);
      expect(await sut.listEvents({})).toHaveLength(6);
    });

    it('should delete nothing when nothing is old and the count is within keepMax', async () => {
      expect(await sut.pruneEvents({ before: new Date(0), keepMax: 100 })).toBe(0);
      expect(await sut.listEvents({})).toHaveLength(6);
    });
  });

  describe('releases', () => {
    const release = (number: number, component: string, outcome: 'succeeded' | 'failed' = 'succeeded') => ({
      service: 'notes',
      number,
      component,
      spec: componentSpec(component, { env: [`N=${number}`] }),
      image: `localhost/mcp-test/${component}:${number}.0`,
      digest: `sha256:${number}`,
      deployedBy: 'admin',
      outcome,
      rollbackOf: 0,
      message: '',
    });

    it('should number from 1 per service and list newest first with the full spec', async () => {
      expect(await sut.nextReleaseNumber('notes')).toBe(1);
      await sut.addRelease(release(1, 'web'));
      clock.advance(1000);
      await sut.addRelease(release(2, 'web'));
      await sut.addRelease(release(2, 'api', 'failed'));
      await sut.addRelease({ ...release(1, 'web'), service: 'other' });

      expect(await sut.nextReleaseNumber('notes')).toBe(3);
      const listed = await sut.listReleases({ service: 'notes' });
      expect(listed.map((r) => `${r.number}/${r.component}/${r.outcome}`)).toEqual(['2/api/failed', '2/web/succeeded', '1/web/succeeded']);
      expect(listed[1]).toEqual({ ...release(2, 'web'), deployedAt: clock.now() });
      expect((await sut.listReleases({ service: 'notes', component: 'web' })).map((r) => r.number)).toEqual([2, 1]);
    });

    it('should refuse a duplicate (service, number, component)', async () => {
      await sut.addRelease(release(1, 'web'));
      await expect(sut.addRelease(release(1, 'web'))).rejects.toThrow();
    });

    it('should set an outcome and message, and refuse an unknown release', async () => {
      await sut.addRelease({ ...release(1, 'web'), outcome: 'in_progress' as never });
      await sut.setReleaseOutcome({ service: 'notes', number: 1, component: 'web', outcome: 'rolled_back', message: 'health check failed' });

      expect(await sut.listReleases({ service: 'notes' })).toEqual([expect.objectContaining({ outcome: 'rolled_back', message: 'health check failed' })]);
      await expect(sut.setReleaseOutcome({ service: 'notes', number: 9, component: 'web', outcome: 'failed' })).rejects.toThrow(ComponentNotFoundError);
    });
  });

  describe('recordDeployment', () => {
    beforeEach(async () => {
      await sut.saveService({ name: 'notes', active: true, components: [{ spec: componentSpec('web'), desiredState: 'running' }] });
      await sut.saveService({ name: 'other', active: true, components: [{ spec: componentSpec('web'), desiredState: 'running' }] });
      await sut.setRoutes({ service: 'other', component: 'web', routes: [route({ hostPort: 30001, hostname: 'other.example.test' })] });
    });

    it('should store routes and observed state together', async () => {
      await sut.recordDeployment({ service: 'notes', component: 'web', observedState: 'running', containerName: 'notes-web-next', containerId: 'id2', routes: [route({ hostPort: 30002 })] });

      const web = (await sut.getService('notes'))!.components[0];
      expect(web).toMatchObject({ containerName: 'notes-web-next', containerId: 'id2', observedState: 'running', routes: [route({ hostPort: 30002 })] });
    });

    it('should change nothing when the routes are refused', async () => {
      await expect(
        sut.recordDeployment({ service: 'notes', component: 'web', observedState: 'running', containerName: 'notes-web-next', routes: [route({ hostPort: 30001 })] }),
      ).rejects.toThrow(HostPortInUseError);

      expect((await sut.getService('notes'))!.components[0]).toMatchObject({ containerName: '', observedState: 'unknown', routes: [] });
    });
  });

  describe('cordon', () => {
    it('should start uncordoned, cordon once, and uncordon once', async () => {
      expect(await sut.getCordon()).toBeNull();
      const at = new Date('2026-11-01T12:00:00.000Z');

      expect(await sut.setCordon({ by: 'admin', at })).toBe(true);
      expect(await sut.setCordon({ by: 'other', at: new Date(at.getTime() + 1000) })).toBe(false);
      expect(await sut.getCordon()).toEqual({ by: 'admin', at });

      expect(await sut.setCordon(null)).toBe(true);
      expect(await sut.setCordon(null)).toBe(false);
      expect(await sut.getCordon()).toBeNull();
    });
  });

  describe('service backups (SPEC §14)', () => {
    const run = (service: string, ok: boolean, snapshotId = ok ? 'abcd1234' : '') => ({
      service,
      startedAt: clock.now(),
      finishedAt: clock.now(),
      ok,
      snapshotId,
      files: 3,
      bytes: 300,
      durationMs: 1200,
      pausedMs: 0,
      message: ok ? '' : 'restic backup: boom',
    });

    it('should keep a service\'s [backup] policy until a save replaces or removes it', async () => {
      await sut.saveService({ name: 'notes', active: true, backup: { mode: 'pause', keep_last: 2 }, components: [{ spec: componentSpec('web'), desiredState: 'running' }] });
      expect((await sut.getService('notes'))!.backup).toEqual({ mode: 'pause', keep_last: 2 });
      await sut.saveService({ name: 'notes', active: true, components: [] });
      expect((await sut.getService('notes'))!.backup).toEqual({ mode: 'pause', keep_last: 2 });
      await sut.saveService({ name: 'notes', active: true, backup: null, components: [] });
      expect((await sut.getService('notes'))!.backup).toBeUndefined();
    });

    it('should list backup runs newest first, per service, and keep the newest 50', async () => {
      for (let i = 0; i < 52; i++) await sut.recordBackupRun(run('notes', i % 2 === 0));
      await sut.recordBackupRun(run('other', true));
      const notes = await sut.listBackupRuns({ service: 'notes' });
      expect(notes).toHaveLength(50);
      expect(notes[0].id).toBeGreaterThan(notes[1].id);
      expect(notes[0]).toMatchObject({ ok: false, message: 'restic backup: boom', files: 3, bytes: 300 });
      expect(await sut.listBackupRuns({ service: 'other', limit: 5 })).toHaveLength(1);
    });

    it('should add the event of a backup run with the run, and tell the event listeners', async () => {
      const heard: string[] = [];
      const stop = sut.onEventAdded((event) => heard.push(event.message));
      await sut.recordBackupRun(run('notes', true), { service: 'notes', component: '', kind: 'backup', message: 'snapshot abc: 3 files' });
      stop();
      expect(await sut.listBackupRuns({ service: 'notes' })).toHaveLength(1);
      expect((await sut.listEvents({ service: 'notes' })).map((e) => [e.kind, e.message])).toEqual([['backup', 'snapshot abc: 3 files']]);
      expect(heard).toEqual(['snapshot abc: 3 files']);
    });

    it('should hold one intent per service until it is cleared', async () => {
      await sut.setBackupIntent({ service: 'notes', kind: 'paused', detail: { containers: ['notes-web'] } });
      await sut.setBackupIntent({ service: 'notes', kind: 'restore', detail: { step: 'staged' } });
      expect(await sut.listBackupIntents()).toEqual([{ service: 'notes', kind: 'restore', detail: { step: 'staged' }, createdAt: clock.now() }]);
      await sut.clearBackupIntent('notes');
      expect(await sut.listBackupIntents()).toEqual([]);
    });
  });

  describe('job runs (SPEC §12)', () => {
    const start = (job: string, result: 'running' | 'skipped' = 'running') => ({ service: 'notes', job, trigger: 'schedule', startedAt: clock.now(), result, container: '', message: '' });

    it("should keep a service's [[jobs]] until a save replaces or removes them", async () => {
      const jobs = [{ name: 'report', component: 'web', schedule: '0 3 * * *' }];
      await sut.saveService({ name: 'notes', active: true, jobs, components: [{ spec: componentSpec('web'), desiredState: 'running' }] });
      expect((await sut.getService('notes'))!.jobs).toEqual(jobs);
      await sut.saveService({ name: 'notes', active: true, components: [] });
      expect((await sut.getService('notes'))!.jobs).toEqual(jobs);
      await sut.saveService({ name: 'notes', active: true, jobs: null, components: [] });
      expect((await sut.getService('notes'))!.jobs).toBeUndefined();
    });

    it('should record a run from start to end, newest first, and keep the newest 50 per job', async () => {
      const first = await sut.addJobRun(start('report'));
      expect(first).toMatchObject({ job: 'report', result: 'running', finishedAt: null, exitCode: null, output: '' });
      clock.advance(1500);
      await sut.finishJobRun({ id: first.id, finishedAt: clock.now(), result: 'failed', exitCode: 3, durationMs: 1500, message: 'exited 3', output: 'boom\n', container: 'notes-web-run-1' });
      for (let i = 0; i < 51; i++) await sut.addJobRun(start('report', 'skipped'));
      await sut.addJobRun(start('other'));
      const runs = await sut.listJobRuns({ service: 'notes', job: 'report' });
      expect(runs).toHaveLength(50);
      expect(runs[0].id).toBeGreaterThan(runs[1].id);
      expect(runs.some((entry) => entry.id === first.id)).toBe(false);
      expect(await sut.listJobRuns({ service: 'notes', limit: 2 })).toHaveLength(2);
      expect((await sut.listJobRuns({ service: 'notes', job: 'other' }))[0]).toMatchObject({ result: 'running' });
    });

    it('should store what a finished run says and mark the runs still running interrupted', async () => {
      const done = await sut.addJobRun(start('report'));
      await sut.finishJobRun({ id: done.id, finishedAt: clock.now(), result: 'succeeded', exitCode: 0, durationMs: 10, message: '', output: 'ok\n' });
      const left = await sut.addJobRun(start('report'));
      const interrupted = await sut.interruptRunningJobRuns(clock.now());
      expect(interrupted.map((entry) => entry.id)).toEqual([left.id]);
      const [newest, older] = await sut.listJobRuns({ service: 'notes', job: 'report' });
      expect(newest).toMatchObject({ id: left.id, result: 'interrupted' });
      expect(older).toMatchObject({ id: done.id, result: 'succeeded', exitCode: 0, output: 'ok\n' });
    });
  });
}
