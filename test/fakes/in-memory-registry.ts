import {
  type BackupPolicy,
  type JobSpec,
  type Clock,
  type ComponentSpec,
  ComponentNotFoundError,
  type DesiredState,
  ServiceNotFoundError,
} from '@mcp/common';
import {
  type BackupIntentRecord,
  type BackupRunRecord,
  type NewBackupRun,
  type JobRunEnd,
  type JobRunRecord,
  type NewJobRun,
  checkEventsAfterQuery,
  checkListEventsQuery,
  EventListeners,
  checkNewEvent,
  checkPruneEventsInput,
  checkRoutes,
  checkSaveServiceInput,
  type ComponentRecord,
  type ComponentStateRecord,
  type CordonRecord,
  type EventRecord,
  HostPortInUseError,
  type NewEvent,
  type NewRelease,
  type ObservedUpdate,
  type ReleaseOutcome,
  type ReleaseRecord,
  type RouteRecord,
  type SaveServiceInput,
  ServiceRegistry,
  type ServiceRecord,
  type SnapshotResult,
} from '@mcp/registry';

interface StoredService {
  name: string;
  active: boolean;
  backup?: BackupPolicy;
  jobs?: JobSpec[];
  createdAt: Date;
  updatedAt: Date;
  components: Map<string, ComponentRecord>;
}

/**
 * A strict in-memory ServiceRegistry for unit tests: the same behaviour as TypeormRegistry
 * (the shared contract test in libs/registry runs against both), with deep copies in and out
 * so callers cannot change stored state by mutating what they passed or got back.
 * `snapshot` is not something a unit test should reach, so it throws; calls after `close`
 * throw too.
 */
export class InMemoryRegistry extends ServiceRegistry {
  private readonly services = new Map<string, StoredService>();
  private events: EventRecord[] = [];
  private nextEventId = 1;
  private cordon: CordonRecord | null = null;
  private releases: ReleaseRecord[] = [];
  private readonly eventListeners = new EventListeners();
  private closed = false;
  private readonly clock: Clock;

  constructor(options: { clock?: Clock } = {}) {
    super();
    this.clock = options.clock ?? { now: () => new Date() };
  }

  async saveService(input: SaveServiceInput): Promise<ServiceRecord> {
    this.assertOpen('saveService');
    checkSaveServiceInput(input);
    const now = this.clock.now();
    let service = this.services.get(input.name);
    if (service) {
      service.active = input.active;
      service.updatedAt = now;
    } else {
      service = { name: input.name, active: input.active, createdAt: now, updatedAt: now, components: new Map() };
      this.services.set(input.name, service);
    }
    if (input.backup === null) delete service.backup;
    else if (input.backup !== undefined) service.backup = clone(input.backup);
    if (input.jobs === null || input.jobs?.length === 0) delete service.jobs;
    else if (input.jobs !== undefined) service.jobs = clone(input.jobs);
    for (const { spec, desiredState } of input.components) {
      const existing = service.components.get(spec.name);
      const stored = clone(withoutUndefined(spec));
      if (existing) {
        existing.spec = stored;
        existing.desiredState = desiredState;
        existing.updatedAt = now;
      } else {
        service.components.set(spec.name, {
          service: input.name,
          name: spec.name,
          spec: stored,
          desiredState,
          observedState: 'unknown',
          version: '',
          containerName: '',
          containerId: '',
          deployedSpecHash: '',
          routes: [],
          createdAt: now,
          updatedAt: now,
        });
      }
    }
    return toRecord(service);
  }

  async getService(name: string): Promise<ServiceRecord | null> {
    this.assertOpen('getService');
    const service = this.services.get(name);
    return service ? toRecord(service) : null;
  }

  async listServices(): Promise<ServiceRecord[]> {
    this.assertOpen('listServices');
    return [...this.services.values()].sort((a, b) => compare(a.name, b.name)).map(toRecord);
  }

  async listComponentStates(): Promise<ComponentStateRecord[]> {
    this.assertOpen('listComponentStates');
    return (await this.listServices()).flatMap((service) =>
      service.components.map(({ service: owner, name, desiredState, observedState, containerName }) => ({ service: owner, name, desiredState, observedState, containerName })),
    );
  }

  async getCordon(): Promise<CordonRecord | null> {
    this.assertOpen('getCordon');
    return this.cordon ? { ...this.cordon, at: new Date(this.cordon.at) } : null;
  }

