import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { AlertSender } from '@mcp/alerts';
import { type BackupMode, Clock, FailedPreconditionError, Failpoints, NotFoundError, ServiceNotFoundError } from '@mcp/common';
import { HealthProber, KeyedMutex, RouteService } from '@mcp/deployer';
import { AgentMetrics } from '@mcp/metrics';
import { BackupRepository, componentTag, serviceTag, type BackupProgress, type SnapshotInfo } from '@mcp/restic';
import { ServiceRegistry, type BackupIntentRecord, type BackupRunRecord, type ServiceRecord } from '@mcp/registry';
import { componentContainerName, ContainerRuntime } from '@mcp/runtime';
import { AgentConfig } from '../config/agent-config';
import { readRestoreIntent, type RestoreIntent, type SwapPair } from './restore-intent';

const run = promisify(execFile);

/** How long `before` may run in the component. */
const BEFORE_TIMEOUT_MS = 30 * 60_000;
/** How many other nodes' snapshot counts `list` keeps (the oldest goes first). */
const FOREIGN_STATS_KEPT = 1000;
/** A volume's host side that is a podman volume name (not a path). */
const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export type BackupPhase = 'before' | 'pausing' | 'stopping' | 'snapshot' | 'resuming' | 'forget';

export interface BackupEvent {
  phase: BackupPhase;
  progress?: BackupProgress;
}

export interface BackupOutcome {
  snapshotId: string;
  files: number;
  bytes: number;
  dataAdded: number;
  durationSeconds: number;
  pausedSeconds: number;
  mode: BackupMode;
  forgotten: string[];
}

export interface SnapshotRow {
  id: string;
  shortId: string;
  time: Date;
  size: number;
  files: number;
  host: string;
}

export interface RestoreOutcome {
  service: string;
  snapshotId: string;
  kept: string[];
  results: Array<{ component: string; ok: boolean; error: string; container: string }>;
}

/**
 * SPEC §14: a service's data — `<srv_root>/<svc>/` and its components' named volumes — backed
 * up with restic, listed, checked and restored. Every operation holds the service's lock (no
 * deploy in between; the monitor skips the service meanwhile). Anything that changes the
 * service's containers or directories is recorded in the registry first (`backup_intents`)
 * and undone or finished at the next start if the agent dies in the middle: paused containers
 * are unpaused, stopped ones started, a restore that had not staged everything is dropped
 * (old data) and one that had is swapped in (new data) — never a mix.
 */
@Injectable()
export class ServiceBackupService implements OnApplicationBootstrap {
  private readonly logger = new Logger(ServiceBackupService.name);
  /** `restic stats` of snapshots another node made, by full id: a snapshot never changes, so it is counted once per process. */
  private readonly foreignStats = new Map<string, { files: number; bytes: number }>();

  constructor(
    private readonly config: AgentConfig,
    private readonly registry: ServiceRegistry,
    private readonly runtime: ContainerRuntime,
    private readonly repository: BackupRepository,
    private readonly locks: KeyedMutex,
    private readonly failpoints: Failpoints,
    private readonly alerts: AlertSender,
    private readonly clock: Clock,
    private readonly prober: HealthProber,
    private readonly routes: RouteService,
    private readonly metrics: AgentMetrics,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // The last-backup gauges are seeded by ServiceGauges (deployed services only).
    await this.recoverAll();
  }

  /** Finishes or undoes what a crash interrupted (see the class comment). Idempotent. */
  async recoverAll(): Promise<void> {
    for (const intent of await this.registry.listBackupIntents()) {
      await this.locks.run(intent.service, () => this.recover(intent)).catch((error: unknown) => {
        this.logger.error(`backup recovery of ${intent.service} failed: ${(error as Error).message}`);
      });
    }
  }

