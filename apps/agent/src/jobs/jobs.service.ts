import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronTime } from 'cron';
import { AlertSender } from '@mcp/alerts';
import { Clock, type ComponentSpec, type JobSpec, NotFoundError, parseDuration, ServiceNotFoundError } from '@mcp/common';
import { ContainerOps, ServiceChanges } from '@mcp/deployer';
import { AgentMetrics } from '@mcp/metrics';
import type { LogChunk } from '@mcp/runtime';
import { JOB_OUTPUT_KEPT, JOB_RUNS_KEPT, type JobRunRecord, type JobRunResult, ServiceRegistry, type ServiceRecord } from '@mcp/registry';
import { AgentConfig } from '../config/agent-config';
import { ServiceSchedules } from '../scheduling/service-schedules';

/** SPEC §12: a job's default timeout. */
export const DEFAULT_JOB_TIMEOUT = '1h';
const CRON_PREFIX = 'job:';

export interface JobView {
  service: string;
  spec: JobSpec;
  scheduled: boolean;
  lastRun?: JobRunRecord;
  /** Its newest runs, newest first, when asked for (`recent`). */
  recentRuns: JobRunRecord[];
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

/** The SchedulerRegistry name of a job is `job:<service>/<job>`; ServiceSchedules names it `<service>/<job>`. */
function scheduleName(service: string, job: string): string {
  return `${service}/${job}`;
}

/** Why a run's AbortController was aborted (its `reason`). */
type AbortReason = 'caller' | 'agent_stopping' | 'service_stopped';

/** A run going now. */
interface GoingRun {
  abort: AbortController;
  /** '' until its container started. */
  container: string;
  /** The job's component ('' for an image-only job). */
  component: string;
  /** It started while its service ran (a scheduled run, or by hand then): a stop kills it. */
  underActiveService: boolean;
  /** Settles once the run is recorded finished. */
  done: Promise<unknown>;
}

/**
 * SPEC §12 jobs: each `[[jobs]]` of an active service is a CronJob (ServiceSchedules: the
 * `cron` library @nestjs/schedule is built on, in Nest's SchedulerRegistry), registered again
 * from the registry whenever the service changes (deploy, sync, stop, start, undeploy, purge)
 * and at agent start. A run is a one-off container of the job's component (ContainerOps
 * .runOneOff, labelled `mcp.run=job:<name>`, so monitor, drift, adopt and purge ignore it),
 * recorded in the registry from start to end; `forbid` skips (and records) a run while one
 * goes; a failed or timed-out run raises `job_failed`. Jobs stop with their service: a stop
 * or undeploy (or the job's component stopped) kills the runs going and records them
 * `stopped`, and a tick that comes after the service stopped starts nothing. Runs still
 * `running` in the registry at start were cut off by the agent's death: they are marked
 * `interrupted` and their containers removed before any schedule fires.
 */
@Injectable()
export class JobsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(JobsService.name);
  private readonly schedules: ServiceSchedules;
  /** Runs going now, per `service/job`. */
  private readonly running = new Map<string, Set<GoingRun>>();

  constructor(
    private readonly config: AgentConfig,
    private readonly registry: ServiceRegistry,
    private readonly containers: ContainerOps,
    scheduler: SchedulerRegistry,
    changes: ServiceChanges,
    private readonly alerts: AlertSender,
    private readonly metrics: AgentMetrics,
    private readonly clock: Clock,
  ) {
    this.schedules = new ServiceSchedules({ scheduler, changes, prefix: CRON_PREFIX, logger: this.logger, what: 'jobs', sync: (service) => this.sync(service) });
  }

  onApplicationBootstrap(): void {
    // In the background: the agent serves meanwhile; refreshes asked for wait for it.
    this.schedules.begin(() => this.startUp());
  }

  async onApplicationShutdown(): Promise<void> {
    this.schedules.end();
    const going = [...this.running.values()].flatMap((runs) => [...runs]);
    for (const run of going) run.abort.abort('agent_stopping' satisfies AbortReason);
    // The runs record themselves interrupted as their containers go (bounded by the stop).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(going.map((run) => run.done)), new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))]);
    clearTimeout(timer);
  }

  /** Waits for the start (interrupted runs, leftovers, first registration): tests and RPCs that must see it. */
  whenReady(): Promise<void> {
    return this.schedules.whenReady();
  }

