import {
  ContainerNotFoundError,
  ImageNotFoundError,
  PortConflictError,
  RegistryAuthError,
  RuntimeCommandError,
} from '@mcp/common';
import { LogChunk, RunOptions } from '@mcp/runtime';
import { FakeClock } from './fake-clock';
import { FakeRuntime } from './fake-runtime';

const IMAGE = 'localhost/app:1.0';

function runOptions(overrides: Partial<RunOptions> & { name: string }): RunOptions {
  return { image: IMAGE, ports: [], volumes: [], env: [], cmd: [], labels: {}, ...overrides };
}

async function collect(stream: AsyncIterable<LogChunk>): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += `${chunk.stream}:${chunk.data.toString('utf8')}`;
  return text;
}

describe(FakeRuntime.name, () => {
  let clock: FakeClock;
  let sut: FakeRuntime;

  beforeEach(() => {
    clock = new FakeClock(new Date('2026-03-01T10:00:00Z'));
    sut = new FakeRuntime({ images: [IMAGE], clock });
  });

  describe('run', () => {
    it('should keep what it was given and report it like podman does', async () => {
      const id = await sut.run(
        runOptions({
          name: 'notes',
          network: 'mcp',
          user: '0:0',
          restart: 'always',
          ports: ['127.0.0.1:18080:8080', '9000:9000/udp'],
          volumes: ['/srv/notes:/data'],
          env: ['A=1'],
          cmd: ['serve'],
          labels: { 'mcp.managed': 'true' },
        }),
      );

      expect(await sut.inspect({ name: 'notes' })).toEqual({
        id,
        name: 'notes',
        image: IMAGE,
        state: 'running',
        status: 'Up',
        command: ['serve'],
        labels: { 'mcp.managed': 'true' },
        ports: [
          { hostIp: '127.0.0.1', hostPort: 18080, containerPort: 8080, protocol: 'tcp' },
          { hostIp: '', hostPort: 9000, containerPort: 9000, protocol: 'udp' },
        ],
        portSpecs: ['127.0.0.1:18080:8080/tcp', '9000:9000/udp'],
        createdAt: clock.now(),
        startedAt: clock.now(),
        env: ['A=1'],
        cmd: ['serve'],
        volumes: ['/srv/notes:/data'],
        network: 'mcp',
        user: '0:0',
        restart: 'always',
        imageId: expect.any(String),
      });
    });

    it('should not pull: an image nobody pulled is ImageNotFoundError', async () => {
      await expect(sut.run(runOptions({ name: 'x', image: 'localhost/other:1.0' }))).rejects.toBeInstanceOf(
        ImageNotFoundError,
      );

      await sut.pull({ image: 'localhost/other:1.0' });
      await expect(sut.run(runOptions({ name: 'x', image: 'localhost/other:1.0' }))).resolves.toEqual(
        expect.any(String),
      );
    });

    it('should refuse a taken name', async () => {
      await sut.run(runOptions({ name: 'a' }));

      await expect(sut.run(runOptions({ name: 'a' }))).rejects.toThrow(RuntimeCommandError);
    });

    it('should refuse a host port a running container holds, and allow it once that one stops', async () => {
      await sut.run(runOptions({ name: 'a', ports: ['127.0.0.1:18080:8080'] }));

      await expect(sut.run(runOptions({ name: 'b', ports: ['18080:80'] }))).rejects.toBeInstanceOf(PortConflictError);
      await sut.stop({ name: 'a' });
      await expect(sut.run(runOptions({ name: 'b', ports: ['18080:80'] }))).resolves.toEqual(expect.any(String));
    });
  });

  describe('lifecycle', () => {
    it('should stop, start and restart, moving the start time with the clock', async () => {
      await sut.run(runOptions({ name: 'a' }));

      await sut.stop({ name: 'a', timeoutSeconds: 1 });
      expect(await sut.inspect({ name: 'a' })).toMatchObject({ state: 'exited', exitCode: 0 });
      clock.advance(60_000);
      await sut.start({ name: 'a' });
      expect(await sut.inspect({ name: 'a' })).toMatchObject({
        state: 'running',
        exitCode: undefined,
        startedAt: clock.now(),
      });
      clock.advance(60_000);
      await sut.restart({ name: 'a' });
      expect((await sut.inspect({ name: 'a' }))?.startedAt).toEqual(clock.now());
    });

    it.each(['stop', 'start', 'restart'] as const)(
      'should %s an unknown container with ContainerNotFoundError',
      async (method) => {
        await expect(sut[method]({ name: 'ghost' })).rejects.toBeInstanceOf(ContainerNotFoundError);
      },
    );

    it('should remove a container, and accept removing one that does not exist', async () => {
      await sut.run(runOptions({ name: 'a' }));

      await sut.remove({ name: 'a' });
      await sut.remove({ name: 'a' });

      expect(await sut.inspect({ name: 'a' })).toBeNull();
      expect(await sut.list()).toEqual([]);
    });
  });

  describe('list', () => {
    it('should list summaries only, including seeded containers nobody ran', async () => {
      await sut.run(runOptions({ name: 'a', cmd: ['x'] }));
      sut.seedContainer({ name: 'legacy', image: 'localhost/legacy:0.1', state: 'exited', exitCode: 2 });

      const listed = await sut.list();

      expect(listed.map((container) => container.name)).toEqual(['a', 'legacy']);
      expect(Object.keys(listed[0]).sort()).toEqual(
        [
          'command',
          'createdAt',
          'exitCode',
          'id',
          'image',
          'labels',
          'name',
          'ports',
          'startedAt',
          'state',
          'status',
        ].sort(),
      );
      expect(listed[1]).toMatchObject({ state: 'exited', exitCode: 2, startedAt: undefined });
    });

    it('should hand out copies that do not change the fake', async () => {
      await sut.run(runOptions({ name: 'a', labels: { k: 'v' } }));

      const [listed] = await sut.list();
      listed.labels.k = 'changed';

      expect((await sut.inspect({ name: 'a' }))?.labels).toEqual({ k: 'v' });
    });
  });

  describe('calls and failures', () => {
    it('should record every port call with its parameters', async () => {
      await sut.list();
      await sut.imageExists({ image: IMAGE });
      await sut.version();

      expect(sut.calls).toEqual([
        { method: 'list', args: {} },
        { method: 'imageExists', args: { image: IMAGE } },
        { method: 'version', args: {} },
      ]);
      expect(sut.callsTo('list')).toHaveLength(1);
    });

    it('should throw a scripted failure once, on the next call of that method only', async () => {
      const error = new RegistryAuthError('podman pull x: unauthorized', {
        args: ['pull'],
        exitCode: 125,
        stderr: 'unauthorized',
      });
      sut.failNext('pull', error);

      await expect(sut.pull({ image: 'x' })).rejects.toBe(error);
      await expect(sut.pull({ image: 'x' })).resolves.toBeUndefined();
      expect(sut.callsTo('pull')).toHaveLength(2);
    });

    it('should fail logs with a scripted error when iterated', async () => {
      await sut.run(runOptions({ name: 'a' }));
      sut.failNext('logs', new ContainerNotFoundError('a'));

      await expect(collect(sut.logs({ name: 'a' }))).rejects.toBeInstanceOf(ContainerNotFoundError);
    });
  });

  describe('logs', () => {
    beforeEach(async () => {
      await sut.run(runOptions({ name: 'a' }));
      sut.emitLog('a', 'stdout', 'one\n');
      sut.emitLog('a', 'stderr', 'two\n');
      sut.emitLog('a', 'stdout', 'three\n');
    });

    it('should give everything, or the last N chunks with tail', async () => {
      expect(await collect(sut.logs({ name: 'a' }))).toBe('stdout:one\nstderr:two\nstdout:three\n');
      expect(await collect(sut.logs({ name: 'a', tail: 2 }))).toBe('stderr:two\nstdout:three\n');
    });

    it('should follow new output until the container stops', async () => {
      const followed = collect(sut.logs({ name: 'a', follow: true, tail: 1 }));
      await Promise.resolve();
      sut.emitLog('a', 'stdout', 'four\n');
      await sut.stop({ name: 'a' });

      expect(await followed).toBe('stdout:three\nstdout:four\n');
    });

    it('should end a follow when the signal aborts', async () => {
      const controller = new AbortController();
      const followed = collect(sut.logs({ name: 'a', follow: true, tail: 1, signal: controller.signal }));
      await Promise.resolve();
      controller.abort();

      expect(await followed).toBe('stdout:three\n');
      expect(sut.callsTo('logs')[0].args).toEqual({ name: 'a', follow: true, tail: 1 });
    });

    it('should report an unknown container as ContainerNotFoundError', async () => {
      await expect(collect(sut.logs({ name: 'ghost' }))).rejects.toBeInstanceOf(ContainerNotFoundError);
    });
  });
});
