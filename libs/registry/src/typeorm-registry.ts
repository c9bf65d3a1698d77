import 'reflect-metadata';
import * as fs from 'node:fs';
import type Database from 'better-sqlite3';
import { DataSource, type EntityManager, In } from 'typeorm';
import { BetterSqlite3Driver } from 'typeorm/driver/better-sqlite3/BetterSqlite3Driver';
import type { OnApplicationShutdown } from '@nestjs/common';
import {
  type BackupPolicy,
  type JobSpec,
  type Clock,
  type ComponentSpec,
  ComponentNotFoundError,
  type DesiredState,
  ServiceNotFoundError,
} from '@mcp/common';
import { REGISTRY_MIGRATIONS } from './migrations';
import { HostPortInUseError } from './registry-errors';
import {
  BackupIntentEntity,
  BackupRunEntity,
  ComponentCmdEntity,
  ComponentEntity,
  ComponentEnvEntity,
  ComponentPortEntity,
  ComponentVolumeEntity,
  EventEntity,
  NodeSettingEntity,
  JobRunEntity,
  REGISTRY_ENTITIES,
  ReleaseEntity,
  RouteEntity,
  ServiceEntity,
} from './registry.entities';
import { ensureDatabaseFile, restrictDatabaseFiles, vacuumInto } from './registry-snapshot';
import { acquireSharedQueue, releaseSharedQueue, type SerialQueue } from './serial-queue';
import {
  type BackupIntentRecord,
  type BackupRunRecord,
  type NewBackupRun,
  JOB_OUTPUT_KEPT,
  JOB_RUNS_KEPT,
  type JobRunEnd,
  type JobRunRecord,
  type JobRunResult,
  type NewJobRun,
  type ComponentRecord,
  type ComponentStateRecord,
  type CordonRecord,
  type EventRecord,
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
} from './service-registry';
import {
  checkEventsAfterQuery,
  checkListEventsQuery,
  EventListeners,
  checkNewEvent,
  checkPruneEventsInput,
  checkRoutes,
  checkSaveServiceInput,
} from './registry-input';

/** How long a writer waits for another connection's lock before SQLITE_BUSY (ms). */
const BUSY_TIMEOUT_MS = 5000;
/** The node_settings key present while the node is cordoned. */
const CORDON_KEY = 'cordon';

export interface TypeormRegistryOptions {
  /** The SQLite file; created (mode 0600, parent directories too) when missing. */
  path: string;
  logger?: (msg: string) => void;
  /** Source of `createdAt`/`updatedAt` and default event times; the system clock by default. */
  clock?: Clock;
}

const LIST_TABLES = [
  { entity: ComponentPortEntity, field: 'ports' },
  { entity: ComponentVolumeEntity, field: 'volumes' },
  { entity: ComponentCmdEntity, field: 'cmd' },
  { entity: ComponentEnvEntity, field: 'env' },
] as const;

/** Rows per INSERT of a spec's list values (4 bound variables each, far below SQLite's 32 766). */
const LIST_INSERT_BATCH = 500;

/**
 * ServiceRegistry on SQLite through TypeORM and better-sqlite3: WAL journal, foreign keys on,
 * schema by migrations at open. Operations on one file run one at a time within this process
 * (a SerialQueue shared by every instance on that file). Writes take the write lock up front
 * (`BEGIN IMMEDIATE`), so a writer in another process makes them wait (busy_timeout) instead
 * of failing half-way through a transaction.
 */
export class TypeormRegistry extends ServiceRegistry implements OnApplicationShutdown {
  private closed = false;
  private readonly eventListeners = new EventListeners();

  private constructor(
    private readonly dataSource: DataSource,
    private readonly file: string,
    /** The file's real path: the key of the queue shared with this process's other instances. */
    private readonly queueKey: string,
    private readonly queue: SerialQueue,
    private readonly clock: Clock,
  ) {
    super();
  }

  static async open(options: TypeormRegistryOptions): Promise<TypeormRegistry> {
    const log = options.logger ?? (() => undefined);
    ensureDatabaseFile(options.path);
    const key = fs.realpathSync(options.path);
    const queue = acquireSharedQueue(key);
    try {
      const dataSource = await queue.run(() => TypeormRegistry.initialize(options.path, log));
      log(`registry: opened ${options.path}`);
      return new TypeormRegistry(dataSource, options.path, key, queue, options.clock ?? { now: () => new Date() });
    } catch (error) {
      releaseSharedQueue(key);
      throw error;
    }
  }

