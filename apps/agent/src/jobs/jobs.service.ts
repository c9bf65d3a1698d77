import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob, CronTime } from 'cron';
import { AlertSender } from '@mcp/alerts';
import { Clock, type ComponentSpec, type JobSpec, NotFoundError, parseDuration, ServiceNotFoundError } from '@mcp/common';
import { ContainerOps, KeyedMutex, ServiceChanges } from '@mcp/deployer';
import { AgentMetrics } from '@mcp/metrics';
import type { LogChunk } from '@mcp/runtime';
import { JOB_OUTPUT_KEPT, type JobRunRecord, type JobRunResult, ServiceRegistry, type ServiceRecord } from '@mcp/registry';
import { AgentConfig } from '../config/agent-config';

/** SPEC §12: a job's default timeout. */
export const DEFAULT_JOB_TIMEOUT = '1h';
const CRON_PREFIX = 'job:';

export interface JobView {
  service: string;
  spec: JobSpec;
  scheduled: boolean;
  lastRun?: JobRunRecord;
  nextRun?: Date;
  running: number;
}

export interface JobRunInput {
  service: string;
  job: string;
  trigger: 'schedule' | 'manual' | 'catch_up';
  /** Aborting it kills the run's container (a `mcp jobs run` whose client went away). */
  signal?: AbortSignal;
  onStarted?: (container: string) => Promise<void> | void;
  onOutput?: (chunk: LogChunk) => Promise<void> | void;
}

/** The end of a run's output, at most `limit` bytes. */
class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}
  push(data: Buffer): void {
    this.chunks.push(data);
    this.size += data.length;
    while (this.size - this.chunks[0].length >= this.limit) this.size -= this.chunks.shift()!.length;
  }
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}

function cronName(service: string, job: string): string {
  return `${CRON_PREFIX}${service}/${job}`;
}

/**
 * SPEC §12 jobs: each `[[jobs]]` of an active service is a CronJob (the `cron` library
 * @nestjs/schedule is built on) in Nest's SchedulerRegistry, registered again from the
 * registry whenever the service changes (ServiceChanges: deploy, sync, stop, start, undeploy,
 * purge) and at agent start. A run is a one-off container of the job's component (ContainerOps
 * .runOneOff, labelled `mcp.run=job:<name>`, so monitor, drift, adopt and purge ignore it),
 * recorded in the registry from start to end; `forbid` skips (and records) a run while one
 * goes; a failed or timed-out run raises `job_failed`. Runs still `running` in the registry at
 * start were cut off by the agent's death: they are marked `interrupted` and their containers
 * removed before any schedule fires.
 */
