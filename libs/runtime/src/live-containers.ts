import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { applyContainerEvent } from './container-events';
import { ContainerEvent, ContainerEventStream, ContainerRuntime, ContainerSummary, isOneOffContainer } from './container-runtime';

export interface LiveContainersOptions {
  /** Follow podman's events from application bootstrap on; default false (then every read is a listing). */
  follow?: boolean;
  /** First delay before re-opening a stream that ended; doubles up to `maxRetryDelayMs`. Default 250 ms. */
  retryDelayMs?: number;
  /** Default 5 s. */
  maxRetryDelayMs?: number;
  /** The host's clock, which podman stamps its events with; default the real one (tests pass theirs). */
  now?: () => Date;
}

/** What happened to one container, as a listing would show it; `after` undefined = removed. */
export interface ContainerChange {
  name: string;
  before?: ContainerSummary;
  after?: ContainerSummary;
  /** `event`: from podman's stream; `reconcile`: a listing found it (the stream missed it, or it was not open). */
  source: 'event' | 'reconcile';
}

export type ContainerChangeListener = (change: ContainerChange) => void;

/**
 * The node's containers kept in memory from podman's event stream (SPEC §10 "Live observed
 * state"). A listing (`reconcile`) replaces the memory wholesale and is taken at once whenever
 * the stream (re)opens, so whatever happened while it was closed is found; the monitor's tick
 * reconciles too, correcting anything the stream missed. Reads (`current`) answer from memory
 * while the stream is open and a listing has been taken since; otherwise they list (the
 * answer is never older than what podman would say). Listings are shared: a read during a
 * reconciliation waits for it rather than listing again.
 */