  private async startUp(): Promise<void> {
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
  }

  /** Re-reads the service: registers, keeps or removes its jobs' schedules, and kills the runs of a service that stopped. */
  refresh(service: string): Promise<void> {
    return this.schedules.refresh(service);
  }

  private async sync(service: string): Promise<void> {
    const record = await this.registry.getService(service);
    const wanted = (record?.jobs ?? [])
      .filter((job) => record && this.shouldSchedule(record, job))
      .map((job) => ({ name: scheduleName(service, job.name), schedule: job.schedule, tz: job.tz, onTick: () => void this.tick(service, job.name) }));
    this.schedules.set(service, wanted);
    await this.stopRunsOf(service, record);
  }

  /** SPEC §12 "jobs stop with their service": the runs that began under the running service, killed once it (or their component) no longer runs. */
  private async stopRunsOf(service: string, record: ServiceRecord | null): Promise<void> {
    const stopped: GoingRun[] = [];
    for (const [key, runs] of this.running) {
      if (!key.startsWith(`${service}/`)) continue;
      for (const run of runs) {
        if (run.underActiveService && !run.abort.signal.aborted && !this.isRunning(record, run.component)) {
          run.abort.abort('service_stopped' satisfies AbortReason);
          stopped.push(run);
        }
      }
    }
    // The stop answers once they are killed and recorded.
    await Promise.allSettled(stopped.map((run) => run.done));
  }

  /** Active service; a job of a component runs while that component should run. */
  private shouldSchedule(record: ServiceRecord, job: JobSpec): boolean {
    return this.isRunning(record, job.component ?? '');
  }

  private isRunning(record: ServiceRecord | null, component: string): boolean {
    if (!record?.active) return false;
    if (!component) return true;
    return record.components.some((candidate) => candidate.name === component && candidate.desiredState === 'running');
  }

  /** `catch_up = true`: one run now when a scheduled time passed since its last run (or since the service was saved). */
  private async catchUp(record: ServiceRecord): Promise<void> {
    for (const job of record.jobs ?? []) {
      if (!job.catch_up || !this.schedules.has(scheduleName(record.name, job.name))) continue;
      const [last] = await this.registry.listJobRuns({ service: record.name, job: job.name, limit: 1 });
      const since = last?.startedAt ?? record.updatedAt;
      // A Date of this realm (the cron library tells Date from luxon's DateTime by instanceof).
      const due = new CronTime(job.schedule, job.tz ?? 'UTC').getNextDateFrom(new Date(since.getTime()), job.tz ?? 'UTC').toJSDate();
      if (due.getTime() <= this.clock.now().getTime()) {
        this.logger.log(`job ${record.name}/${job.name}: a run due at ${due.toISOString()} was missed; catching up`);
        void this.launch({ service: record.name, job: job.name, trigger: 'catch_up' }, true).catch((error: Error) => this.logger.error(`job ${record.name}/${job.name}: ${error.message}`));
      }
    }
  }

  /** What a job's CronJob runs at each tick; never rejects. */
  async tick(service: string, job: string): Promise<void> {
    if (this.schedules.stopping) return;
    try {
      await this.launch({ service, job, trigger: 'schedule' }, true);
    } catch (error) {
      this.logger.error(`job ${service}/${job}: ${(error as Error).message}`);
    }
  }

  /** Runs one job now (scheduled, by hand, or a catch-up) and answers its recorded run. */
  async run(input: JobRunInput): Promise<JobRunRecord> {
    return (await this.launch(input, false))!;
  }

