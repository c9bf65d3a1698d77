import * as net from 'node:net';
import { Test } from '@nestjs/testing';
import { UnavailableError } from '@mcp/common';
import { ServiceRegistry } from '@mcp/registry';
import { InMemoryRegistry } from '../../../test/fakes';
import { DeployerOptions, type DeployerOptionsData } from './deployer-options';
import { HostPortProbe, NetHostPortProbe, PortAllocator } from './port-allocator';

/** A host where chosen ports are busy; strict: only isFree is expected. */
class FakeProbe extends HostPortProbe {
  readonly busy = new Set<number>();
  readonly probed: number[] = [];
  async isFree(input: { address: string; port: number }): Promise<boolean> {
    this.probed.push(input.port);
    await new Promise((resolve) => setImmediate(resolve));
    return !this.busy.has(input.port);
  }
}

const OPTIONS: DeployerOptionsData = {
  bindAddress: '127.0.0.1',
  routeBindAddress: '127.0.0.1',
  routeDomain: 'svc.test',
  portRangeStart: 20000,
  portRangeEnd: 20009,
  certDir: '/nonexistent',
  stopTimeoutSeconds: 1,
};

const spec = (name: string) => ({ name, image: 'localhost/x:1', ports: [], volumes: [], cmd: [], env: [], routes: [{ port: 443, mode: 'l4' as const }] });

describe(PortAllocator.name, () => {
  let sut: PortAllocator;
  let registry: InMemoryRegistry;
  let probe: FakeProbe;

  async function build(options: Partial<DeployerOptionsData> = {}): Promise<void> {
    registry = new InMemoryRegistry();
    probe = new FakeProbe();
    const moduleRef = await Test.createTestingModule({
      providers: [
        PortAllocator,
        { provide: ServiceRegistry, useValue: registry },
        { provide: HostPortProbe, useValue: probe },
        { provide: DeployerOptions, useValue: new DeployerOptions({ ...OPTIONS, ...options }) },
      ],
    }).compile();
    sut = moduleRef.get(PortAllocator);
  }

  async function holdInRegistry(service: string, hostPort: number): Promise<void> {
    await registry.saveService({ name: service, active: true, components: [{ spec: spec(service), desiredState: 'running' }] });
    await registry.setRoutes({ service, component: service, routes: [{ name: '', port: 443, mode: 'l4', hostname: `${service}.svc.test`, hostPort }] });
  }

  beforeEach(() => build());

  describe('allocate', () => {
    it('should pick one port per route inside the configured range', async () => {
      const ports = await sut.allocate({ service: 'web', component: 'web', routes: [{ name: '' }, { name: 'admin' }] });
      expect(ports).toHaveLength(2);
      expect(new Set(ports).size).toBe(2);
      for (const port of ports) {
        expect(port).toBeGreaterThanOrEqual(20000);
        expect(port).toBeLessThanOrEqual(20009);
      }
    });

    it('should never hand out a port another registered route holds', async () => {
      for (let port = 20000; port <= 20008; port++) await holdInRegistry(`svc-${port}`, port);
      const ports = await sut.allocate({ service: 'web', component: 'web', routes: [{ name: '' }] });
      expect(ports).toEqual([20009]);
    });

    it('should skip ports that are busy on the host', async () => {
      for (let port = 20000; port <= 20008; port++) probe.busy.add(port);
      const ports = await sut.allocate({ service: 'web', component: 'web', routes: [{ name: '' }] });
      expect(ports).toEqual([20009]);
    });

    it('should keep a component’s previous ports across a redeploy', async () => {
      const first = await sut.allocate({ service: 'web', component: 'web', routes: [{ name: '' }, { name: 'admin' }] });
      sut.settle({ service: 'web', component: 'web' });
      const again = await sut.allocate({
        service: 'web',
        component: 'web',
        routes: [{ name: '' }, { name: 'admin' }],
        previous: [{ name: '', hostPort: first[0] }, { name: 'admin', hostPort: first[1] }],
      });
      expect(again).toEqual(first);
    });

    it('should replace a previous port another route now holds', async () => {
      await holdInRegistry('other', 20003);
      const ports = await sut.allocate({ service: 'web', component: 'web', routes: [{ name: '' }], previous: [{ name: '', hostPort: 20003 }] });
      expect(ports[0]).not.toBe(20003);
    });

    it('should replace a previous port that is now outside the configured range', async () => {
      // The operator narrowed port_range_* since the last deploy.
      const ports = await sut.allocate({ service: 'web', component: 'web', routes: [{ name: '' }, { name: 'admin' }], previous: [{ name: '', hostPort: 19999 }, { name: 'admin', hostPort: 20010 }] });

      for (const port of ports) {
        expect(port).toBeGreaterThanOrEqual(20000);
        expect(port).toBeLessThanOrEqual(20009);
      }
    });

    it('should not give an unsettled reservation to another component', async () => {
      await build({ portRangeEnd: 20001 });
      const [a] = await sut.allocate({ service: 'a', component: 'a', routes: [{ name: '' }] });
      const [b] = await sut.allocate({ service: 'b', component: 'b', routes: [{ name: '' }] });
      expect(new Set([a, b])).toEqual(new Set([20000, 20001]));
      await expect(sut.allocate({ service: 'c', component: 'c', routes: [{ name: '' }] })).rejects.toThrow(UnavailableError);
    });

    it('should give 50 concurrent allocations distinct ports', async () => {
      await build({ portRangeStart: 20000, portRangeEnd: 20049 });
      const all = await Promise.all(
        Array.from({ length: 50 }, (_, i) => sut.allocate({ service: `svc-${i}`, component: 'c', routes: [{ name: '' }] })),
      );
      const ports = all.flat();
      expect(ports).toHaveLength(50);
      expect(new Set(ports).size).toBe(50);
    });

    it('should fail with UnavailableError when the range is exhausted', async () => {
      await build({ portRangeStart: 20000, portRangeEnd: 20001 });
      probe.busy.add(20000);
      probe.busy.add(20001);
      await expect(sut.allocate({ service: 'web', component: 'web', routes: [{ name: '' }] })).rejects.toThrow(UnavailableError);
    });
  });
});

describe(NetHostPortProbe.name, () => {
  it('should see a port bound by another socket as busy and a released one as free', async () => {
    const sut = new NetHostPortProbe();
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await expect(sut.isFree({ address: '127.0.0.1', port })).resolves.toBe(false);
    await new Promise((resolve) => server.close(resolve));
    await expect(sut.isFree({ address: '127.0.0.1', port })).resolves.toBe(true);
  });
});
