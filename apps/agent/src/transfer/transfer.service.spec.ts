import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Test } from '@nestjs/testing';
import { Failpoints, NotFoundError, PathOutsideServiceError, ServiceNotFoundError } from '@mcp/common';
import { ServiceRegistry } from '@mcp/registry';
import { ContainerRuntime } from '@mcp/runtime';
import { FakeClock, FakeRuntime, InMemoryRegistry } from '../../../../test/fakes';
import { makeTestConfig } from '../../../../test/support/test-config';
import { AgentConfig } from '../config/agent-config';
import type { StreamSink } from '../streaming/stream-call';
import { transferCancelled, TransferService, type FilePushPart, type LogChunk, type LogsQuery } from './transfer.service';

const IMAGE = 'localhost/mcp-test/busybox:1.0';

/** A logs sink that keeps what was sent; `cancel()` is the client going away. */
class RecordingSink implements StreamSink<LogChunk> {
  readonly written: LogChunk[] = [];
  private readonly controller = new AbortController();
  readonly signal = this.controller.signal;
  async send(chunk: LogChunk): Promise<void> {
    if (this.signal.aborted) throw transferCancelled();
    this.written.push(chunk);
  }
  cancel(): void {
    this.controller.abort(transferCancelled());
  }
}

/** A client stream for push: the given messages, with `between` run before the stream ends. */
class PushCall {
  constructor(
    private readonly messages: FilePushPart[],
    private readonly beforeEnd: () => void = () => undefined,
  ) {}
  async *[Symbol.asyncIterator](): AsyncGenerator<FilePushPart> {
    for (const message of this.messages) yield message;
    this.beforeEnd();
  }
  asInput(): Parameters<TransferService['push']>[0] {
    return { messages: this[Symbol.asyncIterator](), signal: new AbortController().signal, onHeader: () => undefined };
  }
}

function logsQuery(overrides: Partial<LogsQuery>): LogsQuery {
  return { service: 'app', component: '', follow: false, timestamps: false, ...overrides };
}

describe(TransferService.name, () => {
  let registry: InMemoryRegistry;
  let runtime: FakeRuntime;
  let sut: TransferService;
  let config: AgentConfig;

  async function register(service: string, components: string[]): Promise<void> {
    await registry.saveService({
      name: service,
      active: true,
      components: components.map((name) => ({ spec: { name, image: IMAGE, ports: [], volumes: [], cmd: [], env: [], routes: [] }, desiredState: 'running' as const })),
    });
    for (const name of components) {
      const container = name === service ? service : `${service}-${name}`;
      runtime.seedContainer({ name: container, image: IMAGE });
      runtime.emitLog(container, 'stdout', `from ${container}\n`);
    }
  }

  beforeEach(async () => {
    const clock = new FakeClock();
    registry = new InMemoryRegistry({ clock });
    runtime = new FakeRuntime({ images: [IMAGE], clock });
    const moduleRef = await Test.createTestingModule({
      providers: [
        TransferService,
        { provide: AgentConfig, useValue: (config = makeTestConfig()) },
        { provide: ServiceRegistry, useValue: registry },
        { provide: ContainerRuntime, useValue: runtime },
        { provide: Failpoints, useValue: new Failpoints() },
      ],
    }).compile();
    sut = moduleRef.get(TransferService);
  });

  describe('push', () => {
    const content = Buffer.from('hello');
    const header = (file: string) => ({ service: 'app', path: file, mode: 0, size: content.length, sha256: createHash('sha256').update(content).digest('hex') });

    it('should write the file under the service directory', async () => {
      await expect(sut.push(new PushCall([{ header: header('sub/f.txt') }, { chunk: content }]).asInput())).resolves.toMatchObject({ path: 'sub/f.txt', size: 5 });

      expect(fs.readFileSync(path.join(config.agent.srvRoot, 'app', 'sub', 'f.txt'), 'utf8')).toBe('hello');
    });

    it('should give the file the mtime of the header, to the millisecond, or leave the time of the push with 0', async () => {
      const pushedAt = Date.now();
      await sut.push(new PushCall([{ header: { ...header('dated.txt'), mtimeMs: 1_600_000_000_123 } }, { chunk: content }]).asInput());
      await sut.push(new PushCall([{ header: { ...header('now.txt'), mtimeMs: 0 } }, { chunk: content }]).asInput());

      expect(Math.floor(fs.statSync(path.join(config.agent.srvRoot, 'app', 'dated.txt')).mtimeMs)).toBe(1_600_000_000_123);
      expect(fs.statSync(path.join(config.agent.srvRoot, 'app', 'now.txt')).mtimeMs).toBeGreaterThanOrEqual(pushedAt - 1000);
    });

    it('should check the path again right before the rename (a directory swapped for a symlink mid-push)', async () => {
      const serviceDir = path.join(config.agent.srvRoot, 'app');
      const outside = path.join(path.dirname(config.agent.srvRoot), 'outside');
      fs.mkdirSync(path.join(serviceDir, 'sub'), { recursive: true });
      // While the data streams in, the parent directory moves outside and a symlink takes its
      // place (what a container with the volume mounted could do): the temp file moves along.
      const swap = () => {
        fs.renameSync(path.join(serviceDir, 'sub'), outside);
        fs.symlinkSync(outside, path.join(serviceDir, 'sub'));
      };

      await expect(sut.push(new PushCall([{ header: header('sub/f.txt') }, { chunk: content }], swap).asInput())).rejects.toThrow(PathOutsideServiceError);

      expect(fs.existsSync(path.join(outside, 'f.txt'))).toBe(false);
      expect(fs.readdirSync(outside)).toEqual([]);
    });
  });

  describe('logs', () => {
    it.each([
      [['worker'], '', 'app-worker'],
      [['app', 'worker'], '', 'app'],
      [['web', 'worker'], '', 'app-web'],
      [['app', 'worker'], 'worker', 'app-worker'],
    ])('should pick the container of components %j given %j: %s', async (components, component, container) => {
      await register('app', components);
      const call = new RecordingSink();

      await sut.logs({ query: logsQuery({ component }), sink: call });

      expect(call.written.map((message) => message.data.toString())).toEqual([`from ${container}\n`]);
      expect(runtime.callsTo('logs')).toEqual([expect.objectContaining({ method: 'logs', args: expect.objectContaining({ name: container }) })]);
    });

    it('should pass tail, since, follow and timestamps on', async () => {
      await register('app', ['app']);
      const call = new RecordingSink();

      await sut.logs({ query: logsQuery({ tail: 5, since: '10m', timestamps: true }), sink: call });

      expect(runtime.callsTo('logs')[0].args).toEqual(expect.objectContaining({ name: 'app', tail: 5, since: '10m', timestamps: true, follow: false }));
    });

    it('should refuse an unknown service or component', async () => {
      await register('app', ['app']);
      const call = new RecordingSink();

      await expect(sut.logs({ query: logsQuery({ service: 'nope' }), sink: call })).rejects.toThrow(ServiceNotFoundError);
      await expect(sut.logs({ query: logsQuery({ component: 'nope' }), sink: call })).rejects.toThrow(NotFoundError);
    });

    it('should end a followed stream when the client cancels', async () => {
      await register('app', ['app']);
      const call = new RecordingSink();

      const streaming = sut.logs({ query: logsQuery({ follow: true }), sink: call });
      await new Promise((resolve) => setImmediate(resolve));
      call.cancel();

      await expect(streaming).resolves.toBeUndefined();
      expect(call.written.map((message) => message.data.toString())).toEqual(['from app\n']);
    });
  });
});