  async backup(input: { service: string; onEvent?: (event: BackupEvent) => void }): Promise<BackupOutcome> {
    const emit = input.onEvent ?? (() => undefined);
    return this.locks.run(input.service, async () => {
      const record = await this.requireService(input.service);
      const started = this.clock.now();
      let pausedMs = 0;
      try {
        const policy = record.backup ?? {};
        const mode = policy.mode ?? 'live';
        const data = await this.dataOf(record);
        if (data.paths.length === 0) {
          throw new FailedPreconditionError(`service ${record.name} has no data to back up: no ${this.srvDir(record.name)} and no named volumes`);
        }
        // Before anything is paused: a wrong password or a missing repository changes nothing.
        await this.repository.ensureReady();
        if (policy.before) {
          emit({ phase: 'before' });
          await this.runBefore(record, policy.component ?? '', policy.before);
        }
        const summary = await this.quiesced(record, mode, emit, (ms) => (pausedMs = ms), async () => {
          emit({ phase: 'snapshot' });
          return this.repository.backup({ paths: data.paths, tags: data.tags, onProgress: (progress) => emit({ phase: 'snapshot', progress }) });
        });
        let forgotten: string[] = [];
        if (policy.keep_last !== undefined || policy.keep_daily !== undefined || policy.keep_weekly !== undefined) {
          emit({ phase: 'forget' });
          forgotten = await this.repository.forget({
            tags: [serviceTag(record.name)],
            policy: { keepLast: policy.keep_last, keepDaily: policy.keep_daily, keepWeekly: policy.keep_weekly },
          });
        }
        const finished = this.clock.now();
        await this.registry.recordBackupRun({
          service: record.name,
          startedAt: started,
          finishedAt: finished,
          ok: true,
          snapshotId: summary.snapshotId,
          files: summary.totalFiles,
          bytes: summary.totalBytes,
          durationMs: finished.getTime() - started.getTime(),
          pausedMs,
          message: '',
        }, { service: record.name, component: '', kind: 'backup', message: `snapshot ${summary.snapshotId}: ${summary.totalFiles} files, ${summary.totalBytes} bytes (${mode})` });
        this.metrics.serviceBackupFinished({ service: record.name, ok: true, at: finished, seconds: (finished.getTime() - started.getTime()) / 1000, bytes: summary.totalBytes, pausedSeconds: pausedMs / 1000 });
        // SPEC §14: the data a restore replaced is kept until the next successful backup.
        await this.removePreRestore(record, data.paths);
        return {
          snapshotId: summary.snapshotId,
          files: summary.totalFiles,
          bytes: summary.totalBytes,
          dataAdded: summary.dataAdded,
          durationSeconds: (finished.getTime() - started.getTime()) / 1000,
          pausedSeconds: pausedMs / 1000,
          mode,
          forgotten,
        };
      } catch (error) {
        await this.backupFailed(record.name, started, pausedMs, error as Error);
        throw error;
      }
    });
  }

  async list(input: { service: string }): Promise<SnapshotRow[]> {
    if (!(await this.registry.getService(input.service))) throw new ServiceNotFoundError(input.service);
    const snapshots = await this.repository.snapshots({ tags: [serviceTag(input.service)] });
    const runs = new Map((await this.registry.listBackupRuns({ service: input.service })).filter((r) => r.ok).map((r) => [r.snapshotId, r]));
    const rows: SnapshotRow[] = [];
    for (const snapshot of snapshots) {
      const known = runs.get(snapshot.shortId);
      // A snapshot this agent did not make (another node's, before a move): restic's own count.
      let stats = known ? { files: known.files, bytes: known.bytes } : this.foreignStats.get(snapshot.id);
      if (!stats) {
        stats = await this.repository.stats({ snapshotId: snapshot.shortId });
        if (this.foreignStats.size >= FOREIGN_STATS_KEPT) this.foreignStats.delete(this.foreignStats.keys().next().value!);
        this.foreignStats.set(snapshot.id, stats);
      }
      rows.push({ id: snapshot.id, shortId: snapshot.shortId, time: snapshot.time, size: stats.bytes, files: stats.files, host: snapshot.hostname });
    }
    return rows;
  }

  /** The agent's record of the service's newest backup runs, newest first; restic is not asked. */
  async runs(input: { service: string; limit: number }): Promise<BackupRunRecord[]> {
    if (!(await this.registry.getService(input.service))) throw new ServiceNotFoundError(input.service);
    return this.registry.listBackupRuns({ service: input.service, limit: input.limit });
  }

  /** `restic check` (the repository's structure) and a full read of every tree of the service's snapshots. */
  async check(input: { service: string }): Promise<{ snapshots: number; entries: number }> {
    if (!(await this.registry.getService(input.service))) throw new ServiceNotFoundError(input.service);
    await this.repository.check();
    const snapshots = await this.repository.snapshots({ tags: [serviceTag(input.service)] });
    let entries = 0;
    for (const snapshot of snapshots) entries += (await this.repository.list({ snapshotId: snapshot.shortId })).length;
    return { snapshots: snapshots.length, entries };
  }

