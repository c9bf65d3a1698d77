import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Clock, ContainerNotFoundError, ContainerNotRunningError, ImageNotFoundError, PortConflictError, RuntimeCommandError } from '@mcp/common';
import {
  ContainerDetails,
  type ExecResult,
  type ExecSession,
  type ExecSessionOptions,
  ContainerEvent,
  ContainerEventStream,
  ContainerRuntime,
  ContainerSummary,
  LocalImage,
  LogChunk,
  LogOptions,
  PortMapping,
  portSpec,
  labelsWithSecretEnv,
  RunOptions,
  SecretInfo,
} from '@mcp/runtime';

/**
 * In-memory ContainerRuntime that behaves like PodmanRuntime where tests can tell:
 * unknown containers give ContainerNotFoundError (inspect gives null, remove is fine), `run`
 * never pulls (the image must have been pulled or seeded, else ImageNotFoundError), a taken
 * name or a host port held by a running container fails like podman, ports are normalised
 * to `hostIP:hostPort:containerPort/proto`. Every call is recorded, so tests can assert
 * "exactly one list() per tick".
 *
 *   const runtime = new FakeRuntime({ images: ['localhost/app:1.0'], clock });
 *   runtime.failNext('pull', new RegistryAuthError('...', { args: [], exitCode: 125, stderr: '' }));
 *   runtime.seedContainer({ name: 'legacy', image: 'localhost/app:0.9' });   // one MCP did not run
 *   runtime.setState('app', 'exited', 1);                                     // a crash
 *   runtime.emitLog('app', 'stdout', 'hello\n');
 *   runtime.callsTo('list');                                                  // [{ method: 'list', args: {} }]
 *   runtime.endEvents();                                                      // podman's service went away
 *
 * Open event streams (`events()`) see create/start/died/remove as podman reports them.
 */
export type FakeRuntimeMethod =
  | 'pull'
  | 'imageExists'
  | 'run'
  | 'stop'
  | 'start'
  | 'restart'
  | 'remove'
  | 'inspect'
  | 'list'
  | 'logs'
  | 'version'
  | 'execIn'
  | 'exec'
  | 'rename'
  | 'imageDigest'
  | 'removeImage'
  | 'events'
  | 'createSecret'
  | 'listSecrets'
  | 'removeSecret'
  | 'readSecret'
  | 'pause'
  | 'unpause'
  | 'volumeMountpoint'
  | 'localImages'
  | 'loadImage'
  | 'loadImageFromRegistry'
  | 'tagImage';

export interface FakeRuntimeCall {
  method: FakeRuntimeMethod;
  /** A shallow copy of the parameter object (`{}` for list and version; no AbortSignal). */
  args: Readonly<Record<string, unknown>>;
}

export interface FakeRuntimeOptions {
  /** Images present locally from the start. */
  images?: string[];
  clock?: Clock;
  version?: string;
}

const SUMMARY_KEYS = [
  'id',
  'name',
  'image',
  'state',
  'status',
  'command',
  'labels',
  'ports',
  'createdAt',
  'startedAt',
  'exitCode',
] as const satisfies ReadonlyArray<keyof ContainerSummary>;

export class FakeRuntime extends ContainerRuntime {
  readonly calls: FakeRuntimeCall[] = [];
  private readonly images: Set<string>;
  private readonly containers = new Map<string, ContainerDetails>();
  /** Secrets by name; values kept so tests can check what a container would read. */
  private readonly secretStore = new Map<string, SecretInfo & { value: Buffer }>();
  private readonly failures = new Map<FakeRuntimeMethod, Error[]>();
  private readonly logBook = new Map<string, LogChunk[]>();
  private readonly logWaiters = new Map<string, Set<() => void>>();
  private readonly clock: Clock | undefined;
  private readonly podmanVersion: string;
  private nextId = 1;
  private readonly digests = new Map<string, string>();
  /** Digests references had before setDigest moved them: still runnable by digest, as in podman. */
  private readonly digestHistory: Array<[string, string]> = [];
  /** `name -> handler` for execIn; without one `false` exits 1 and anything else 0. */
  private readonly execHandlers = new Map<string, (cmd: string[]) => ExecResult>();
  private readonly eventQueues = new Set<{ queue: ContainerEvent[]; wake: () => void; ended: boolean }>();
  /** When false, state changes are not reported to open event streams (a missed event). */
  eventsEnabled = true;

