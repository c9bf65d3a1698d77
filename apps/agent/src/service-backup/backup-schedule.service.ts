import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { AlertSender } from '@mcp/alerts';
import { Clock } from '@mcp/common';
import { ServiceChanges } from '@mcp/deployer';
import { ServiceRegistry } from '@mcp/registry';
import { AgentConfig } from '../config/agent-config';
import { ServiceSchedules } from '../scheduling/service-schedules';
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
  private readonly schedules: ServiceSchedules;

  constructor(
    private readonly config: AgentConfig,
    private readonly registry: ServiceRegistry,
    scheduler: SchedulerRegistry,
    changes: ServiceChanges,
    private readonly backups: ServiceBackupService,
    private readonly alerts: AlertSender,
    private readonly clock: Clock,
  ) {
    this.schedules = new ServiceSchedules({ scheduler, changes, prefix: CRON_PREFIX, logger: this.logger, what: 'backup schedule', sync: (service) => this.sync(service) });
  }

  onApplicationBootstrap(): void {
    this.schedules.begin(() => this.start());
  }

  onApplicationShutdown(): void {
    this.schedules.end();
    this.registered.clear();
  }

  /** Waits for the first registration at start (tests). */
  whenReady(): Promise<void> {
    return this.schedules.whenReady();
  }

  /** The next scheduled backup of `service`, if it has a schedule registered. */
  nextRun(service: string): Date | undefined {
    return this.schedules.nextDates(service)[0];
  }

  /** Re-reads the service and registers, keeps or removes its schedule; one refresh per service at a time. */
  refresh(service: string): Promise<void> {
    return this.schedules.refresh(service);
  }

  private async start(): Promise<void> {
    for (const record of await this.registry.listServices()) {
      // One service's trouble does not keep the others' schedules from registering.
      await this.sync(record.name).catch((error: Error) => this.logger.error(`backup schedule of "${record.name}": ${error.message}`));
    }
  }

  private async sync(service: string): Promise<void> {
    const record = await this.registry.getService(service);
    const schedule = record?.active ? record.backup?.schedule : undefined;
    const added = this.schedules.set(service, schedule ? [{ name: service, schedule, onTick: () => void this.fire(service) }] : []);
    if (!schedule || !this.schedules.has(service)) {
      this.registered.delete(service);
      return;
    }
    if (added.length === 0) return;
    this.registered.set(service, { schedule, since: this.clock.now() });
    this.logger.log(`backups of ${service} scheduled "${schedule}" (UTC); next ${this.nextRun(service)?.toISOString()}`);
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
    const [first, second] = this.schedules.nextDates(service, 2);
    if (!second) return;
    const intervalMs = second.getTime() - first.getTime();
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
