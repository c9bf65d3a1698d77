import type { Logger } from '@nestjs/common';
import type { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { KeyedMutex, type ServiceChanges } from '@mcp/deployer';

/** One schedule a service wants registered. */
export interface WantedSchedule {
  /** Unique within the prefix (the SchedulerRegistry name is `<prefix><name>`). */
  name: string;
  schedule: string;
  /** IANA zone; UTC when unset. */
  tz?: string;
  onTick: () => void;
}

/**
 * The CronJobs (the `cron` library @nestjs/schedule is built on) a feature keeps per service
 * in Nest's SchedulerRegistry, following the registry: registered at agent start and again
 * whenever a service changes (ServiceChanges: deploy, sync, stop, start, undeploy, purge), one
 * refresh per service at a time and none before the start's. Shared by the jobs (SPEC §12,
 * `job:` names) and the backup schedules (SPEC §14, `backup:` names); each says what it wants
 * per service (`set`), this registers, keeps (same schedule and zone) or removes the CronJobs.
 */
export class ServiceSchedules {
  /** Name → the service it belongs to and what it was registered with. */
  private readonly registered = new Map<string, { service: string; key: string }>();
  private readonly refreshes = new KeyedMutex();
  private ready: Promise<void> = Promise.resolve();
  private unsubscribe?: () => void;
  private stopped = false;

  constructor(
    private readonly options: {
      scheduler: SchedulerRegistry;
      changes: ServiceChanges;
      /** SchedulerRegistry name prefix, apart per feature (`job:`, `backup:`). */
      prefix: string;
      logger: Logger;
      /** What the log lines call a service's schedules ("jobs", "backup schedule"). */
      what: string;
      /** Re-reads the service and calls `set` for it. */
      sync: (service: string) => Promise<void>;
    },
  ) {}

  /** At application bootstrap: follows ServiceChanges; `startUp` (the first registration) runs in the background. */
  begin(startUp: () => Promise<void>): void {
    this.unsubscribe = this.options.changes.onChange((service) => this.refresh(service));
    this.ready = startUp().catch((error: Error) => this.options.logger.error(`${this.options.what}: could not start: ${error.message}`));
  }

  /** At shutdown: no more refreshes, every CronJob removed. */
  end(): void {
    this.stopped = true;
    this.unsubscribe?.();
    for (const name of [...this.registered.keys()]) this.remove(name);
  }

  get stopping(): boolean {
    return this.stopped;
  }

  /** Waits for the start's registration (tests and RPCs that must see it). */
  whenReady(): Promise<void> {
    return this.ready;
  }

  /** Re-reads the service (the `sync` given), one refresh per service at a time; never rejects. */
  refresh(service: string): Promise<void> {
    return this.refreshes
      .run(service, async () => {
        await this.ready;
        if (!this.stopped) await this.options.sync(service);
      })
      .catch((error: Error) => this.options.logger.error(`${this.options.what} of "${service}": ${error.message}`));
  }

  /**
   * Makes `service`'s CronJobs exactly `wanted`: one whose schedule or zone changed is
   * registered again, one no longer wanted removed. Answers the names registered now (new or
   * changed); a schedule the cron library refuses is logged and left out.
   */
  set(service: string, wanted: WantedSchedule[]): string[] {
    const keys = new Map(wanted.map((entry) => [entry.name, `${entry.schedule}|${entry.tz ?? 'UTC'}`]));
    for (const [name, entry] of [...this.registered]) {
      if (entry.service === service && keys.get(name) !== entry.key) this.remove(name);
    }
    const added: string[] = [];
    for (const entry of wanted) {
      if (this.registered.has(entry.name)) continue;
      try {
        const cron = CronJob.from({ cronTime: entry.schedule, timeZone: entry.tz ?? 'UTC', start: false, onTick: entry.onTick });
        this.options.scheduler.addCronJob(this.options.prefix + entry.name, cron);
        cron.start();
        this.registered.set(entry.name, { service, key: keys.get(entry.name)! });
        added.push(entry.name);
      } catch (error) {
        this.options.logger.error(`${this.options.what} ${entry.name}: schedule "${entry.schedule}" not registered: ${(error as Error).message}`);
      }
    }
    return added;
  }

  has(name: string): boolean {
    return this.registered.has(name);
  }

  /** The next `count` times of a registered schedule (none when it is not registered). */
  nextDates(name: string, count = 1): Date[] {
    if (!this.registered.has(name)) return [];
    try {
      return this.options.scheduler
        .getCronJob(this.options.prefix + name)
        .nextDates(count)
        .map((date) => date.toJSDate());
    } catch {
      return [];
    }
  }

  private remove(name: string): void {
    try {
      this.options.scheduler.deleteCronJob(this.options.prefix + name);
    } catch {
      // Already gone.
    }
    this.registered.delete(name);
  }
}