  /**
   * Starts a run and answers its record; with `scheduledOnly` (a tick, a catch-up) nothing
   * when the service no longer schedules the job — a tick may come between a stop's write to
   * the registry and the refresh that removes its CronJob.
   */
  private async launch(input: JobRunInput, scheduledOnly: boolean): Promise<JobRunRecord | undefined> {
    const record = await this.registry.getService(input.service);
    if (!record) throw new ServiceNotFoundError(input.service);
    const job = record.jobs?.find((candidate) => candidate.name === input.job);
    if (!job) {
      const names = (record.jobs ?? []).map((candidate) => candidate.name);
      throw new NotFoundError(`job "${input.service}/${input.job}" not found (${names.length ? `jobs: ${names.join(', ')}` : 'the service has no [[jobs]]'})`);
    }
    const underActiveService = this.shouldSchedule(record, job);
    if (scheduledOnly && (!underActiveService || this.schedules.stopping)) {
      this.logger.log(`job ${input.service}/${job.name}: not started (${input.trigger}): its service no longer runs it`);
      return undefined;
    }
    const key = scheduleName(input.service, job.name);
    const going = this.running.get(key) ?? new Set<GoingRun>();
    const startedAt = this.clock.now();
    // Checked and claimed with no await in between, so two ticks cannot both pass.
    if ((job.concurrency ?? 'forbid') === 'forbid' && going.size > 0) return this.skip(input, job, startedAt);
    const entry: GoingRun = { abort: new AbortController(), container: '', component: job.component ?? '', underActiveService, done: Promise.resolve() };
    going.add(entry);
    this.running.set(key, going);
    const onCallerAbort = (): void => entry.abort.abort('caller' satisfies AbortReason);
    input.signal?.addEventListener('abort', onCallerAbort, { once: true });
    const done = this.execute(input, record, job, entry, startedAt).finally(() => {
      input.signal?.removeEventListener('abort', onCallerAbort);
      going.delete(entry);
      if (going.size === 0 && this.running.get(key) === going) this.running.delete(key);
    });
    entry.done = done.catch(() => undefined);
    return done;
  }

  private async skip(input: JobRunInput, job: JobSpec, at: Date): Promise<JobRunRecord> {
    const message = 'skipped: the previous run still goes (concurrency = "forbid")';
    const run = await this.registry.addJobRun({ service: input.service, job: job.name, trigger: input.trigger, startedAt: at, finishedAt: at, result: 'skipped', container: '', message });
    this.metrics.jobFinished({ service: input.service, job: job.name, result: 'skipped', seconds: 0, at });
    await this.registry.addEvent({ service: input.service, component: '', kind: 'job_skipped', message: `job ${job.name}: ${message}` });
    return run;
  }

  private async execute(input: JobRunInput, record: ServiceRecord, job: JobSpec, entry: GoingRun, startedAt: Date): Promise<JobRunRecord> {
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
        signal: entry.abort.signal,
        onStarted: async (name) => {
          container = name;
          entry.container = name;
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
      } else if (outcome.aborted && entry.abort.signal.reason === ('service_stopped' satisfies AbortReason)) {
        // SPEC §12: jobs stop with their service — an operator's act, no failure (no alert).
        result = 'stopped';
        exitCode = null;
        message = `stopped with ${job.component ? `component "${job.component}" of its service` : 'its service'} (mcp stop or undeploy); its container was killed`;
      } else if (outcome.aborted) {
        result = 'interrupted';
        exitCode = null;
        message = entry.abort.signal.reason === ('agent_stopping' satisfies AbortReason) ? 'the agent stopped while it ran' : 'cancelled: the caller went away';
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
    if (result === 'stopped') {
      await this.registry.addEvent({ service: input.service, component: '', kind: 'job_stopped', message: `job ${job.name}: run #${run.id} ${message}` }).catch(() => undefined);
    }
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

  /** What `mcp jobs` shows: every job of the service (or of every service); with `recent`, each job's newest runs too (at most the 50 kept). */
  async list(query: { service?: string; recent?: number }): Promise<JobView[]> {
    const recent = Math.min(Math.max(0, Math.floor(query.recent ?? 0)), JOB_RUNS_KEPT);
    const records = query.service ? [await this.registry.getService(query.service)] : await this.registry.listServices();
    if (query.service && !records[0]) throw new ServiceNotFoundError(query.service);
    const views: JobView[] = [];
    for (const record of records) {
      if (!record) continue;
      for (const spec of record.jobs ?? []) {
        const name = scheduleName(record.name, spec.name);
        const runs = await this.registry.listJobRuns({ service: record.name, job: spec.name, limit: Math.max(1, recent) });
        const [nextRun] = this.schedules.nextDates(name);
        views.push({ service: record.name, spec, scheduled: this.schedules.has(name), lastRun: runs[0], recentRuns: recent ? runs : [], nextRun, running: this.running.get(name)?.size ?? 0 });
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
      return [...runs].filter((run) => run.container !== '').map((run) => ({ service, job, container: run.container }));
    });
  }
}
