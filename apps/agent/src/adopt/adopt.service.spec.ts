import { Test } from '@nestjs/testing';
import { InvalidArgumentError, NotFoundError } from '@mcp/common';
import { KeyedMutex } from '@mcp/deployer';
import { ServiceRegistry } from '@mcp/registry';
import { ContainerRuntime, LiveContainers, type ContainerDetails } from '@mcp/runtime';
import { componentSpecHash } from '@mcp/servicedef';
import { FakeClock, FakeRuntime, InMemoryRegistry } from '../../../../test/fakes';
import { makeTestConfig } from '../../../../test/support/test-config';
import { AgentConfig } from '../config/agent-config';
import { componentFromContainer, memoryText } from './adopt-mapping';
import { adoptContainersResponse } from './adopt.mapper';
import { ADOPTED_EVENT, AdoptService } from './adopt.service';

const IMAGE = 'localhost/mcp-test/busybox:1.0';

function details(overrides: Partial<ContainerDetails>): ContainerDetails {
  return {
    id: 'c0ffee',
    name: 'app',
    image: IMAGE,
    state: 'running',
    status: 'Up',
    command: [],
    labels: {},
    ports: [],
    env: [],
    cmd: [],
    volumes: [],
    portSpecs: [],
    ...overrides,
  };
}