  constructor(options: FakeRuntimeOptions = {}) {
    super();
    this.images = new Set(options.images ?? []);
    this.clock = options.clock;
    this.podmanVersion = options.version ?? '4.3.1';
  }

  // ---- test controls (not part of the port; not recorded in `calls`) ----

  /** The next call of `method` throws `error` (queue several for several calls). */
  failNext(method: FakeRuntimeMethod, error: Error): this {
    const queue = this.failures.get(method) ?? [];
    queue.push(error);
    this.failures.set(method, queue);
    return this;
  }

  addImage(image: string): this {
    this.images.add(image);
    return this;
  }

  hasImage(image: string): boolean {
    return this.images.has(image);
  }

  /** Puts a container in place without a `run` call (one that existed before MCP, for adoption). */
  seedContainer(container: Partial<ContainerDetails> & { name: string; image: string }): ContainerDetails {
    if (this.containers.has(container.name)) throw new Error(`FakeRuntime.seedContainer: "${container.name}" exists`);
    const now = this.now();
    const ports = container.ports ?? (container.portSpecs ?? []).map(parsePort);
    const state = container.state ?? 'running';
    const details: ContainerDetails = {
      id: this.newId(),
      state,
      status: statusFor(state),
      command: [...(container.cmd ?? [])],
      labels: {},
      createdAt: now,
      startedAt: state === 'running' ? now : undefined,
      exitCode: undefined,
      env: [],
      cmd: [],
      volumes: [],
      ...container,
      ports,
      portSpecs: ports.map(portSpec),
    };
    this.images.add(details.image);
    this.containers.set(details.name, copyDetails(details));
    this.emit(details, 'create');
    if (state === 'running') this.emit(details, 'start');
    return copyDetails(details);
  }

  /** Moves a container to a state as if it had crashed, exited or been paused outside MCP. */
  setState(name: string, state: string, exitCode?: number): void {
    const container = this.mustGet(name);
    container.state = state;
    container.status = statusFor(state, exitCode);
    if (state === 'running') {
      container.startedAt = this.now();
      container.exitCode = undefined;
    } else if (exitCode !== undefined || state === 'exited' || state === 'stopped') {
      container.exitCode = exitCode ?? 0;
    }
    const action = state === 'running' ? 'start' : state === 'paused' ? 'pause' : state === 'created' ? 'create' : 'died';
    this.emit(container, action, action === 'died' ? container.exitCode : undefined);
    this.wakeLogs(name);
  }

  /** Appends output to a container's log; followers see it at once. */
  emitLog(name: string, stream: LogChunk['stream'], text: string | Buffer): void {
    this.mustGet(name);
    const chunks = this.logBook.get(name) ?? [];
    chunks.push({ stream, data: Buffer.isBuffer(text) ? Buffer.from(text) : Buffer.from(text, 'utf8') });
    this.logBook.set(name, chunks);
    this.wakeLogs(name);
  }

  /** A copy of the container's current details, without recording a call. */
  container(name: string): ContainerDetails | undefined {
    const found = this.containers.get(name);
    return found && copyDetails(found);
  }

  containerNames(): string[] {
    return [...this.containers.keys()];
  }

  /** Points `image` at another digest (as if its tag was re-pointed to a different image). */
  setDigest(image: string, digest: string): this {
    this.images.add(image);
    this.digestHistory.push([image, this.digests.get(image) ?? fakeDigest(image)]);
    this.digests.set(image, digest);
    return this;
  }

  /** How commands run inside containers named `name` answer (e.g. a failing health command). */
  onExec(name: string, handler: (cmd: string[]) => ExecResult): this {
    this.execHandlers.set(name, handler);
    return this;
  }