  async restore(input: { service: string; snapshot?: string }): Promise<RestoreOutcome> {
    return this.locks.run(input.service, async () => {
      const record = await this.requireService(input.service);
      const snapshot = await this.pickSnapshot(record.name, input.snapshot);
      const data = await this.dataOf(record);
      // Only this service's own directories, as they are named on this node now (a snapshot of
      // another node names them with that node's srv_root and podman storage).
      const targets = new Map<string, string>();
      for (const source of snapshot.paths) {
        const target = this.restoreTarget(record, data, source);
        if (target && ![...targets.values()].includes(target)) targets.set(source, target);
      }
      if (targets.size === 0) {
        throw new FailedPreconditionError(`snapshot ${snapshot.shortId} holds none of ${record.name}'s directories on this node (${[this.srvDir(record.name), ...data.volumes.values()].join(', ')})`);
      }
      const stamp = this.clock.now().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
      const pairs: SwapPair[] = [...targets].map(([source, target]) => {
        const stagingRoot = path.join(path.dirname(target), `.${path.basename(target)}.restore-${stamp}`);
        return { source, live: target, stagingRoot, staged: path.join(stagingRoot, source), previous: `${target}.pre-restore-${stamp}` };
      });
      const running = await this.runningContainers(record);
      const intent: RestoreIntent = { step: 'stopping', snapshot: snapshot.id, pairs, containers: running };
      await this.registry.setBackupIntent({ service: record.name, kind: 'restore', detail: { ...intent } });
      for (const name of running) await this.runtime.stop({ name, timeoutSeconds: this.config.agent.stopTimeoutSeconds });
      await this.failpoints.hit('restore.after-stop');
      try {
        for (const [index, pair] of pairs.entries()) {
          await fs.promises.rm(pair.stagingRoot, { recursive: true, force: true });
          await this.repository.restore({ snapshotId: snapshot.id.slice(0, 16), include: pair.source ?? pair.live, target: pair.stagingRoot });
          if (!fs.existsSync(pair.staged)) await fs.promises.mkdir(pair.staged, { recursive: true });
          if (index === 0) await this.failpoints.hit('restore.mid-restore');
        }
        // Everything staged is on disk before the intent says so.
        await run('sync', ['-f', ...pairs.map((pair) => pair.staged)]);
      } catch (error) {
        await this.abandonRestore(record.name, intent);
        throw error;
      }
      intent.step = 'staged';
      await this.registry.setBackupIntent({ service: record.name, kind: 'restore', detail: { ...intent } });
      await this.swap(pairs);
      await this.failpoints.hit('restore.after-swap');
      intent.step = 'swapped';
      await this.registry.setBackupIntent({ service: record.name, kind: 'restore', detail: { ...intent } });
      await this.failpoints.hit('restore.before-start');
      const results = await this.startAndWait(record, running);
      await this.registry.clearBackupIntent(record.name);
      await this.registry.addEvent({ service: record.name, component: '', kind: 'restored', message: `restored snapshot ${snapshot.shortId}; previous data kept as ${pairs.map((p) => p.previous).join(', ')}` });
      return { service: record.name, snapshotId: snapshot.id, kept: pairs.filter((p) => fs.existsSync(p.previous)).map((p) => p.previous), results };
    });
  }

  /** The paths a backup of this service holds and its tags: never a path of another service. */
  async dataOf(record: ServiceRecord): Promise<{ paths: string[]; tags: string[]; volumes: Map<string, string> }> {
    const paths: string[] = [];
    /** Named volume → its mountpoint on this node. */
    const volumes = new Map<string, string>();
    const tags = [serviceTag(record.name)];
    const srv = this.srvDir(record.name);
    if (fs.existsSync(srv)) paths.push(srv);
    for (const component of record.components) {
      let any = false;
      for (const volume of component.spec.volumes) {
        const source = volume.split(':')[0];
        if (!VOLUME_NAME.test(source)) continue; // a host path: inside /srv/<svc> it is covered above
        const mountpoint = await this.runtime.volumeMountpoint({ name: source });
        if (mountpoint) volumes.set(source, mountpoint);
        if (mountpoint && !paths.includes(mountpoint)) {
          paths.push(mountpoint);
          any = true;
        }
      }
      if (any) tags.push(componentTag(component.name));
    }
    return { paths, tags, volumes };
  }