describe('adoption', () => {
  describe(componentFromContainer.name, () => {
    it('should record image, ports, volumes, env, cmd, network, user and restart', () => {
      const container = details({
        env: ['PATH=/usr/bin', 'TERM=xterm', 'container=podman', 'HOSTNAME=abc', 'HOME=/root', 'APP_MODE=prod', 'EMPTY='],
        cmd: ['httpd', '-f', '-p', '8080'],
        portSpecs: ['127.0.0.1:18080:8080/tcp'],
        volumes: ['/srv/app/www:/www:ro'],
        network: 'appnet',
        user: '1000:1000',
        restart: 'unless-stopped',
      });

      const sut = componentFromContainer({ name: 'web', container });

      expect(sut).toEqual({
        name: 'web',
        image: IMAGE,
        network: 'appnet',
        user: '1000:1000',
        restart: 'unless-stopped',
        ports: ['127.0.0.1:18080:8080/tcp'],
        volumes: ['/srv/app/www:/www:ro'],
        cmd: ['httpd', '-f', '-p', '8080'],
        env: ['APP_MODE=prod', 'EMPTY='],
        routes: [],
      });
    });

    it("should write bind mounts from inside the service's directory as ./ (SPEC §15), others as they are", () => {
      const container = details({ volumes: ['/srv/app:/app', '/srv/app/www:/www:ro', '/srv/application/x:/x', '/etc/ssl:/ssl', 'cache:/cache'] });

      const sut = componentFromContainer({ name: 'web', container, serviceDir: '/srv/app' });

      expect(sut.volumes).toEqual(['./:/app', './www:/www:ro', '/srv/application/x:/x', '/etc/ssl:/ssl', 'cache:/cache']);
    });

    it('should record the memory and CPU limits, memory in the largest unit that divides it', () => {
      const sut = componentFromContainer({ name: 'db', container: details({ memoryBytes: 256 * 1024 * 1024, cpus: 0.5 }) });

      expect(sut).toMatchObject({ memory: '256m', cpus: 0.5 });
      expect(memoryText(2 * 1024 ** 3)).toBe('2g');
      expect(memoryText(1536 * 1024)).toBe('1536k');
      expect(memoryText(6_291_457)).toBe('6291457b');
    });

    it('should record the stop signal and timeout when they are not podman\'s SIGTERM and 10 s (#20 item 6)', () => {
      expect(componentFromContainer({ name: 'db', container: details({ stopSignal: 'SIGQUIT', stopTimeoutSeconds: 30 }) })).toMatchObject({ stop_signal: 'SIGQUIT', stop_timeout: '30s' });
      expect(componentFromContainer({ name: 'db', container: details({ stopSignal: 'SIGTERM', stopTimeoutSeconds: 10 }) })).not.toHaveProperty('stop_signal');
      expect(componentFromContainer({ name: 'db', container: details({ stopSignal: 'SIGTERM', stopTimeoutSeconds: 10 }) })).not.toHaveProperty('stop_timeout');
      // A signal MCP's definition does not accept (SIGRTMIN+3, systemd's) is left for podman's default, not recorded wrong.
      expect(componentFromContainer({ name: 'db', container: details({ stopSignal: 'SIGRTMIN' }) })).not.toHaveProperty('stop_signal');
    });

    it('should leave out what podman sets by default', () => {
      const sut = componentFromContainer({ name: 'app', container: details({ restart: 'no', user: '', network: undefined, stopSignal: 'SIGTERM', stopTimeoutSeconds: 10 }) });

      expect(sut).toEqual({ name: 'app', image: IMAGE, ports: [], volumes: [], cmd: [], env: [], routes: [] });
    });
  });

  describe(AdoptService.name, () => {
    let registry: InMemoryRegistry;
    let runtime: FakeRuntime;
    let sut: AdoptService;

    beforeEach(async () => {
      const clock = new FakeClock(new Date('2026-11-23T12:00:00Z'));
      registry = new InMemoryRegistry({ clock });
      runtime = new FakeRuntime({ images: [IMAGE], clock });
      const moduleRef = await Test.createTestingModule({
        providers: [
          AdoptService,
          { provide: AgentConfig, useValue: makeTestConfig() },
          { provide: ServiceRegistry, useValue: registry },
          { provide: ContainerRuntime, useValue: runtime },
          { provide: LiveContainers, useFactory: () => new LiveContainers(runtime) },
          KeyedMutex,
        ],
      }).compile();
      sut = moduleRef.get(AdoptService);
    });

    describe('adopt', () => {
      it('should take every container of the service under management with one listing', async () => {
        runtime.seedContainer({ name: 'app', image: IMAGE, cmd: ['httpd', '-f'], env: ['PATH=/bin', 'MODE=x'] });
        runtime.seedContainer({ name: 'app-worker', image: 'localhost/mcp-test/busybox:2.0', state: 'exited' });
        runtime.seedContainer({ name: 'other', image: IMAGE });
        runtime.clearCalls();

        const result = await sut.adopt('app');

        expect(runtime.callsTo('list')).toHaveLength(1);
        expect(result.results).toEqual([
          { component: 'app', ok: true, error: '', container: 'app' },
          { component: 'worker', ok: true, error: '', container: 'app-worker' },
        ]);
        expect(result.spec).toEqual(
          expect.objectContaining({
            name: 'app',
            active: true,
            components: [
              expect.objectContaining({ name: 'app', image: IMAGE, cmd: ['httpd', '-f'], env: ['MODE=x'] }),
              expect.objectContaining({ name: 'worker', image: 'localhost/mcp-test/busybox:2.0' }),
            ],
          }),
        );
        expect(result.spec.components[0].network ?? '').toBe('');
        // The response carries it as the proto spec (unset strings empty).
        expect(adoptContainersResponse(result).spec?.components[0]).toEqual(expect.objectContaining({ name: 'app', network: '', user: '' }));
        const record = await registry.getService('app');
        const byName = Object.fromEntries(record!.components.map((component) => [component.name, component]));
        expect(byName.app).toEqual(expect.objectContaining({ desiredState: 'running', observedState: 'running', version: '1.0', containerName: 'app' }));
        expect(byName.app.deployedSpecHash).toBe(componentSpecHash(byName.app.spec));
        expect(byName.worker).toEqual(expect.objectContaining({ desiredState: 'stopped', observedState: 'exited', version: '2.0', containerName: 'app-worker' }));
        expect((await registry.listEvents({ service: 'app' })).map((event) => event.kind)).toEqual([ADOPTED_EVENT, ADOPTED_EVENT]);
        expect(await registry.getService('other')).toBeNull();
      });

      it('should keep a hyphenated known service apart from a shorter one', async () => {
        await registry.saveService({ name: 'mc-proxy', active: true, components: [] });
        runtime.seedContainer({ name: 'mc-proxy', image: IMAGE });
        runtime.seedContainer({ name: 'mc-web', image: IMAGE });

        const result = await sut.adopt('mc');

        expect(result.results.map((entry) => entry.container)).toEqual(['mc-web']);
      });

      it('should refuse a service without containers', async () => {
        runtime.seedContainer({ name: 'other', image: IMAGE });

        await expect(sut.adopt('app')).rejects.toThrow(NotFoundError);
      });

      it('should refuse an invalid service name', async () => {
        await expect(sut.adopt('../app')).rejects.toThrow(InvalidArgumentError);
      });
    });
  });
});