  callsTo(method: FakeRuntimeMethod): FakeRuntimeCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  clearCalls(): void {
    this.calls.length = 0;
  }

  /** Ends every open event stream, as podman does when its service stops. */
  endEvents(): void {
    for (const subscriber of this.eventQueues) {
      subscriber.ended = true;
      subscriber.wake();
    }
    this.eventQueues.clear();
  }

  /** How many event streams are open. */
  get openEventStreams(): number {
    return this.eventQueues.size;
  }

  // ---- the port ----

  async pull(options: { image: string; authFile?: string; tlsVerify?: boolean }): Promise<void> {
    this.record('pull', options);
    this.images.add(options.image);
  }

  async imageExists(options: { image: string }): Promise<boolean> {
    this.record('imageExists', options);
    return this.knows(options.image);
  }

  async run(options: RunOptions): Promise<string> {
    this.record('run', options);
    const details = { args: ['run', options.name], exitCode: 125 };
    if (this.containers.has(options.name)) {
      throw new RuntimeCommandError(
        `podman run ${options.name}: the container name "${options.name}" is already in use`,
        {
          ...details,
          stderr: `Error: creating container storage: the container name "${options.name}" is already in use`,
        },
      );
    }
    if (!this.knows(options.image)) {
      throw new ImageNotFoundError(`podman run ${options.name}: ${options.image}: image not known`, {
        ...details,
        stderr: `Error: ${options.image}: image not known`,
      });
    }
    for (const secret of options.secrets ?? []) {
      if (!this.secretStore.has(secret.source)) {
        const stderr = `Error: no secret with name or id "${secret.source}": no such secret`;
        throw new RuntimeCommandError(`podman run ${options.name}: ${stderr.slice(7)}`, { ...details, stderr });
      }
    }
    const ports = options.ports.map(parsePort);
    for (const port of ports) {
      if (this.hostPortTaken(port)) {
        const where = `${port.hostIp || '0.0.0.0'}:${port.hostPort}`;
        throw new PortConflictError(
          `podman run ${options.name}: cannot listen on the TCP port: listen tcp4 ${where}: bind: address already in use`,
          {
            ...details,
            stderr: `Error: cannot listen on the TCP port: listen tcp4 ${where}: bind: address already in use`,
          },
        );
      }
    }
    const now = this.now();
    const container: ContainerDetails = {
      id: this.newId(),
      name: options.name,
      image: options.image,
      state: 'running',
      status: statusFor('running'),
      command: [...options.cmd],
      labels: labelsWithSecretEnv(options),
      ports,
      createdAt: now,
      startedAt: now,
      exitCode: undefined,
      env: [...options.env],
      cmd: [...options.cmd],
      volumes: [...options.volumes],
      portSpecs: ports.map(portSpec),
      network: options.network || undefined,
      user: options.user || undefined,
      restart: options.restart || undefined,
      imageId: `sha256-of-${options.image}`,
      memoryBytes: options.memory ? fakeMemoryBytes(options.memory) : undefined,
      cpus: options.cpus,
      secrets: options.secrets?.length ? options.secrets.map((secret) => secret.source) : undefined,
    };
    this.containers.set(options.name, container);
    this.emit(container, 'create');
    this.emit(container, 'start');
    return container.id;
  }

  async stop(options: { name: string; timeoutSeconds?: number }): Promise<void> {
    this.record('stop', options);
    const container = this.mustGet(options.name);
    if (container.state === 'running' || container.state === 'paused') this.setState(options.name, 'exited', 0);
  }

  async start(options: { name: string }): Promise<void> {
    this.record('start', options);
    const container = this.mustGet(options.name);
    if (container.state !== 'running') this.setState(options.name, 'running');
  }

  async restart(options: { name: string; timeoutSeconds?: number }): Promise<void> {
    this.record('restart', options);
    this.mustGet(options.name);
    this.setState(options.name, 'running');
  }

  async remove(options: { name: string; timeoutSeconds?: number }): Promise<void> {
    this.record('remove', options);
    const removed = this.containers.get(options.name);
    this.containers.delete(options.name);
    if (removed) this.emit(removed, 'remove');
    this.logBook.delete(options.name);
    this.wakeLogs(options.name);
  }