  async setCordon(cordon: CordonRecord | null): Promise<boolean> {
    this.assertOpen('setCordon');
    if (cordon === null) {
      const changed = this.cordon !== null;
      this.cordon = null;
      return changed;
    }
    if (this.cordon) return false;
    this.cordon = { by: cordon.by, at: new Date(cordon.at) };
    return true;
  }

  async setServiceActive(name: string, active: boolean): Promise<void> {
    this.assertOpen('setServiceActive');
    const service = this.requireService(name);
    service.active = active;
    service.updatedAt = this.clock.now();
  }

  async setDesiredState(input: { service: string; component?: string; state: DesiredState }): Promise<void> {
    this.assertOpen('setDesiredState');
    const now = this.clock.now();
    for (const component of this.targets(input.service, input.component)) {
      component.desiredState = input.state;
      component.updatedAt = now;
    }
  }

  async recordObserved(update: ObservedUpdate): Promise<void> {
    this.assertOpen('recordObserved');
    const component = this.requireComponent(update.service, update.component);
    component.observedState = update.observedState;
    if (update.version !== undefined) component.version = update.version;
    if (update.containerName !== undefined) component.containerName = update.containerName;
    if (update.containerId !== undefined) component.containerId = update.containerId;
    if (update.deployedSpecHash !== undefined) component.deployedSpecHash = update.deployedSpecHash;
    component.updatedAt = this.clock.now();
  }

  async recordDeployment(input: ObservedUpdate & { routes: RouteRecord[] }): Promise<void> {
    const { routes, ...update } = input;
    // Both checks run before either write, so a refused call changes nothing (one transaction).
    checkRoutes(routes);
    this.requireComponent(input.service, input.component);
    await this.setRoutes({ service: input.service, component: input.component, routes });
    await this.recordObserved(update);
  }

  async nextReleaseNumber(service: string): Promise<number> {
    this.assertOpen('nextReleaseNumber');
    return Math.max(0, ...this.releases.filter((r) => r.service === service).map((r) => r.number)) + 1;
  }

  async addRelease(release: NewRelease): Promise<ReleaseRecord> {
    this.assertOpen('addRelease');
    if (this.releases.some((r) => r.service === release.service && r.number === release.number && r.component === release.component)) {
      throw new Error(`UNIQUE constraint failed: release ${release.service}/${release.component} #${release.number}`);
    }
    const { pulled, ...rest } = release;
    const stored: ReleaseRecord = { ...clone(rest), ...(pulled ? { pulled: true } : {}), spec: clone(withoutUndefined(release.spec)), deployedAt: release.deployedAt ?? this.clock.now() };
    this.releases.push(stored);
    return { ...clone(stored), deployedAt: new Date(stored.deployedAt) };
  }

  async setReleaseOutcome(input: { service: string; number: number; component: string; outcome: ReleaseOutcome; message?: string }): Promise<void> {
    this.assertOpen('setReleaseOutcome');
    const found = this.releases.find((r) => r.service === input.service && r.number === input.number && r.component === input.component);
    if (!found) throw new ComponentNotFoundError(input.service, `${input.component} (release ${input.number})`);
    found.outcome = input.outcome;
    if (input.message !== undefined) found.message = input.message;
  }

  async listReleases(query: { service: string; component?: string }): Promise<ReleaseRecord[]> {
    this.assertOpen('listReleases');
    return this.releases
      .filter((r) => r.service === query.service && (query.component === undefined || r.component === query.component))
      .sort((a, b) => b.number - a.number || compare(a.component, b.component))
      .map((r) => ({ ...clone(r), deployedAt: new Date(r.deployedAt) }));
  }

  async setRoutes(input: { service: string; component: string; routes: RouteRecord[] }): Promise<void> {
    this.assertOpen('setRoutes');
    checkRoutes(input.routes);
    const component = this.requireComponent(input.service, input.component);
    for (const route of input.routes) {
      if (route.hostPort === null) continue;
      const holder = this.allocations().find(
        (allocation) =>
          allocation.hostPort === route.hostPort &&
          (allocation.service !== input.service || allocation.component !== input.component),
      );
      if (holder) throw new HostPortInUseError(route.hostPort, { service: holder.service, component: holder.component });
    }
    component.routes = clone(input.routes);
    component.updatedAt = this.clock.now();
  }