@Injectable()
export class JobsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(JobsService.name);
  /** Registered CronJob name → what it was registered for (schedule + tz), to re-register on change only. */
  private readonly registered = new Map<string, string>();
  /** Runs going now, per `service/job`. */
  private readonly running = new Map<string, Map<AbortController, string>>();
  /** Per-service refreshes, one at a time. */
  /** Refreshes, one at a time per service (after the start's registration). */
  private readonly refreshes = new KeyedMutex();
  private ready: Promise<void> = Promise.resolve();
  private unsubscribe?: () => void;
  private stopping = false;

  constructor(
    private readonly config: AgentConfig,
    private readonly registry: ServiceRegistry,
    private readonly containers: ContainerOps,
    private readonly scheduler: SchedulerRegistry,
    private readonly changes: ServiceChanges,
    private readonly alerts: AlertSender,
    private readonly metrics: AgentMetrics,
    private readonly clock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    this.unsubscribe = this.changes.onChange((service) => void this.refresh(service));
    // In the background: the agent serves meanwhile; refreshes asked for wait for it.
    this.ready = this.start();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    for (const name of [...this.registered.keys()]) this.unregister(name);
    const going = [...this.running.values()].flatMap((runs) => [...runs.keys()]);
    for (const abort of going) abort.abort();
    // The runs record themselves interrupted as their containers go (bounded by the stop).
    const deadline = Date.now() + 10_000;
    while (this.running.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  /** Waits for the start (interrupted runs, leftovers, first registration): tests and RPCs that must see it. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  private async start(): Promise<void> {
    try {
      const now = this.clock.now();
      for (const run of await this.registry.interruptRunningJobRuns(now)) {
        this.logger.warn(`job run ${run.service}/${run.job} (#${run.id}) was cut off by the agent's stop; recorded interrupted`);
        this.metrics.jobFinished({ service: run.service, job: run.job, result: 'interrupted', seconds: run.durationMs / 1000, at: now });
        await this.registry.addEvent({ service: run.service, component: '', kind: 'job_interrupted', message: `job ${run.job}: run #${run.id} was cut off by the agent's stop; its container was removed` });
      }
      // The killed process's job containers are removed before anything new starts.
      await this.containers.removeLeftoverRunsAtStart();
      for (const record of await this.registry.listServices()) {
        // One service's trouble does not keep the others' schedules from registering.
        try {
          await this.sync(record.name);
          await this.catchUp(record);
        } catch (error) {
          this.logger.error(`jobs of "${record.name}": ${(error as Error).message}`);
        }
      }
    } catch (error) {
      this.logger.error(`jobs: could not start the schedules: ${(error as Error).message}`);
    }
  }

  /** Re-reads the service and registers, keeps or removes its jobs' schedules. */
  refresh(service: string): Promise<void> {
    return this.refreshes
      .run(service, async () => {
        await this.ready.catch(() => undefined);
        if (!this.stopping) await this.sync(service);
      })
      .catch((error: Error) => this.logger.error(`jobs of "${service}": ${error.message}`));
  }

  private async sync(service: string): Promise<void> {
    const record = await this.registry.getService(service);
    const wanted = new Map<string, { job: JobSpec; key: string }>();
    for (const job of record?.jobs ?? []) {
      if (record && this.shouldSchedule(record, job)) wanted.set(cronName(service, job.name), { job, key: `${job.schedule}|${job.tz ?? 'UTC'}` });
    }
    const prefix = cronName(service, '');
    for (const [name, key] of [...this.registered]) {
      if (name.startsWith(prefix) && wanted.get(name)?.key !== key) this.unregister(name);
    }
    for (const [name, { job, key }] of wanted) {
      if (this.registered.has(name)) continue;
      try {
        const cron = CronJob.from({
          cronTime: job.schedule,
          timeZone: job.tz ?? 'UTC',
          start: false,
          onTick: () => void this.fire(service, job.name),
        });
        this.scheduler.addCronJob(name, cron);
        cron.start();
        this.registered.set(name, key);
      } catch (error) {
        this.logger.error(`job ${service}/${job.name}: schedule "${job.schedule}" not registered: ${(error as Error).message}`);
      }
    }
  }

  /** Active service; a job of a component runs while that component should run. */
  private shouldSchedule(record: ServiceRecord, job: JobSpec): boolean {
    if (!record.active) return false;
    if (!job.component) return true;
    return record.components.some((component) => component.name === job.component && component.desiredState === 'running');
  }

  private unregister(name: string): void {
    try {
      this.scheduler.deleteCronJob(name);
    } catch {
      // Already gone.
    }
    this.registered.delete(name);
  }

  /** `catch_up = true`: one run now when a scheduled time passed since its last run (or since the service was saved). */
  private async catchUp(record: ServiceRecord): Promise<void> {
    for (const job of record.jobs ?? []) {
      if (!job.catch_up || !this.registered.has(cronName(record.name, job.name))) continue;
      const [last] = await this.registry.listJobRuns({ service: record.name, job: job.name, limit: 1 });
      const since = last?.startedAt ?? record.updatedAt;
      // A Date of this realm (the cron library tells Date from luxon's DateTime by instanceof).
      const due = new CronTime(job.schedule, job.tz ?? 'UTC').getNextDateFrom(new Date(since.getTime()), job.tz ?? 'UTC').toJSDate();
      if (due.getTime() <= this.clock.now().getTime()) {
        this.logger.log(`job ${record.name}/${job.name}: a run due at ${due.toISOString()} was missed; catching up`);
        void this.run({ service: record.name, job: job.name, trigger: 'catch_up' }).catch((error: Error) => this.logger.error(`job ${record.name}/${job.name}: ${error.message}`));
      }
    }
  }

  private async fire(service: string, job: string): Promise<void> {
    if (this.stopping) return;
    try {
      await this.run({ service, job, trigger: 'schedule' });
    } catch (error) {
      this.logger.error(`job ${service}/${job}: ${(error as Error).message}`);
    }
  }

  /** Runs one job now (scheduled, by hand, or a catch-up) and answers its recorded run. */
  async run(input: JobRunInput): Promise<JobRunRecord> {
    const record = await this.registry.getService(input.service);
    if (!record) throw new ServiceNotFoundError(input.service);
    const job = record.jobs?.find((candidate) => candidate.name === input.job);
    if (!job) {
      const names = (record.jobs ?? []).map((candidate) => candidate.name);
      throw new NotFoundError(`job "${input.service}/${input.job}" not found (${names.length ? `jobs: ${names.join(', ')}` : 'the service has no [[jobs]]'})`);
    }
    const key = `${input.service}/${job.name}`;
    const going = this.running.get(key) ?? new Map<AbortController, string>();
    const startedAt = this.clock.now();
    // Checked and claimed with no await in between, so two ticks cannot both pass.
    if ((job.concurrency ?? 'forbid') === 'forbid' && going.size > 0) return this.skip(input, job, startedAt);
    const abort = new AbortController();
    going.set(abort, '');
    this.running.set(key, going);
    const onCallerAbort = (): void => abort.abort();
    input.signal?.addEventListener('abort', onCallerAbort, { once: true });
    try {
      return await this.execute(input, record, job, abort, startedAt, going);
    } finally {
      input.signal?.removeEventListener('abort', onCallerAbort);
      going.delete(abort);
      if (going.size === 0 && this.running.get(key) === going) this.running.delete(key);
    }
  }

  private async skip(input: JobRunInput, job: JobSpec, at: Date): Promise<JobRunRecord> {
    const message = 'skipped: the previous run still goes (concurrency = "forbid")';
    const run = await this.registry.addJobRun({ service: input.service, job: job.name, trigger: input.trigger, startedAt: at, finishedAt: at, result: 'skipped', container: '', message });
    this.metrics.jobFinished({ service: input.service, job: job.name, result: 'skipped', seconds: 0, at });
    await this.registry.addEvent({ service: input.service, component: '', kind: 'job_skipped', message: `job ${job.name}: ${message}` });
    return run;
  }

  private async execute(input: JobRunInput, record: ServiceRecord, job: JobSpec, abort: AbortController, startedAt: Date, going: Map<AbortController, string>): Promise<JobRunRecord> {
    const run = await this.registry.addJobRun({ service: input.service, job: job.name, trigger: input.trigger, startedAt, result: 'running', container: '', message: '' });
    const timeout = job.timeout ?? DEFAULT_JOB_TIMEOUT;
    const output = new OutputTail(JOB_OUTPUT_KEPT);
    const began = Date.now();
    let container = '';
    let result: JobRunResult;
    let exitCode: number | null = null;
    let message = '';
    try {
      const spec = this.specOf(record, job);
      const outcome = await this.containers.runOneOff({
        service: input.service,
        spec,
        kind: `job:${job.name}`,
        cmd: job.cmd,
        image: job.component ? job.image : undefined,
        timeoutMs: parseDuration(timeout) ?? 3_600_000,
        signal: abort.signal,
        onStarted: async (name) => {
          container = name;
          going.set(abort, name);
          await input.onStarted?.(name);
        },
        onOutput: async (chunk) => {
          output.push(chunk.data);
          await input.onOutput?.(chunk);
        },
      });
      exitCode = outcome.exitCode;
      if (outcome.timedOut) {
        result = 'timed_out';
        message = `ran longer than its timeout of ${timeout} and was killed`;
      } else if (outcome.aborted) {
        result = 'interrupted';
        exitCode = null;
        message = this.stopping ? 'the agent stopped while it ran' : 'cancelled: the caller went away';
      } else if (outcome.exitCode === 0) {
        result = 'succeeded';
      } else {
        result = 'failed';
        message = `exited ${outcome.exitCode}`;
      }
    } catch (error) {
      result = 'failed';
      message = `could not run: ${(error as Error).message}`;
    }
    const finishedAt = this.clock.now();
    const finished: JobRunRecord = { ...run, finishedAt, result, exitCode, durationMs: Date.now() - began, container, message, output: output.text() };
    await this.registry.finishJobRun(finished);
    this.metrics.jobFinished({ service: input.service, job: job.name, result, seconds: finished.durationMs / 1000, at: finishedAt });
    if (result === 'failed' || result === 'timed_out') {
      const text = `job ${input.service}/${job.name} ${message}`;
      await this.registry.addEvent({ service: input.service, component: '', kind: 'job_failed', message: text }).catch(() => undefined);
      void this.alerts.send({ kind: 'job_failed', node: this.config.agent.nodeName, service: input.service, component: job.name, desired: 'succeeded', observed: result, message: text, time: finishedAt });
    }
    return finished;
  }

  /** The component's spec (its image replaced by the job's, when given), or the job's image alone. */
  private specOf(record: ServiceRecord, job: JobSpec): ComponentSpec {
    if (!job.component) return { name: job.name, image: job.image ?? '', ports: [], volumes: [], cmd: [], env: [], routes: [] };
    const component = record.components.find((candidate) => candidate.name === job.component);
    if (!component) throw new NotFoundError(`component "${record.name}/${job.component}" of job "${job.name}" is not in the registry`);
    return component.spec;
  }

  /** What `mcp jobs` shows: every job of the service (or of every service). */
  async list(query: { service?: string }): Promise<JobView[]> {
    const records = query.service ? [await this.registry.getService(query.service)] : await this.registry.listServices();
    if (query.service && !records[0]) throw new ServiceNotFoundError(query.service);
    const views: JobView[] = [];
    for (const record of records) {
      if (!record) continue;
      for (const spec of record.jobs ?? []) {
        const name = cronName(record.name, spec.name);
        const [lastRun] = await this.registry.listJobRuns({ service: record.name, job: spec.name, limit: 1 });
        let nextRun: Date | undefined;
        if (this.registered.has(name)) {
          try {
            nextRun = this.scheduler.getCronJob(name).nextDate().toJSDate();
          } catch {
            nextRun = undefined;
          }
        }
        views.push({ service: record.name, spec, scheduled: this.registered.has(name), lastRun, nextRun, running: this.running.get(`${record.name}/${spec.name}`)?.size ?? 0 });
      }
    }
    return views;
  }

  async runs(query: { service: string; job: string }): Promise<JobRunRecord[]> {
    const record = await this.registry.getService(query.service);
    if (!record) throw new ServiceNotFoundError(query.service);
    if (!record.jobs?.some((job) => job.name === query.job)) {
      const runs = await this.registry.listJobRuns({ service: query.service, job: query.job });
      if (!runs.length) throw new NotFoundError(`job "${query.service}/${query.job}" not found`);
      return runs;
    }
    return this.registry.listJobRuns({ service: query.service, job: query.job });
  }

  /** The job containers running now: `mcp ps` lists them (KIND job). */
  runningContainers(): Array<{ service: string; job: string; container: string }> {
    return [...this.running].flatMap(([key, runs]) => {
      const [service, job] = key.split('/');
      return [...runs.values()].filter((container) => container !== '').map((container) => ({ service, job, container }));
    });
  }
}