export class LiveContainers implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(LiveContainers.name);
  private readonly byId = new Map<string, ContainerSummary>();
  /** Event sequence number of the last event per container id (removed ones included). */
  private readonly touched = new Map<string, number>();
  /** podman's time of the last event applied per container id (ms). */
  private readonly touchedAt = new Map<string, number>();
  /** When the last listing that replaced the memory was asked for (ms): older events are in it. */
  private listedAt = Number.NEGATIVE_INFINITY;
  private readonly listeners = new Set<ContainerChangeListener>();
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly now: () => Date;
  private eventSeq = 0;
  private stream: ContainerEventStream | undefined;
  /** The stream generation the memory was last listed under (0: never). */
  private syncedGeneration = 0;
  private generation = 0;
  /** The listing on its way (or queued), and the time it is asked for at the earliest (ms). */
  private inflight: { askedFrom: number; promise: Promise<ContainerSummary[]> } | undefined;
  /** When the agent's own last container write finished (ms): older events are in the listing it calls for. */
  private writtenAt = Number.NEGATIVE_INFINITY;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wakeRetry: (() => void) | undefined;
  private opened = 0;

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly options: LiveContainersOptions = {},
  ) {
    this.retryDelayMs = options.retryDelayMs ?? 250;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 5000;
    this.now = options.now ?? (() => new Date());
  }

  onApplicationBootstrap(): void {
    if (this.options.follow) this.follow();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  /** Starts following podman's events (idempotent). */
  follow(): void {
    if (this.loop) return;
    this.stopped = false;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stream?.close();
    this.wakeRetry?.();
    await this.loop;
    this.loop = undefined;
  }

  /**
   * The agent has just changed a container (podman's events about it arrive a little later):
   * the memory may be behind, so reads list until a listing asked for after this write has
   * replaced it, and while following one is taken at once. Events that happened before the
   * write are in that listing: they are dropped rather than applied late (a deploy's
   * `create`, delivered after the deploy saw the container running, read as "created" and
   * raised a false drift alert).
   */
  invalidate(): void {
    this.syncedGeneration = 0;
    this.writtenAt = this.now().getTime();
    if (this.stream) {
      this.reconcile().catch((error: unknown) => this.logger.warn(`listing after a container change failed: ${(error as Error).message}`));
    }
  }

  /** Whether the event stream is open and the memory is current. */
  get live(): boolean {
    return this.stream !== undefined && this.syncedGeneration === this.generation;
  }

  /** How many times an event stream was opened (diagnostics and tests). */
  get streamsOpened(): number {
    return this.opened;
  }

  /** Called for every change, from events and from reconciliations alike. */
  onChange(listener: ContainerChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every container: from memory while live, else one listing. */
  async current(): Promise<ContainerSummary[]> {
    if (this.live) return this.snapshot();
    return this.reconcile();
  }

  /** The memory as it is, without any runtime call. */
  snapshot(): ContainerSummary[] {
    return [...this.byId.values()];
  }

  /**
   * One listing replaces the memory; a container an event touched while the listing was on
   * its way keeps the event's word when the event happened after the listing was asked for
   * (the listing may predate it). podman delivers events a little late: one that happened
   * before the listing was asked for is already in it, and must not take a container back
   * (a deploy's `create`, applied after the listing showed it running, read as "created" and
   * raised a false drift alert). Resolves to the new memory. A caller joins the listing on
   * its way unless the agent changed a container after it was asked for: then a fresh one is
   * queued behind it (a read after a write never gets a listing from before the write).
   */
  reconcile(): Promise<ContainerSummary[]> {
    const last = this.inflight;
    if (last && last.askedFrom >= this.writtenAt) return last.promise;
    const entry = {
      askedFrom: this.now().getTime(),
      promise: (last ? last.promise.then(noop, noop) : Promise.resolve()).then(() => this.listOnce()),
    };
    this.inflight = entry;
    const clear = () => {
      if (this.inflight === entry) this.inflight = undefined;
    };
    entry.promise.then(clear, clear);
    return entry.promise;
  }

  private async listOnce(): Promise<ContainerSummary[]> {
    const seqAtStart = this.eventSeq;
    const askedAt = this.now().getTime();
    const generation = this.stream ? this.generation : -1;
    const listed = (await this.runtime.list()).filter((container) => !isOneOffContainer(container));
    const eventWins = (id: string) => (this.touched.get(id) ?? 0) > seqAtStart && (this.touchedAt.get(id) ?? 0) >= askedAt;
    const fresh = new Map(listed.map((c) => [c.id, c]));
    const changes: ContainerChange[] = [];
    for (const [id, before] of this.byId) {
      if (eventWins(id)) continue;
      const after = fresh.get(id);
      if (!after) {
        this.byId.delete(id);
        changes.push({ name: before.name, before, source: 'reconcile' });
      } else if (differs(before, after)) {
        this.byId.set(id, after);
        changes.push({ name: after.name, before, after, source: 'reconcile' });
      } else {
        this.byId.set(id, after);
      }
    }
    for (const [id, after] of fresh) {
      if (this.byId.has(id) || eventWins(id)) continue;
      this.byId.set(id, after);
      changes.push({ name: after.name, after, source: 'reconcile' });
    }
    for (const [id, seq] of this.touched) {
      if (seq <= seqAtStart || !eventWins(id)) {
        this.touched.delete(id);
        this.touchedAt.delete(id);
      }
    }
    this.listedAt = Math.max(this.listedAt, askedAt);
    // A write since this listing was asked for leaves the memory behind it: not synced.
    if (generation === this.generation && askedAt >= this.writtenAt) this.syncedGeneration = generation;
    for (const change of changes) this.notify(change);
    return this.snapshot();
  }

  private apply(event: ContainerEvent): void {
    if (isOneOffContainer(event)) return;
    const before = this.byId.get(event.id);
    // Only a create brings in a container memory does not hold: any other event for an
    // unknown id is a late one for a container a listing already found removed (applied,
    // it would bring a ghost back). A container missed otherwise is found by a listing.
    if (!before && event.action !== 'create') return;
    // Late delivery (or a replay) of something the last listing already shows, or that the
    // listing called for by the agent's own last write will.
    if (event.time.getTime() < this.listedAt || event.time.getTime() <= this.writtenAt) return;
    const after = applyContainerEvent(before, event);
    if (after === before || after === undefined) return;
    this.touched.set(event.id, ++this.eventSeq);
    this.touchedAt.set(event.id, event.time.getTime());
    if (after === null) {
      if (!before) return;
      this.byId.delete(event.id);
      this.notify({ name: before.name, before, source: 'event' });
      return;
    }
    this.byId.set(event.id, after);
    this.notify({ name: after.name, before, after, source: 'event' });
  }

  private notify(change: ContainerChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.logger.error(`container change listener failed: ${(error as Error).message}`);
      }
    }
  }

  private async run(): Promise<void> {
    let delay = this.retryDelayMs;
    let lastProblem = '';
    while (!this.stopped) {
      try {
        const stream = await this.runtime.events();
        if (this.stopped) {
          stream.close();
          break;
        }
        this.stream = stream;
        this.generation++;
        this.opened++;
        if (lastProblem) this.logger.log('podman event stream re-opened; reconciling');
        lastProblem = '';
        delay = this.retryDelayMs;
        // Whatever happened while no stream was open is found by a listing taken now.
        this.reconcile().catch((error: unknown) =>
          this.logger.warn(`reconciliation after opening the event stream failed: ${(error as Error).message}`),
        );
        for await (const event of stream) this.apply(event);
        if (!this.stopped) lastProblem = 'ended';
      } catch (error) {
        lastProblem = (error as Error).message;
      } finally {
        this.stream = undefined;
      }
      if (this.stopped) break;
      this.logger.warn(`podman event stream ${lastProblem === 'ended' ? 'ended' : `unavailable: ${lastProblem}`}; re-opening in ${delay} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        timer.unref?.();
        this.wakeRetry = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeRetry = undefined;
      delay = Math.min(delay * 2, this.maxRetryDelayMs);
    }
  }
}

function noop(): void {}

function differs(a: ContainerSummary, b: ContainerSummary): boolean {
  return a.state !== b.state || a.name !== b.name || a.image !== b.image;
}

/** Container-changing calls of the port: each tells `onWrite` when it has finished. */
const WRITES: ReadonlySet<keyof ContainerRuntime> = new Set<keyof ContainerRuntime>(['run', 'stop', 'start', 'restart', 'remove', 'rename']);

/** The runtime with `onWrite` called after each container-changing call, failed ones included. */
export function noticingWrites(runtime: ContainerRuntime, onWrite: () => void): ContainerRuntime {
  return new Proxy(runtime, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (!WRITES.has(property as keyof ContainerRuntime)) return method.bind(target);
      return async (...args: unknown[]) => {
        try {
          return await method.apply(target, args);
        } finally {
          onWrite();
        }
      };
    },
  });
}
