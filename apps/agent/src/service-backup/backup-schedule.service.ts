import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { AlertSender } from '@mcp/alerts';
import { Clock } from '@mcp/common';
import { KeyedMutex, ServiceChanges } from '@mcp/deployer';
import { ServiceRegistry } from '@mcp/registry';
import { AgentConfig } from '../config/agent-config';
import { ServiceBackupService } from './service-backup.service';

/** SchedulerRegistry names of backup schedules: apart from the jobs' `job:` ones. */
const CRON_PREFIX = 'backup:';

/**
 * SPEC §14 `[backup] schedule`: each active service with a schedule has one CronJob (the `cron`
 * library @nestjs/schedule is built on) in Nest's SchedulerRegistry, in UTC, registered from
 * the registry at agent start and again whenever the service changes (ServiceChanges: deploy,
 * sync, stop, start, undeploy, purge) — so a stopped or undeployed service is not backed up on
 * schedule. A tick runs the same backup as `mcp backup` (its failure raises `backup_failed`
 * there); a tick while the previous scheduled backup still runs is skipped, not queued. Before
 * each tick's backup, a service whose last successful backup is older than twice its
 * schedule's interval (or that never had one, counted from when the schedule was registered)
 * raises `backup_stale`, once until a backup succeeds again.
 */
@Injectable()
export class BackupScheduleService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(BackupScheduleService.name);
  /** service → the schedule its CronJob was registered with, and when. */
  private readonly registered = new Map<string, { schedule: string; since: Date }>();
  private readonly running = new Set<string>();
  /** Services a `backup_stale` alert went out for, until their next success. */
  private readonly staleAlerted = new Set<string>();
  /** Refreshes, one at a time per service (after the start's registration). */
  private readonly refreshes = new KeyedMutex();
  private ready: Promise<void> = Promise.resolve();
  private unsubscribe?: () => void;
  private stopping = false;

  constructor(
    private readonly config: AgentConfig,
    private readonly registry: ServiceRegistry,
    private readonly scheduler: SchedulerRegistry,
    private readonly changes: ServiceChanges,
    private readonly backups: ServiceBackupService,
    private readonly alerts: AlertSender,
    private readonly clock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    this.unsubscribe = this.changes.onChange((service) => void this.refresh(service));
    this.ready = this.start();
  }

  onApplicationShutdown(): void {
    this.stopping = true;
    this.unsubscribe?.();
    for (const service of [...this.registered.keys()]) this.unregister(service);
  }

  /** Waits for the first registration at start (tests). */
  whenReady(): Promise<void> {
    return this.ready;
  }

  /** The next scheduled backup of `service`, if it has a schedule registered. */
  nextRun(service: string): Date | undefined {
    if (!this.registered.has(service)) return undefined;
    return this.scheduler.getCronJob(CRON_PREFIX + service).nextDate().toJSDate();
  }

  /** Re-reads the service and registers, keeps or removes its schedule; one refresh per service at a time. */
  refresh(service: string): Promise<void> {
    return this.refreshes
      .run(service, async () => {
        await this.ready.catch(() => undefined);
        if (!this.stopping) await this.sync(service);
      })
      .catch((error: Error) => this.logger.error(`backup schedule of "${service}": ${error.message}`));
  }

  private async start(): Promise<void> {
    try {
      for (const record of await this.registry.listServices()) {
        // One service's trouble does not keep the others' schedules from registering.
        await this.sync(record.name).catch((error: Error) => this.logger.error(`backup schedule of "${record.name}": ${error.message}`));
      }
    } catch (error) {
      this.logger.error(`backup schedules could not start: ${(error as Error).message}`);
    }
  }

  private async sync(service: string): Promise<void> {
    const record = await this.registry.getService(service);
    const schedule = record?.active ? record.backup?.schedule : undefined;
    const current = this.registered.get(service);
    if (current?.schedule === schedule) return;
    if (current) this.unregister(service);
    if (!schedule) return;
    const cron = CronJob.from({ cronTime: schedule, timeZone: 'UTC', start: false, onTick: () => void this.fire(service) });
    this.scheduler.addCronJob(CRON_PREFIX + service, cron);
    cron.start();
    this.registered.set(service, { schedule, since: this.clock.now() });
    this.logger.log(`backups of ${service} scheduled "${schedule}" (UTC); next ${cron.nextDate().toISO()}`);
  }

  private unregister(service: string): void {
    try {
      this.scheduler.deleteCronJob(CRON_PREFIX + service);
    } catch {
      // Already gone.
    }
    this.registered.delete(service);
  }

  private async fire(service: string): Promise<void> {
    if (this.running.has(service)) {
      this.logger.warn(`scheduled backup of ${service} skipped: the previous one still runs`);
      return;
    }
    this.running.add(service);
    try {
      await this.checkStale(service);
      const outcome = await this.backups.backup({ service });
      this.staleAlerted.delete(service);
      this.logger.log(`scheduled backup of ${service}: snapshot ${outcome.snapshotId}, ${outcome.files} files, ${outcome.bytes} bytes in ${outcome.durationSeconds.toFixed(1)} s`);
    } catch (error) {
      // The backup recorded the failure and raised backup_failed itself.
      this.logger.warn(`scheduled backup of ${service} failed: ${(error as Error).message}`);
    } finally {
      this.running.delete(service);
    }
  }

  /** `backup_stale`: no success within twice the schedule's interval. */
  private async checkStale(service: string): Promise<void> {
    const entry = this.registered.get(service);
    if (!entry || this.staleAlerted.has(service)) return;
    const [first, second] = this.scheduler.getCronJob(CRON_PREFIX + service).nextDates(2);
    const intervalMs = second.toMillis() - first.toMillis();
    const runs = await this.registry.listBackupRuns({ service, limit: 50 });
    const lastOk = runs.filter((run) => run.ok).reduce<Date | undefined>((newest, run) => (!newest || run.finishedAt > newest ? run.finishedAt : newest), undefined);
    const now = this.clock.now();
    const since = lastOk ?? entry.since;
    if (now.getTime() - since.getTime() <= 2 * intervalMs) return;
    this.staleAlerted.add(service);
    const message = lastOk
      ? `no successful backup of ${service} since ${lastOk.toISOString()}, more than twice its schedule's interval ("${entry.schedule}")`
      : `no successful backup of ${service} since its schedule "${entry.schedule}" was registered at ${entry.since.toISOString()}`;
    await this.registry.addEvent({ service, component: '', kind: 'backup_stale', message }).catch(() => undefined);
    await this.alerts.send({ kind: 'backup_stale', node: this.config.agent.nodeName, service, component: '', desired: 'backed up', observed: 'stale', message, time: now });
  }
}