  async allocatedHostPorts(): Promise<Array<{ hostPort: number; service: string; component: string }>> {
    this.assertOpen('allocatedHostPorts');
    return this.allocations().sort((a, b) => a.hostPort - b.hostPort);
  }

  async releaseHostPorts(input: { service: string; component?: string }): Promise<void> {
    this.assertOpen('releaseHostPorts');
    for (const component of this.targets(input.service, input.component)) {
      component.routes = component.routes.map((route) => ({ ...route, hostPort: null }));
    }
  }

  async deleteComponent(input: { service: string; component: string }): Promise<void> {
    this.assertOpen('deleteComponent');
    this.requireComponent(input.service, input.component);
    this.services.get(input.service)!.components.delete(input.component);
  }

  async deleteService(name: string): Promise<void> {
    this.assertOpen('deleteService');
    this.requireService(name);
    this.services.delete(name);
  }

  async addEvent(event: NewEvent): Promise<EventRecord> {
    this.assertOpen('addEvent');
    checkNewEvent(event);
    const record: EventRecord = {
      id: this.nextEventId++,
      time: new Date((event.time ?? this.clock.now()).getTime()),
      service: event.service,
      component: event.component,
      kind: event.kind,
      message: event.message,
      fromState: event.fromState ?? '',
      toState: event.toState ?? '',
    };
    this.events.push(record);
    this.eventListeners.notify(record);
    return clone(record);
  }

  onEventAdded(listener: (event: EventRecord) => void): () => void {
    return this.eventListeners.add(listener);
  }

  async eventsAfter(query: { afterId: number; service?: string; limit: number }): Promise<EventRecord[]> {
    this.assertOpen('eventsAfter');
    checkEventsAfterQuery(query);
    const matching = this.events.filter(
      (event) => event.id > query.afterId && (query.service === undefined || event.service === query.service),
    );
    return clone(matching.sort((a, b) => a.id - b.id).slice(0, query.limit));
  }

  async listEvents(query: { service?: string; component?: string; since?: Date; limit?: number }): Promise<EventRecord[]> {
    this.assertOpen('listEvents');
    checkListEventsQuery(query);
    const matching = newestFirst(this.events).filter(
      (event) =>
        (query.service === undefined || event.service === query.service) &&
        (query.component === undefined || event.component === query.component) &&
        (query.since === undefined || event.time.getTime() >= query.since.getTime()),
    );
    return clone(query.limit === undefined ? matching : matching.slice(0, query.limit));
  }

  async pruneEvents(input: { before: Date; keepMax?: number }): Promise<number> {
    this.assertOpen('pruneEvents');
    checkPruneEventsInput(input);
    const before = this.events.length;
    let kept = this.events.filter((event) => event.time.getTime() >= input.before.getTime());
    if (input.keepMax !== undefined) {
      const survivors = new Set(newestFirst(kept).slice(0, input.keepMax));
      kept = kept.filter((event) => survivors.has(event));
    }
    this.events = kept;
    return before - kept.length;
  }

  private jobRuns: JobRunRecord[] = [];

  async addJobRun(run: NewJobRun): Promise<JobRunRecord> {
    this.assertOpen('addJobRun');
    const record: JobRunRecord = { finishedAt: null, exitCode: null, durationMs: 0, output: '', ...clone(run), id: this.jobRuns.length ? this.jobRuns[this.jobRuns.length - 1].id + 1 : 1 };
    this.jobRuns.push(record);
    const mine = this.jobRuns.filter((entry) => entry.service === run.service && entry.job === run.job);
    if (mine.length > 50) {
      const drop = new Set(mine.slice(0, mine.length - 50).map((entry) => entry.id));
      this.jobRuns = this.jobRuns.filter((entry) => !drop.has(entry.id));
    }
    return clone(record);
  }

  async finishJobRun(end: JobRunEnd): Promise<void> {
    this.assertOpen('finishJobRun');
    const run = this.jobRuns.find((entry) => entry.id === end.id);
    if (run) Object.assign(run, clone(end));
  }

  async listJobRuns(query: { service: string; job?: string; limit?: number }): Promise<JobRunRecord[]> {
    this.assertOpen('listJobRuns');
    const runs = this.jobRuns.filter((entry) => entry.service === query.service && (query.job === undefined || entry.job === query.job)).reverse();
    return clone(query.limit === undefined ? runs : runs.slice(0, query.limit));
  }