  /**
   * Where a snapshot's directory goes on this node: the same path when it is one of the
   * service's directories here; else, for a snapshot taken on another node, the service's
   * srv dir for `<any srv_root>/<svc>`, and this node's mountpoint of volume V for a podman
   * volume path `…/volumes/V/_data` of one of the service's named volumes. Anything else in
   * the snapshot is not restored.
   */
  private restoreTarget(record: ServiceRecord, data: { paths: string[]; volumes: Map<string, string> }, source: string): string | undefined {
    const srv = this.srvDir(record.name);
    if (source === srv || data.paths.includes(source)) return source;
    const volume = /\/volumes\/([^/]+)\/_data$/.exec(source)?.[1];
    if (volume !== undefined) return data.volumes.get(volume);
    if (path.basename(source) === record.name) return srv;
    return undefined;
  }

  private srvDir(service: string): string {
    return path.join(this.config.agent.srvRoot, service);
  }

  private async requireService(name: string): Promise<ServiceRecord> {
    const record = await this.registry.getService(name);
    if (!record) throw new ServiceNotFoundError(name);
    return record;
  }

  /**
   * The service's containers in one of `states`, asked of podman (`inspect`) every time: the
   * live state (podman's events) can lag a pause by hand, and a container taken for running
   * that is paused fails the pause-mode backup (seen in CI: "internal error").
   */
  private async runningContainers(record: ServiceRecord, states: string[] = ['running', 'paused']): Promise<string[]> {
    const names: string[] = [];
    for (const component of record.components) {
      const name = componentContainerName(component);
      const details = await this.runtime.inspect({ name });
      if (details && states.includes(details.state)) names.push(name);
    }
    return names;
  }

  private async runBefore(record: ServiceRecord, componentName: string, cmd: string[]): Promise<void> {
    const component = record.components.find((c) => c.name === componentName);
    if (!component) throw new FailedPreconditionError(`backup.before: service ${record.name} has no component ${componentName}`);
    const result = await this.runtime.execIn({ name: componentContainerName(component), cmd, timeoutMs: BEFORE_TIMEOUT_MS });
    if (result.exitCode !== 0) {
      const last = result.output.trim().split('\n').at(-1) ?? '';
      throw new FailedPreconditionError(`backup.before (${cmd[0]}) in ${componentName} exited ${result.exitCode}${last ? `: ${last}` : ''}; no snapshot taken`);
    }
  }

  /**
   * Runs `work` with the service paused or stopped as `mode` says. The intent is recorded
   * before the first container changes, and the containers are resumed in `finally`: a
   * failing restic resumes them too; a killed agent resumes them at its next start.
   */
  private async quiesced<T>(record: ServiceRecord, mode: BackupMode, emit: (event: BackupEvent) => void, window: (ms: number) => void, work: () => Promise<T>): Promise<T> {
    if (mode === 'live') return work();
    // Pause mode pauses what runs: a container someone else paused stays paused (and consistent), untouched.
    const containers = await this.runningContainers(record, mode === 'pause' ? ['running'] : ['running', 'paused']);
    if (containers.length === 0) return work();
    const kind = mode === 'pause' ? 'paused' : 'stopped';
    await this.registry.setBackupIntent({ service: record.name, kind, detail: { containers } });
    const from = Date.now();
    try {
      emit({ phase: mode === 'pause' ? 'pausing' : 'stopping' });
      for (const name of containers) {
        if (mode === 'pause') await this.runtime.pause({ name });
        else await this.runtime.stop({ name, timeoutSeconds: this.config.agent.stopTimeoutSeconds });
      }
      await this.failpoints.hit('backup.quiesced');
      return await work();
    } finally {
      emit({ phase: 'resuming' });
      await this.resume(kind, containers);
      window(Date.now() - from);
      await this.registry.clearBackupIntent(record.name);
    }
  }

  private async resume(kind: 'paused' | 'stopped', containers: string[]): Promise<void> {
    const problems: string[] = [];
    for (const name of containers) {
      try {
        if (kind === 'paused') await this.runtime.unpause({ name });
        else await this.runtime.start({ name });
      } catch (error) {
        problems.push(`${name}: ${(error as Error).message}`);
      }
    }
    if (problems.length) this.logger.error(`backup: could not resume ${problems.join('; ')}`);
  }

  private async recover(intent: BackupIntentRecord): Promise<void> {
    if (intent.kind === 'paused' || intent.kind === 'stopped') {
      const containers = (intent.detail.containers as string[] | undefined) ?? [];
      this.logger.warn(`backup of ${intent.service} was interrupted: ${intent.kind === 'paused' ? 'unpausing' : 'starting'} ${containers.join(', ')}`);
      await this.resume(intent.kind, containers);
      await this.registry.clearBackupIntent(intent.service);
      return;
    }
    const restore = readRestoreIntent(intent.detail);
    if (restore.step === 'stopping') {
      this.logger.warn(`restore of ${intent.service} was interrupted before its data was staged: keeping the old data`);
      await this.abandonRestore(intent.service, restore);
      return;
    }
    this.logger.warn(`restore of ${intent.service} was interrupted after its data was staged: finishing the swap`);
    if (restore.step === 'staged') await this.swap(restore.pairs);
    const record = await this.registry.getService(intent.service);
    if (record) await this.startAndWait(record, restore.containers);
    else await this.resume('stopped', restore.containers);
    await this.registry.clearBackupIntent(intent.service);
  }