  private static async initialize(file: string, log: (msg: string) => void): Promise<DataSource> {
    const dataSource = new DataSource({
      type: 'better-sqlite3',
      database: file,
      entities: REGISTRY_ENTITIES,
      migrations: REGISTRY_MIGRATIONS,
      migrationsTableName: 'migrations',
      synchronize: false,
      migrationsRun: false,
      enableWAL: true,
      timeout: BUSY_TIMEOUT_MS,
      prepareDatabase: (db: Database.Database) => {
        db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      },
    });
    await dataSource.initialize();
    try {
      const runner = dataSource.createQueryRunner();
      // The write lock first, so two processes opening a new file cannot both migrate it.
      await runner.query('BEGIN IMMEDIATE');
      try {
        const applied = await dataSource.runMigrations({ transaction: 'none' });
        await runner.query('COMMIT');
        for (const migration of applied) log(`registry: applied migration ${migration.name}`);
      } catch (error) {
        await runner.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
      restrictDatabaseFiles(file);
      return dataSource;
    } catch (error) {
      await dataSource.destroy();
      throw error;
    }
  }

  async saveService(input: SaveServiceInput): Promise<ServiceRecord> {
    checkSaveServiceInput(input);
    return this.write(async (em) => {
      const now = this.now();
      const existing = await em.findOneBy(ServiceEntity, { name: input.name });
      const backup = input.backup === undefined ? {} : { backupJson: input.backup === null ? null : JSON.stringify(input.backup) };
      const jobs = input.jobs === undefined ? {} : { jobsJson: input.jobs === null || input.jobs.length === 0 ? null : JSON.stringify(input.jobs) };
      if (existing) {
        await em.update(ServiceEntity, { name: input.name }, { active: input.active, updatedAt: now, ...backup, ...jobs });
      } else {
        await em.insert(ServiceEntity, { name: input.name, active: input.active, createdAt: now, updatedAt: now, backupJson: null, jobsJson: null, ...backup, ...jobs });
      }
      for (const { spec, desiredState } of input.components) {
        const key = { service: input.name, name: spec.name };
        const columns = {
          image: spec.image,
          network: spec.network ?? null,
          user: spec.user ?? null,
          restart: spec.restart ?? null,
          desiredState,
          specJson: JSON.stringify(spec),
          updatedAt: now,
        };
        if (await em.existsBy(ComponentEntity, key)) {
          await em.update(ComponentEntity, key, columns);
        } else {
          await em.insert(ComponentEntity, {
            ...key,
            ...columns,
            observedState: 'unknown',
            version: '',
            containerName: '',
            containerId: '',
            deployedSpecHash: '',
            createdAt: now,
          });
        }
        await this.writeSpecLists(em, input.name, spec);
      }
      return (await this.loadService(em, input.name))!;
    });
  }

  getService(name: string): Promise<ServiceRecord | null> {
    return this.read((em) => this.loadService(em, name));
  }

  listServices(): Promise<ServiceRecord[]> {
    return this.read(async (em) => {
      const services = await em.find(ServiceEntity, { order: { name: 'ASC' } });
      const components = await em.find(ComponentEntity, { order: { service: 'ASC', name: 'ASC' } });
      const routes = await em.find(RouteEntity, { order: { service: 'ASC', component: 'ASC', position: 'ASC' } });
      return services.map((service) => toServiceRecord(service, components, routes));
    });
  }

  listComponentStates(): Promise<ComponentStateRecord[]> {
    return this.read((em) =>
      em
        .createQueryBuilder(ComponentEntity, 'c')
        .select(['c.service AS service', 'c.name AS name', 'c.desired_state AS desiredState', 'c.observed_state AS observedState', 'c.container_name AS containerName'])
        .orderBy('c.service', 'ASC')
        .addOrderBy('c.name', 'ASC')
        .getRawMany<ComponentStateRecord>(),
    );
  }

  setServiceActive(name: string, active: boolean): Promise<void> {
    return this.write(async (em) => {
      const result = await em.update(ServiceEntity, { name }, { active, updatedAt: this.now() });
      if (!result.affected) throw new ServiceNotFoundError(name);
    });
  }

  setDesiredState(input: { service: string; component?: string; state: DesiredState }): Promise<void> {
    return this.write(async (em) => {
      await this.requireTarget(em, input.service, input.component);
      const where = input.component === undefined ? { service: input.service } : { service: input.service, name: input.component };
      await em.update(ComponentEntity, where, { desiredState: input.state, updatedAt: this.now() });
    });
  }

  recordObserved(update: ObservedUpdate): Promise<void> {
    return this.write((em) => this.writeObserved(em, update));
  }

  async recordDeployment(input: ObservedUpdate & { routes: RouteRecord[] }): Promise<void> {
    checkRoutes(input.routes);
    const { routes, ...update } = input;
    return this.write(async (em) => {
      await this.writeRoutes(em, { service: input.service, component: input.component, routes });
      await this.writeObserved(em, update);
    });
  }

  nextReleaseNumber(service: string): Promise<number> {
    return this.read(async (em) => {
      const row = await em
        .createQueryBuilder(ReleaseEntity, 'release')
        .select('MAX(release.number)', 'max')
        .where('release.service = :service', { service })
        .getRawOne<{ max: number | null }>();
      return (row?.max ?? 0) + 1;
    });
  }

  addRelease(release: NewRelease): Promise<ReleaseRecord> {
    return this.write(async (em) => {
      const row: ReleaseEntity = {
        service: release.service,
        number: release.number,
        component: release.component,
        specJson: JSON.stringify(release.spec),
        image: release.image,
        digest: release.digest,
        deployedAt: (release.deployedAt ?? this.clock.now()).toISOString(),
        deployedBy: release.deployedBy,
        outcome: release.outcome,
        rollbackOf: release.rollbackOf,
        message: release.message,
        pulled: release.pulled ? 1 : 0,
      };
      await em.insert(ReleaseEntity, row);
      return toReleaseRecord(row);
    });
  }

  setReleaseOutcome(input: { service: string; number: number; component: string; outcome: ReleaseOutcome; message?: string }): Promise<void> {
    return this.write(async (em) => {
      const changes: Partial<ReleaseEntity> = { outcome: input.outcome };
      if (input.message !== undefined) changes.message = input.message;
      const result = await em.update(ReleaseEntity, { service: input.service, number: input.number, component: input.component }, changes);
      if (!result.affected) throw new ComponentNotFoundError(input.service, `${input.component} (release ${input.number})`);
    });
  }

  getCordon(): Promise<CordonRecord | null> {
    return this.read(async (em) => {
      const row = await em.findOneBy(NodeSettingEntity, { key: CORDON_KEY });
      return row ? { by: row.value, at: new Date(row.updatedAt) } : null;
    });
  }

  setCordon(cordon: CordonRecord | null): Promise<boolean> {
    return this.write(async (em) => {
      const exists = await em.existsBy(NodeSettingEntity, { key: CORDON_KEY });
      if (cordon === null) {
        if (exists) await em.delete(NodeSettingEntity, { key: CORDON_KEY });
        return exists;
      }
      if (exists) return false;
      await em.insert(NodeSettingEntity, { key: CORDON_KEY, value: cordon.by, updatedAt: cordon.at.toISOString() });
      return true;
    });
  }

  listReleases(query: { service: string; component?: string }): Promise<ReleaseRecord[]> {
    return this.read(async (em) => {
      const where = query.component === undefined ? { service: query.service } : { service: query.service, component: query.component };
      const rows = await em.find(ReleaseEntity, { where, order: { number: 'DESC', component: 'ASC' } });
      return rows.map(toReleaseRecord);
    });
  }

  private async writeObserved(em: EntityManager, update: ObservedUpdate): Promise<void> {
    {
      await this.requireTarget(em, update.service, update.component);
      const changes: Partial<ComponentEntity> = { observedState: update.observedState, updatedAt: this.now() };
      if (update.version !== undefined) changes.version = update.version;
      if (update.containerName !== undefined) changes.containerName = update.containerName;
      if (update.containerId !== undefined) changes.containerId = update.containerId;
      if (update.deployedSpecHash !== undefined) changes.deployedSpecHash = update.deployedSpecHash;
      await em.update(ComponentEntity, { service: update.service, name: update.component }, changes);
    }
  }

  async setRoutes(input: { service: string; component: string; routes: RouteRecord[] }): Promise<void> {
    checkRoutes(input.routes);
    return this.write((em) => this.writeRoutes(em, input));
  }

  private async writeRoutes(em: EntityManager, input: { service: string; component: string; routes: RouteRecord[] }): Promise<void> {
    {
      await this.requireTarget(em, input.service, input.component);
      const wanted = input.routes.map((route) => route.hostPort).filter((port): port is number => port !== null);
      if (wanted.length > 0) {
        const holders = await em.findBy(RouteEntity, { hostPort: In(wanted) });
        const other = holders.find((row) => row.service !== input.service || row.component !== input.component);
        if (other) {
          throw new HostPortInUseError(other.hostPort!, { service: other.service, component: other.component });
        }
      }
      await em.delete(RouteEntity, { service: input.service, component: input.component });
      if (input.routes.length > 0) {
        await em.insert(
          RouteEntity,
          input.routes.map((route, position) => ({
            service: input.service,
            component: input.component,
            position,
            name: route.name,
            port: route.port,
            mode: route.mode,
            hostname: route.hostname,
            hostPort: route.hostPort,
          })),
        );
      }
      await em.update(ComponentEntity, { service: input.service, name: input.component }, { updatedAt: this.now() });
    }
  }

  allocatedHostPorts(): Promise<Array<{ hostPort: number; service: string; component: string }>> {
    return this.read(async (em) => {
      const rows = await em
        .createQueryBuilder(RouteEntity, 'route')
        .where('route.hostPort IS NOT NULL')
        .orderBy('route.hostPort', 'ASC')
        .getMany();
      return rows.map((row) => ({ hostPort: row.hostPort!, service: row.service, component: row.component }));
    });
  }

  releaseHostPorts(input: { service: string; component?: string }): Promise<void> {
    return this.write(async (em) => {
      await this.requireTarget(em, input.service, input.component);
      const where =
        input.component === undefined ? { service: input.service } : { service: input.service, component: input.component };
      await em.update(RouteEntity, where, { hostPort: null });
    });
  }

  deleteComponent(input: { service: string; component: string }): Promise<void> {
    return this.write(async (em) => {
      const result = await em.delete(ComponentEntity, { service: input.service, name: input.component });
      if (!result.affected) {
        await this.requireTarget(em, input.service);
        throw new ComponentNotFoundError(input.service, input.component);
      }
    });
  }

  deleteService(name: string): Promise<void> {
    return this.write(async (em) => {
      const result = await em.delete(ServiceEntity, { name });
      if (!result.affected) throw new ServiceNotFoundError(name);
    });
  }

  async addEvent(event: NewEvent): Promise<EventRecord> {
    checkNewEvent(event);
    const record = await this.write((em) => this.insertEvent(em, event));
    this.eventListeners.notify(record);
    return record;
  }

  private async insertEvent(em: EntityManager, event: NewEvent): Promise<EventRecord> {
    const row = {
      time: (event.time ?? this.clock.now()).toISOString(),
      service: event.service,
      component: event.component,
      kind: event.kind,
      message: event.message,
      fromState: event.fromState ?? '',
      toState: event.toState ?? '',
    };
    const result = await em.insert(EventEntity, row);
    return toEventRecord({ ...row, id: Number(result.identifiers[0]!.id) });
  }

  onEventAdded(listener: (event: EventRecord) => void): () => void {
    return this.eventListeners.add(listener);
  }

  async eventsAfter(query: { afterId: number; service?: string; limit: number }): Promise<EventRecord[]> {
    checkEventsAfterQuery(query);
    return this.read(async (em) => {
      const qb = em.createQueryBuilder(EventEntity, 'event').where('event.id > :afterId', { afterId: query.afterId });
      if (query.service !== undefined) qb.andWhere('event.service = :service', { service: query.service });
      qb.orderBy('event.id', 'ASC').limit(query.limit);
      return (await qb.getMany()).map(toEventRecord);
    });
  }

  async listEvents(query: { service?: string; component?: string; since?: Date; limit?: number }): Promise<EventRecord[]> {
    checkListEventsQuery(query);
    if (query.limit === 0) return [];
    return this.read(async (em) => {
      const qb = em.createQueryBuilder(EventEntity, 'event');
      if (query.service !== undefined) qb.andWhere('event.service = :service', { service: query.service });
      if (query.component !== undefined) qb.andWhere('event.component = :component', { component: query.component });
      if (query.since !== undefined) qb.andWhere('event.time >= :since', { since: query.since.toISOString() });
      qb.orderBy('event.time', 'DESC').addOrderBy('event.id', 'DESC');
      if (query.limit !== undefined) qb.limit(query.limit);
      return (await qb.getMany()).map(toEventRecord);
    });
  }

  async pruneEvents(input: { before: Date; keepMax?: number }): Promise<number> {
    checkPruneEventsInput(input);
    return this.write(async (em) => {
      const old = await em
        .createQueryBuilder()
        .delete()
        .from(EventEntity)
        .where('time < :before', { before: input.before.toISOString() })
        .execute();
      let removed = old.affected ?? 0;
      if (input.keepMax !== undefined) {
        const excess = await em
          .createQueryBuilder()
          .delete()
          .from(EventEntity)
          .where('id NOT IN (SELECT id FROM events ORDER BY time DESC, id DESC LIMIT :keep)', { keep: input.keepMax })
          .execute();
        removed += excess.affected ?? 0;
      }
      return removed;
    });
  }

  async recordBackupRun(run: NewBackupRun, event?: NewEvent): Promise<BackupRunRecord> {
    if (event) checkNewEvent(event);
    const { record, added } = await this.write(async (em) => {
      const row = em.create(BackupRunEntity, {
        service: run.service,
        startedAt: run.startedAt.toISOString(),
        finishedAt: run.finishedAt.toISOString(),
        ok: run.ok ? 1 : 0,
        snapshotId: run.snapshotId,
        files: run.files,
        bytes: run.bytes,
        durationMs: Math.round(run.durationMs),
        pausedMs: Math.round(run.pausedMs),
        message: run.message,
      });
      const inserted = await em.insert(BackupRunEntity, row);
      row.id = Number(inserted.identifiers[0]?.id ?? inserted.raw);
      const stale = await em.find(BackupRunEntity, { where: { service: run.service }, order: { id: 'DESC' }, skip: BACKUP_RUNS_KEPT, select: { id: true } });
      if (stale.length) await em.delete(BackupRunEntity, { id: In(stale.map((entry) => entry.id)) });
      return { record: toBackupRun(row), added: event ? await this.insertEvent(em, event) : undefined };
    });
    if (added) this.eventListeners.notify(added);
    return record;
  }

  addJobRun(run: NewJobRun): Promise<JobRunRecord> {
    return this.write(async (em) => {
      const row = em.create(JobRunEntity, {
        service: run.service,
        job: run.job,
        trigger: run.trigger,
        startedAt: run.startedAt.toISOString(),
        finishedAt: run.finishedAt ? run.finishedAt.toISOString() : null,
        result: run.result,
        exitCode: run.exitCode ?? null,
        durationMs: Math.round(run.durationMs ?? 0),
        container: run.container,
        message: run.message,
        output: (run.output ?? '').slice(-JOB_OUTPUT_KEPT),
      });
      const inserted = await em.insert(JobRunEntity, row);
      row.id = Number(inserted.identifiers[0]?.id ?? inserted.raw);
      const stale = await em.find(JobRunEntity, { where: { service: run.service, job: run.job }, order: { id: 'DESC' }, skip: JOB_RUNS_KEPT, select: { id: true } });
      if (stale.length) await em.delete(JobRunEntity, { id: In(stale.map((entry) => entry.id)) });
      return toJobRun(row);
    });
  }

  finishJobRun(end: JobRunEnd): Promise<void> {
    return this.write(async (em) => {
      await em.update(
        JobRunEntity,
        { id: end.id },
        {
          finishedAt: end.finishedAt ? end.finishedAt.toISOString() : null,
          result: end.result,
          exitCode: end.exitCode,
          durationMs: Math.round(end.durationMs),
          message: end.message,
          output: end.output.slice(-JOB_OUTPUT_KEPT),
          ...(end.container !== undefined ? { container: end.container } : {}),
        },
      );
    });
  }

  listJobRuns(query: { service: string; job?: string; limit?: number }): Promise<JobRunRecord[]> {
    return this.read(async (em) =>
      (await em.find(JobRunEntity, { where: { service: query.service, ...(query.job === undefined ? {} : { job: query.job }) }, order: { id: 'DESC' }, take: query.limit })).map(toJobRun),
    );
  }

  interruptRunningJobRuns(now: Date): Promise<JobRunRecord[]> {
    return this.write(async (em) => {
      const rows = await em.find(JobRunEntity, { where: { result: 'running' }, order: { id: 'ASC' } });
      for (const row of rows) {
        row.result = 'interrupted';
        row.finishedAt = now.toISOString();
        row.durationMs = Math.max(0, now.getTime() - new Date(row.startedAt).getTime());
        row.message = 'the agent stopped while it ran (its container was removed at the next start)';
        await em.update(JobRunEntity, { id: row.id }, { result: row.result, finishedAt: row.finishedAt, durationMs: row.durationMs, message: row.message });
      }
      return rows.map(toJobRun);
    });
  }

  listBackupRuns(query: { service?: string; limit?: number }): Promise<BackupRunRecord[]> {
    return this.read(async (em) =>
      (await em.find(BackupRunEntity, { where: query.service === undefined ? {} : { service: query.service }, order: { id: 'DESC' }, take: query.limit })).map(toBackupRun),
    );
  }

  setBackupIntent(intent: Omit<BackupIntentRecord, 'createdAt'>): Promise<void> {
    return this.write(async (em) => {
      await em.delete(BackupIntentEntity, { service: intent.service });
      await em.insert(BackupIntentEntity, { service: intent.service, kind: intent.kind, detailJson: JSON.stringify(intent.detail), createdAt: this.now() });
    });
  }

  clearBackupIntent(service: string): Promise<void> {
    return this.write(async (em) => {
      await em.delete(BackupIntentEntity, { service });
    });
  }

  listBackupIntents(): Promise<BackupIntentRecord[]> {
    return this.read(async (em) =>
      (await em.find(BackupIntentEntity, { order: { service: 'ASC' } })).map((row) => ({
        service: row.service,
        kind: row.kind as BackupIntentRecord['kind'],
        detail: JSON.parse(row.detailJson) as Record<string, unknown>,
        createdAt: new Date(row.createdAt),
      })),
    );
  }

  snapshot(input: { path: string }): Promise<SnapshotResult> {
    // Through the queue, so the copy never lands in the middle of this instance's transaction.
    return this.queue.run(async () => {
      this.assertOpen();
      return vacuumInto(this.connection(), input.path);
    });
  }

  close(): Promise<void> {
    return this.queue.run(async () => {
      if (this.closed) return;
      this.closed = true;
      try {
        await this.dataSource.destroy();
        restrictDatabaseFiles(this.file);
      } finally {
        releaseSharedQueue(this.queueKey);
      }
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  private now(): string {
    return this.clock.now().toISOString();
  }

  private connection(): Database.Database {
    const { driver } = this.dataSource;
    if (!(driver instanceof BetterSqlite3Driver)) throw new Error('TypeormRegistry runs on better-sqlite3 only');
    return driver.databaseConnection;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('TypeormRegistry is closed');
  }

  private write<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    return this.transaction('BEGIN IMMEDIATE', work);
  }

  /** Deferred transaction: several SELECTs see one consistent snapshot. */
  private read<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    return this.transaction('BEGIN', work);
  }

  /**
   * The transaction is opened by hand (TypeORM's own is always DEFERRED), so `work` must use
   * only statements that do not open one themselves: find/insert/update/delete/query
   * builders, never `save`/`remove`.
   */
  private transaction<T>(begin: string, work: (em: EntityManager) => Promise<T>): Promise<T> {
    return this.queue.run(async () => {
      this.assertOpen();
      const runner = this.dataSource.createQueryRunner();
      await runner.query(begin);
      try {
        const result = await work(runner.manager);
        await runner.query('COMMIT');
        return result;
      } catch (error) {
        await runner.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }

  private async requireTarget(em: EntityManager, service: string, component?: string): Promise<void> {
    if (component === undefined) {
      if (!(await em.existsBy(ServiceEntity, { name: service }))) throw new ServiceNotFoundError(service);
      return;
    }
    if (!(await em.existsBy(ComponentEntity, { service, name: component }))) {
      if (!(await em.existsBy(ServiceEntity, { name: service }))) throw new ServiceNotFoundError(service);
      throw new ComponentNotFoundError(service, component);
    }
  }

  private async writeSpecLists(em: EntityManager, service: string, spec: ComponentSpec): Promise<void> {
    for (const { entity, field } of LIST_TABLES) {
      await em.delete(entity, { service, component: spec.name });
      const rows = spec[field].map((value, position) => ({ service, component: spec.name, position, value }));
      // In batches: one INSERT of every row would exceed SQLite's limit on bound variables.
      for (let start = 0; start < rows.length; start += LIST_INSERT_BATCH) {
        await em.insert(entity, rows.slice(start, start + LIST_INSERT_BATCH));
      }
    }
  }

  private async loadService(em: EntityManager, name: string): Promise<ServiceRecord | null> {
    const service = await em.findOneBy(ServiceEntity, { name });
    if (!service) return null;
    const components = await em.find(ComponentEntity, { where: { service: name }, order: { name: 'ASC' } });
    const routes = await em.find(RouteEntity, { where: { service: name }, order: { component: 'ASC', position: 'ASC' } });
    return toServiceRecord(service, components, routes);
  }
}

/** Backup runs kept per service. */
const BACKUP_RUNS_KEPT = 50;

function toBackupRun(row: BackupRunEntity): BackupRunRecord {
  return {
    id: row.id,
    service: row.service,
    startedAt: new Date(row.startedAt),
    finishedAt: new Date(row.finishedAt),
    ok: Boolean(row.ok),
    snapshotId: row.snapshotId,
    files: row.files,
    bytes: row.bytes,
    durationMs: row.durationMs,
    pausedMs: row.pausedMs,
    message: row.message,
  };
}

function toJobRun(row: JobRunEntity): JobRunRecord {
  return {
    id: row.id,
    service: row.service,
    job: row.job,
    trigger: row.trigger,
    startedAt: new Date(row.startedAt),
    finishedAt: row.finishedAt ? new Date(row.finishedAt) : null,
    result: row.result as JobRunResult,
    exitCode: row.exitCode,
    durationMs: row.durationMs,
    container: row.container,
    message: row.message,
    output: row.output,
  };
}

function toServiceRecord(service: ServiceEntity, components: ComponentEntity[], routes: RouteEntity[]): ServiceRecord {
  return {
    name: service.name,
    active: Boolean(service.active),
    ...(service.backupJson ? { backup: JSON.parse(service.backupJson) as BackupPolicy } : {}),
    ...(service.jobsJson ? { jobs: JSON.parse(service.jobsJson) as JobSpec[] } : {}),
    components: components
      .filter((component) => component.service === service.name)
      .map((component) =>
        toComponentRecord(
          component,
          routes.filter((route) => route.service === service.name && route.component === component.name),
        ),
      ),
    createdAt: new Date(service.createdAt),
    updatedAt: new Date(service.updatedAt),
  };
}

function toComponentRecord(component: ComponentEntity, routes: RouteEntity[]): ComponentRecord {
  return {
    service: component.service,
    name: component.name,
    spec: JSON.parse(component.specJson) as ComponentSpec,
    desiredState: component.desiredState as DesiredState,
    observedState: component.observedState,
    version: component.version,
    containerName: component.containerName,
    containerId: component.containerId,
    deployedSpecHash: component.deployedSpecHash,
    routes: [...routes]
      .sort((a, b) => a.position - b.position)
      .map((route) => ({
        name: route.name,
        port: route.port,
        mode: route.mode as RouteRecord['mode'],
        hostname: route.hostname,
        hostPort: route.hostPort,
      })),
    createdAt: new Date(component.createdAt),
    updatedAt: new Date(component.updatedAt),
  };
}

function toReleaseRecord(row: ReleaseEntity): ReleaseRecord {
  return {
    service: row.service,
    number: row.number,
    component: row.component,
    spec: JSON.parse(row.specJson) as ComponentSpec,
    image: row.image,
    digest: row.digest,
    deployedAt: new Date(row.deployedAt),
    deployedBy: row.deployedBy,
    outcome: row.outcome as ReleaseOutcome,
    rollbackOf: row.rollbackOf,
    message: row.message,
    ...(row.pulled ? { pulled: true } : {}),
  };
}

function toEventRecord(event: EventEntity): EventRecord {
  return {
    id: event.id,
    time: new Date(event.time),
    service: event.service,
    component: event.component,
    kind: event.kind,
    message: event.message,
    fromState: event.fromState,
    toState: event.toState,
  };
}