  async interruptRunningJobRuns(now: Date): Promise<JobRunRecord[]> {
    this.assertOpen('interruptRunningJobRuns');
    const running = this.jobRuns.filter((entry) => entry.result === 'running');
    for (const run of running) Object.assign(run, { result: 'interrupted', finishedAt: now, message: 'the agent stopped while it ran' });
    return clone(running);
  }

  private backupRuns: BackupRunRecord[] = [];
  private readonly intents = new Map<string, BackupIntentRecord>();

  async recordBackupRun(run: NewBackupRun, event?: NewEvent): Promise<BackupRunRecord> {
    this.assertOpen('recordBackupRun');
    if (event) checkNewEvent(event);
    const record = { ...clone(run), id: this.backupRuns.length ? this.backupRuns[this.backupRuns.length - 1].id + 1 : 1 };
    this.backupRuns.push(record);
    const mine = this.backupRuns.filter((entry) => entry.service === run.service);
    if (mine.length > 50) {
      const drop = new Set(mine.slice(0, mine.length - 50).map((entry) => entry.id));
      this.backupRuns = this.backupRuns.filter((entry) => !drop.has(entry.id));
    }
    if (event) await this.addEvent(event);
    return clone(record);
  }

  async listBackupRuns(query: { service?: string; limit?: number }): Promise<BackupRunRecord[]> {
    this.assertOpen('listBackupRuns');
    const runs = this.backupRuns.filter((entry) => query.service === undefined || entry.service === query.service).reverse();
    return clone(query.limit === undefined ? runs : runs.slice(0, query.limit));
  }

  async setBackupIntent(intent: Omit<BackupIntentRecord, 'createdAt'>): Promise<void> {
    this.assertOpen('setBackupIntent');
    this.intents.set(intent.service, clone({ ...intent, createdAt: this.clock.now() }));
  }

  async clearBackupIntent(service: string): Promise<void> {
    this.assertOpen('clearBackupIntent');
    this.intents.delete(service);
  }

  async listBackupIntents(): Promise<BackupIntentRecord[]> {
    this.assertOpen('listBackupIntents');
    return clone([...this.intents.values()].sort((a, b) => compare(a.service, b.service)));
  }

  async snapshot(_input: { path: string }): Promise<SnapshotResult> {
    throw new Error('InMemoryRegistry: unexpected call to snapshot (use TypeormRegistry on a temp file)');
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(method: string): void {
    if (this.closed) throw new Error(`InMemoryRegistry: ${method} called after close`);
  }

  private requireService(name: string): StoredService {
    const service = this.services.get(name);
    if (!service) throw new ServiceNotFoundError(name);
    return service;
  }

  private requireComponent(service: string, component: string): ComponentRecord {
    const found = this.requireService(service).components.get(component);
    if (!found) throw new ComponentNotFoundError(service, component);
    return found;
  }

  private targets(service: string, component?: string): ComponentRecord[] {
    if (component !== undefined) return [this.requireComponent(service, component)];
    return [...this.requireService(service).components.values()];
  }

  private allocations(): Array<{ hostPort: number; service: string; component: string }> {
    const result: Array<{ hostPort: number; service: string; component: string }> = [];
    for (const service of this.services.values()) {
      for (const component of service.components.values()) {
        for (const route of component.routes) {
          if (route.hostPort !== null) result.push({ hostPort: route.hostPort, service: service.name, component: component.name });
        }
      }
    }
    return result;
  }
}

function toRecord(service: StoredService): ServiceRecord {
  return clone({
    name: service.name,
    active: service.active,
    ...(service.backup ? { backup: service.backup } : {}),
    ...(service.jobs ? { jobs: service.jobs } : {}),
    components: [...service.components.values()].sort((a, b) => compare(a.name, b.name)),
    createdAt: service.createdAt,
    updatedAt: service.updatedAt,
  });
}

function newestFirst(events: EventRecord[]): EventRecord[] {
  return [...events].sort((a, b) => b.time.getTime() - a.time.getTime() || b.id - a.id);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The real store keeps the spec as JSON, which drops keys whose value is undefined. */
function withoutUndefined(spec: ComponentSpec): ComponentSpec {
  return JSON.parse(JSON.stringify(spec)) as ComponentSpec;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}