  async inspect(options: { name: string }): Promise<ContainerDetails | null> {
    this.record('inspect', options);
    const found = this.containers.get(options.name);
    return found ? copyDetails(found) : null;
  }

  async list(): Promise<ContainerSummary[]> {
    this.record('list', {});
    return [...this.containers.values()].map(toSummary);
  }

  async version(): Promise<string> {
    this.record('version', {});
    return this.podmanVersion;
  }

  async execIn(options: { name: string; cmd: string[]; timeoutMs: number }): Promise<ExecResult> {
    this.record('execIn', options);
    const container = this.mustGet(options.name);
    if (container.state !== 'running') {
      throw new RuntimeCommandError(`podman exec ${options.name}: container state improper`, {
        args: ['exec', options.name],
        exitCode: 125,
        stderr: 'Error: container state improper',
      });
    }
    const handler = this.execHandlers.get(options.name);
    if (handler) return handler([...options.cmd]);
    return { exitCode: options.cmd[0] === 'false' ? 1 : 0, output: '' };
  }

  /**
   * An exec session answered by the execIn handler: its output comes as one stdout chunk,
   * stdin written to it is echoed on stdout (like `cat`) when the command is `cat`.
   */
  async exec(options: ExecSessionOptions): Promise<ExecSession> {
    this.record('exec', options);
    const container = this.mustGet(options.name);
    if (container.state !== 'running') throw new ContainerNotRunningError(`container ${options.name} is not running`);
    const handler = this.execHandlers.get(options.name);
    const result = handler ? handler([...options.cmd]) : { exitCode: options.cmd[0] === 'false' ? 1 : 0, output: '' };
    const input: Buffer[] = [];
    let ended = !options.stdin;
    let wake: (() => void) | undefined;
    const echo = options.cmd[0] === 'cat';
    async function* output(): AsyncGenerator<LogChunk> {
      if (result.output) yield { stream: 'stdout', data: Buffer.from(result.output) };
      for (;;) {
        const next = input.shift();
        if (next) {
          if (echo) yield { stream: 'stdout', data: next };
          continue;
        }
        if (ended) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    }
    return {
      output: output(),
      write: async (data) => {
        input.push(data);
        wake?.();
      },
      endInput: () => {
        ended = true;
        wake?.();
      },
      resize: async () => true,
      exitCode: async () => result.exitCode,
      close: async () => {
        ended = true;
        wake?.();
      },
    };
  }

  async rename(options: { name: string; newName: string }): Promise<void> {
    this.record('rename', options);
    const container = this.mustGet(options.name);
    if (this.containers.has(options.newName)) {
      throw new RuntimeCommandError(`podman rename ${options.name}: the container name "${options.newName}" is already in use`, {
        args: ['rename', options.name],
        exitCode: 125,
        stderr: `Error: the container name "${options.newName}" is already in use`,
      });
    }
    this.containers.delete(options.name);
    container.name = options.newName;
    this.containers.set(options.newName, container);
    const logs = this.logBook.get(options.name);
    if (logs) {
      this.logBook.delete(options.name);
      this.logBook.set(options.newName, logs);
    }
  }

  async removeImage(options: { image: string }): Promise<void> {
    this.record('removeImage', options);
    const image = options.image.includes('@') ? [...this.images].find((i) => (this.digests.get(i) ?? fakeDigest(i)) === options.image.slice(options.image.indexOf('@') + 1)) : options.image;
    if (!image || !this.images.has(image)) throw new ImageNotFoundError(`podman rmi ${options.image}: image not known`, { args: ['rmi', options.image], exitCode: 1, stderr: `Error: ${options.image}: image not known` });
    if ([...this.containers.values()].some((c) => c.image === image)) throw new Error(`podman rmi ${options.image}: image is in use by a container`);
    this.images.delete(image);
  }

  async imageDigest(options: { image: string }): Promise<string> {
    this.record('imageDigest', options);
    if (!this.images.has(options.image) && !options.image.includes('@')) {
      throw new ImageNotFoundError(`podman image inspect ${options.image}: image not known`, {
        args: ['image', 'inspect', options.image],
        exitCode: 125,
        stderr: `Error: ${options.image}: image not known`,
      });
    }
    if (options.image.includes('@')) return options.image.slice(options.image.indexOf('@') + 1);
    return this.digests.get(options.image) ?? fakeDigest(options.image);
  }

  async createSecret(options: { name: string; value: Buffer }): Promise<SecretInfo> {
    this.record('createSecret', { name: options.name });
    const info: SecretInfo = { id: this.newId(), name: options.name, createdAt: this.now() };
    this.secretStore.set(options.name, { ...info, value: Buffer.from(options.value) });
    return { ...info };
  }

  async listSecrets(): Promise<SecretInfo[]> {
    this.record('listSecrets', {});
    return [...this.secretStore.values()].map(({ id, name, createdAt }) => ({ id, name, createdAt: new Date(createdAt) }));
  }

  async removeSecret(options: { name: string }): Promise<void> {
    this.record('removeSecret', options);
    this.secretStore.delete(options.name);
  }

  async readSecret(options: { name: string }): Promise<Buffer | null> {
    this.record('readSecret', options);
    const stored = this.secretStore.get(options.name);
    return stored ? Buffer.from(stored.value) : null;
  }

  async pause(options: { name: string }): Promise<void> {
    this.record('pause', options);
    const container = this.mustGet(options.name);
    if (container.state !== 'running') {
      throw new RuntimeCommandError(`podman pause ${options.name}: container state improper`, { args: ['pause', options.name], exitCode: 125, stderr: 'Error: container state improper' });
    }
    container.state = 'paused';
  }

  async unpause(options: { name: string }): Promise<void> {
    this.record('unpause', options);
    const container = this.containers.get(options.name);
    if (container?.state === 'paused') container.state = 'running';
  }

  /** Named volumes and their mountpoints (test control: `volumes`). */
  readonly volumes = new Map<string, string>();

  async volumeMountpoint(options: { name: string }): Promise<string | null> {
    this.record('volumeMountpoint', options);
    return this.volumes.get(options.name) ?? null;
  }

  /** Images by ID with their layers' diff IDs (test control; `loadImage` adds to it). */
  readonly localImageStore = new Map<string, string[]>();
  /** Names given by `tagImage`, by reference (test control). */
  readonly tags = new Map<string, string>();
  /**
   * The ID `loadImage` reports instead of the layout's config digest (test control: a podman
   * that would load something else than what was checked).
   */
  loadedIdOverride: string | undefined;

  async localImages(): Promise<LocalImage[]> {
    this.record('localImages', {});
    return [...this.localImageStore].map(([id, layers]) => ({ id, layers: [...layers] }));
  }

  /** Reads the layout like podman would: index.json, the manifest, every blob it can find (missing layers must be stored). */
  async loadImage(options: { layoutDir: string }): Promise<string> {
    this.record('loadImage', options);
    const blob = (digest: string) => fs.readFileSync(path.join(options.layoutDir, 'blobs', 'sha256', digest.slice('sha256:'.length)));
    const index = JSON.parse(fs.readFileSync(path.join(options.layoutDir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const manifest = JSON.parse(blob(index.manifests[0].digest).toString('utf8')) as { config: { digest: string }; layers: { digest: string }[] };
    const stored = new Set([...this.localImageStore.values()].flat());
    for (const layer of manifest.layers) {
      if (!stored.has(layer.digest)) blob(layer.digest);
    }
    const id = this.loadedIdOverride ?? manifest.config.digest;
    this.localImageStore.set(id, manifest.layers.map((layer) => layer.digest));
    return id;
  }

  /**
   * Pulls like podman from the agent's push registry: the manifest, then the config and every
   * layer it does not store, each checked against its digest (podman refuses a blob that does
   * not match, or that breaks off).
   */
  async loadImageFromRegistry(options: { reference: string; signal?: AbortSignal }): Promise<string> {
    this.record('loadImageFromRegistry', options);
    const match = /^(127\.0\.0\.1:\d+)\/(.+):([^:/]+)$/.exec(options.reference);
    if (!match) throw new Error(`fake runtime: ${options.reference} is not a loopback registry reference`);
    const [, host, repository, tag] = match;
    const get = async (what: string): Promise<Buffer> => {
      const answer = await fetch(`http://${host}/v2/${repository}/${what}`);
      if (answer.status !== 200) throw new Error(`fake runtime: GET ${what}: ${answer.status}`);
      return Buffer.from(await answer.arrayBuffer());
    };
    const manifest = JSON.parse((await get(`manifests/${tag}`)).toString('utf8')) as { config: { digest: string }; layers: { digest: string }[] };
    const stored = new Set([...this.localImageStore.values()].flat());
    for (const digest of [manifest.config.digest, ...manifest.layers.map((layer) => layer.digest).filter((d) => !stored.has(d))]) {
      const data = await get(`blobs/${digest}`);
      const actual = `sha256:${createHash('sha256').update(data).digest('hex')}`;
      if (actual !== digest) throw new Error(`fake runtime: Digest did not match, expected ${digest}, got ${actual}`);
    }
    const id = this.loadedIdOverride ?? manifest.config.digest;
    this.localImageStore.set(id, manifest.layers.map((layer) => layer.digest));
    return id;
  }

  async tagImage(options: { image: string; reference: string }): Promise<void> {
    this.record('tagImage', options);
    this.tags.set(options.reference, options.image);
    this.images.add(options.reference);
  }

  /** A stored secret's value (test control; podman never shows it). */
  secretValue(name: string): Buffer | undefined {
    const found = this.secretStore.get(name);
    return found && Buffer.from(found.value);
  }

  async *logs(options: LogOptions): AsyncGenerator<LogChunk> {
    const { signal, ...recorded } = options;
    this.record('logs', recorded);
    this.mustGet(options.name);
    if (signal?.aborted) return;
    const all = this.logBook.get(options.name) ?? [];
    let next = options.tail ? Math.max(0, all.length - options.tail) : 0;
    for (;;) {
      const chunks = this.logBook.get(options.name) ?? [];
      while (next < chunks.length) {
        if (signal?.aborted) return;
        yield copyChunk(chunks[next++]);
      }
      const container = this.containers.get(options.name);
      if (!options.follow || !container || container.state !== 'running' || signal?.aborted) return;
      await this.waitForLog(options.name, signal);
    }
  }

  async events(): Promise<ContainerEventStream> {
    this.record('events', {});
    const subscriber = { queue: [] as ContainerEvent[], wake: () => undefined as void, ended: false };
    this.eventQueues.add(subscriber);
    const close = (): void => {
      subscriber.ended = true;
      this.eventQueues.delete(subscriber);
      subscriber.wake();
    };
    async function* iterate(): AsyncGenerator<ContainerEvent> {
      try {
        for (;;) {
          const next = subscriber.queue.shift();
          if (next) {
            yield next;
            continue;
          }
          if (subscriber.ended) return;
          await new Promise<void>((resolve) => (subscriber.wake = resolve));
        }
      } finally {
        close();
      }
    }
    const iterator = iterate();
    return { close, [Symbol.asyncIterator]: () => iterator };
  }

  // ---- internals ----

  private emit(container: ContainerDetails, action: string, exitCode?: number): void {
    if (!this.eventsEnabled) return;
    const event: ContainerEvent = {
      time: this.now(),
      id: container.id,
      name: container.name,
      image: container.image,
      action,
      exitCode,
      labels: { ...container.labels },
    };
    for (const subscriber of this.eventQueues) {
      subscriber.queue.push({ ...event, labels: { ...event.labels } });
      subscriber.wake();
    }
  }

  private record(method: FakeRuntimeMethod, args: object): void {
    this.calls.push({ method, args: { ...args } });
    const queued = this.failures.get(method)?.shift();
    if (queued) throw queued;
  }

  /** A reference present here: by name, or `repo@digest` naming the digest of an image of that repo. */
  private knows(image: string): boolean {
    if (this.images.has(image)) return true;
    const at = image.indexOf('@');
    if (at < 0) return false;
    const repo = image.slice(0, at);
    const digest = image.slice(at + 1);
    return [...this.images].some((known) => known.startsWith(`${repo}:`) && (this.digests.get(known) ?? fakeDigest(known)) === digest) || [...this.digestHistory].some(([ref, d]) => ref.startsWith(`${repo}:`) && d === digest);
  }

  private mustGet(name: string): ContainerDetails {
    const container = this.containers.get(name);
    if (!container) throw new ContainerNotFoundError(name);
    return container;
  }

  private hostPortTaken(port: PortMapping): boolean {
    for (const container of this.containers.values()) {
      if (container.state !== 'running') continue;
      for (const used of container.ports) {
        const sameIp = !used.hostIp || !port.hostIp || used.hostIp === port.hostIp;
        if (sameIp && used.hostPort === port.hostPort && used.protocol === port.protocol) return true;
      }
    }
    return false;
  }

  private waitForLog(name: string, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.logWaiters.get(name) ?? new Set<() => void>();
      const done = (): void => {
        waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      waiters.add(done);
      this.logWaiters.set(name, waiters);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private wakeLogs(name: string): void {
    for (const wake of [...(this.logWaiters.get(name) ?? [])]) wake();
  }

  private now(): Date {
    return this.clock?.now() ?? new Date();
  }

  private newId(): string {
    return (this.nextId++).toString(16).padStart(64, '0');
  }
}

/** A stable stand-in digest per image reference (the same reference always gives the same digest). */
export function fakeDigest(image: string): string {
  let hash = 0;
  for (const char of image) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return `sha256:${hash.toString(16).padStart(64, '0')}`;
}

/** `[hostIP:]hostPort:containerPort[/proto]` as podman reads `-p`. */
function parsePort(spec: string): PortMapping {
  const match = /^(?:(.+):)?(\d+):(\d+)(?:\/(tcp|udp|sctp))?$/.exec(spec);
  if (!match) {
    throw new RuntimeCommandError(`podman run: invalid port "${spec}"`, {
      args: ['run'],
      exitCode: 125,
      stderr: `Error: invalid port "${spec}"`,
    });
  }
  return {
    hostIp: match[1] ?? '',
    hostPort: Number(match[2]),
    containerPort: Number(match[3]),
    protocol: match[4] ?? 'tcp',
  };
}

function statusFor(state: string, exitCode?: number): string {
  if (state === 'running') return 'Up';
  if (state === 'exited' || state === 'stopped') return `Exited (${exitCode ?? 0})`;
  return state.charAt(0).toUpperCase() + state.slice(1);
}

function toSummary(container: ContainerDetails): ContainerSummary {
  const copy = copyDetails(container);
  const summary: Partial<Record<keyof ContainerSummary, unknown>> = {};
  for (const key of SUMMARY_KEYS) summary[key] = copy[key];
  return summary as ContainerSummary;
}

function fakeMemoryBytes(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([bkmg])?$/i.exec(text);
  if (!match) throw new Error(`FakeRuntime: invalid memory "${text}"`);
  return Math.floor(Number(match[1]) * 1024 ** 'bkmg'.indexOf((match[2] ?? 'b').toLowerCase()));
}

function copyDetails(container: ContainerDetails): ContainerDetails {
  return {
    ...container,
    command: [...container.command],
    labels: { ...container.labels },
    ports: container.ports.map((port) => ({ ...port })),
    env: [...container.env],
    cmd: [...container.cmd],
    volumes: [...container.volumes],
    portSpecs: [...container.portSpecs],
    secrets: container.secrets && [...container.secrets],
    createdAt: container.createdAt && new Date(container.createdAt),
    startedAt: container.startedAt && new Date(container.startedAt),
  };
}

function copyChunk(chunk: LogChunk): LogChunk {
  return { stream: chunk.stream, data: Buffer.from(chunk.data) };
}