  /** Drops what was staged, starts what was stopped: the old data stays, untouched. */
  private async abandonRestore(service: string, intent: RestoreIntent): Promise<void> {
    for (const pair of intent.pairs) await fs.promises.rm(pair.stagingRoot, { recursive: true, force: true });
    await this.resume('stopped', intent.containers);
    await this.registry.clearBackupIntent(service);
  }

  /**
   * Swaps each staged directory in, keeping the live one as `.pre-restore-<time>`. Each step
   * is a rename on one filesystem, and each is skipped when already done, so after a crash it
   * is simply run again.
   */
  private async swap(pairs: SwapPair[]): Promise<void> {
    for (const pair of pairs) {
      if (fs.existsSync(pair.staged)) {
        if (fs.existsSync(pair.live) && !fs.existsSync(pair.previous)) await fs.promises.rename(pair.live, pair.previous);
        if (!fs.existsSync(pair.live)) await fs.promises.rename(pair.staged, pair.live);
      }
      await fs.promises.rm(pair.stagingRoot, { recursive: true, force: true });
    }
  }

  private async startAndWait(record: ServiceRecord, containers: string[]): Promise<RestoreOutcome['results']> {
    const results: RestoreOutcome['results'] = [];
    for (const component of record.components) {
      const name = componentContainerName(component);
      if (!containers.includes(name)) continue;
      try {
        await this.runtime.start({ name });
        const health = await this.prober.waitHealthy({ container: name, spec: component.spec, routes: component.routes });
        if (!health.ok) throw new Error(health.detail);
        await this.routes.register({ service: record.name, routes: component.routes });
        results.push({ component: component.name, ok: true, error: '', container: name });
      } catch (error) {
        results.push({ component: component.name, ok: false, error: (error as Error).message, container: name });
      }
    }
    return results;
  }

  private async pickSnapshot(service: string, wanted: string | undefined): Promise<SnapshotInfo> {
    const snapshots = await this.repository.snapshots({ tags: [serviceTag(service)] });
    if (!wanted) {
      const newest = snapshots.at(-1);
      if (!newest) throw new NotFoundError(`service ${service} has no snapshots in the backup repository`);
      return newest;
    }
    const matches = snapshots.filter((s) => s.id.startsWith(wanted));
    if (matches.length === 0) throw new NotFoundError(`no snapshot ${wanted} of service ${service} (mcp backups ${service} lists them)`);
    if (matches.length > 1) throw new FailedPreconditionError(`snapshot id ${wanted} is ambiguous: give more of it`);
    return matches[0];
  }

  /** `<path>.pre-restore-*` beside each of the service's directories. */
  private async removePreRestore(record: ServiceRecord, paths: string[]): Promise<void> {
    for (const live of new Set(paths.concat(this.srvDir(record.name)))) {
      const parent = path.dirname(live);
      const prefix = `${path.basename(live)}.pre-restore-`;
      const entries = await fs.promises.readdir(parent).catch(() => [] as string[]);
      for (const entry of entries) {
        if (entry.startsWith(prefix)) await fs.promises.rm(path.join(parent, entry), { recursive: true, force: true });
      }
    }
  }

  private async backupFailed(service: string, started: Date, pausedMs: number, error: Error): Promise<void> {
    const finished = this.clock.now();
    const message = error.message.split('\n')[0];
    this.metrics.serviceBackupFinished({ service, ok: false, at: finished, seconds: (finished.getTime() - started.getTime()) / 1000, bytes: 0, pausedSeconds: pausedMs / 1000 });
    await this.registry
      .recordBackupRun({ service, startedAt: started, finishedAt: finished, ok: false, snapshotId: '', files: 0, bytes: 0, durationMs: finished.getTime() - started.getTime(), pausedMs, message }, { service, component: '', kind: 'backup_failed', message })
      .catch(() => undefined);
    await this.alerts.send({ kind: 'backup_failed', node: this.config.agent.nodeName, service, component: '', desired: 'backed up', observed: 'failed', message, time: finished });
  }
}
