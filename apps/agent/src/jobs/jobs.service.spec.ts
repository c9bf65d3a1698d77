import { SchedulerRegistry } from '@nestjs/schedule';
import type { JobSpec } from '@mcp/common';
import { type ContainerOps, ServiceChanges } from '@mcp/deployer';
import { FakeClock, InMemoryRegistry, RecordingAlertSender, RecordingMetrics } from '../../../../test/fakes';
import type { AgentConfig } from '../config/agent-config';
import { JobsService } from './jobs.service';

type RunOneOff = ContainerOps['runOneOff'];

/** ContainerOps' one-off runs, held until the test lets each go (or answering at once). */
class GatedOneOffs {
  readonly started: Array<{ kind: string; release: (exitCode: number) => void }> = [];
  hold = true;
  leftoversRemoved = 0;

  /** Names of the containers killed by an abort (as ContainerOps removes them). */
  readonly killed: string[] = [];

  readonly runOneOff: RunOneOff = async (input) => {
    const name = `${input.service}-${input.spec.name}-run-${String(this.started.length).padStart(8, '0')}`;
    await input.onStarted?.(name);
    if (!this.hold) {
      this.started.push({ kind: input.kind, release: () => undefined });
      return { name, exitCode: 0, timedOut: false, aborted: false };
    }
    const exitCode = await new Promise<number | 'aborted'>((resolve) => {
      this.started.push({ kind: input.kind, release: resolve });
      input.signal?.addEventListener('abort', () => resolve('aborted'), { once: true });
    });
    if (exitCode === 'aborted') this.killed.push(name);
    return exitCode === 'aborted' ? { name, exitCode: 137, timedOut: false, aborted: true } : { name, exitCode, timedOut: false, aborted: false };
  };

  removeLeftoverRunsAtStart = async (): Promise<string[]> => {
    this.leftoversRemoved++;
    return [];
  };

  async waitForStarts(count: number): Promise<void> {
    const deadline = Date.now() + 5000;
    while (this.started.length < count) {
      if (Date.now() > deadline) throw new Error(`${count} one-off run(s) expected, ${this.started.length} started`);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

describe(JobsService.name, () => {
  let registry: InMemoryRegistry;
  let clock: FakeClock;
  let ops: GatedOneOffs;
  let scheduler: SchedulerRegistry;
  let changes: ServiceChanges;
  let alerts: RecordingAlertSender;
  let sut: JobsService;

  async function saveService(jobs: JobSpec[], active = true): Promise<void> {
    await registry.saveService({
      name: 'notes',
      active,
      jobs,
      components: [{ spec: { name: 'web', image: 'localhost/web:1', ports: [], volumes: [], cmd: [], env: [], routes: [] }, desiredState: active ? 'running' : 'stopped' }],
    });
  }

  beforeEach(() => {
    clock = new FakeClock(new Date('2026-12-07T12:00:00Z'));
    registry = new InMemoryRegistry({ clock });
    ops = new GatedOneOffs();
    scheduler = new SchedulerRegistry();
    changes = new ServiceChanges();
    alerts = new RecordingAlertSender();
    sut = new JobsService({ agent: { nodeName: 'n1' } } as AgentConfig, registry, ops as unknown as ContainerOps, scheduler, changes, alerts, new RecordingMetrics(), clock);
  });

  afterEach(async () => {
    for (const started of ops.started) started.release(0);
    await sut.onApplicationShutdown();
  });

  it('should skip a second run while one goes under forbid, and let both go under allow', async () => {
    await saveService([
      { name: 'once', component: 'web', schedule: '@daily' },
      { name: 'many', component: 'web', schedule: '@daily', concurrency: 'allow' },
    ]);
    const first = sut.run({ service: 'notes', job: 'once', trigger: 'manual' });
    await ops.waitForStarts(1);
    // Whichever comes first: the skipped record, or (the bug) a second container.
    const second = await Promise.race([sut.run({ service: 'notes', job: 'once', trigger: 'schedule' }), ops.waitForStarts(2).then(() => 'a second run started')]);
    expect(second).toMatchObject({ result: 'skipped', container: '', message: 'skipped: the previous run still goes (concurrency = "forbid")' });
    ops.started[0].release(0);
    expect(await first).toMatchObject({ result: 'succeeded', exitCode: 0 });

    const a = sut.run({ service: 'notes', job: 'many', trigger: 'manual' });
    const b = sut.run({ service: 'notes', job: 'many', trigger: 'manual' });
    await ops.waitForStarts(3);
    ops.started[1].release(0);
    ops.started[2].release(4);
    expect([(await a).result, (await b).result]).toEqual(['succeeded', 'failed']);
    expect(alerts.sent).toEqual([expect.objectContaining({ kind: 'job_failed', node: 'n1', service: 'notes', component: 'many', observed: 'failed' })]);
  });

  it("should answer each job's newest runs with `recent` (the dashboard's history), and only the last run without", async () => {
    await saveService([{ name: 'once', component: 'web', schedule: '@daily' }]);
    ops.hold = false;
    for (let i = 0; i < 3; i++) await sut.run({ service: 'notes', job: 'once', trigger: 'manual' });
    const [plain] = await sut.list({ service: 'notes' });
    expect(plain.recentRuns).toEqual([]);
    expect(plain.lastRun?.id).toBe(3);
    const [two] = await sut.list({ service: 'notes', recent: 2 });
    expect(two.recentRuns.map((run) => run.id)).toEqual([3, 2]);
    expect(two.lastRun?.id).toBe(3);
    expect((await sut.list({ service: 'notes', recent: 500 }))[0].recentRuns).toHaveLength(3);
  });

  it('should schedule the jobs of an active service at start and unschedule them when it stops', async () => {
    await saveService([{ name: 'report', component: 'web', schedule: '0 3 * * *' }]);
    sut.onApplicationBootstrap();
    await sut.whenReady();
    expect([...scheduler.getCronJobs().keys()]).toEqual(['job:notes/report']);
    expect(ops.leftoversRemoved).toBe(1);
    const [view] = await sut.list({ service: 'notes' });
    expect(view.nextRun?.toISOString()).toMatch(/T03:00:00\.000Z$/);

    await registry.setServiceActive('notes', false);
    await changes.changed('notes');
    expect([...scheduler.getCronJobs().keys()]).toEqual([]);
  });

  it('should kill the runs going when their service stops, record them stopped without alerting, and answer the change once recorded', async () => {
    await saveService([
      { name: 'report', component: 'web', schedule: '0 3 * * *' },
      { name: 'other', image: 'localhost/tool:1', cmd: ['true'], schedule: '0 3 * * *' },
    ]);
    sut.onApplicationBootstrap();
    await sut.whenReady();
    const report = sut.run({ service: 'notes', job: 'report', trigger: 'manual' });
    const other = sut.run({ service: 'notes', job: 'other', trigger: 'manual' });
    await ops.waitForStarts(2);

    // Another service's change leaves them alone.
    await changes.changed('elsewhere');
    expect(ops.killed).toEqual([]);

    await registry.setServiceActive('notes', false);
    await changes.changed('notes');
    // Recorded by the time the change is answered (LifecycleService's stop waits for it).
    const [reportRun] = await registry.listJobRuns({ service: 'notes', job: 'report' });
    const [otherRun] = await registry.listJobRuns({ service: 'notes', job: 'other' });
    for (const run of [reportRun, otherRun]) {
      expect(run).toMatchObject({ result: 'stopped', exitCode: null });
      expect(run.finishedAt).not.toBeNull();
    }
    expect(reportRun.message).toBe('stopped with component "web" of its service (mcp stop or undeploy); its container was killed');
    expect(otherRun.message).toBe('stopped with its service (mcp stop or undeploy); its container was killed');
    expect(ops.killed).toHaveLength(2);
    expect([(await report).result, (await other).result]).toEqual(['stopped', 'stopped']);
    expect(alerts.sent).toEqual([]);
    expect((await registry.listEvents({ service: 'notes' })).filter((event) => event.kind === 'job_stopped')).toHaveLength(2);
    expect(await sut.list({ service: 'notes' })).toEqual([expect.objectContaining({ running: 0, scheduled: false }), expect.objectContaining({ running: 0, scheduled: false })]);
  });

  it('should start nothing on a tick that comes after its service stopped but before the refresh, and still run a job by hand', async () => {
    await saveService([{ name: 'report', component: 'web', schedule: '0 3 * * *' }]);
    sut.onApplicationBootstrap();
    await sut.whenReady();
    ops.hold = false;
    // The stop's registry write is done; its refresh (which removes the CronJob) has not come yet.
    await registry.setDesiredState({ service: 'notes', state: 'stopped' });
    await registry.setServiceActive('notes', false);
    await sut.tick('notes', 'report');
    expect(ops.started).toEqual([]);
    expect(await registry.listJobRuns({ service: 'notes', job: 'report' })).toEqual([]);

    // `mcp jobs run` on a stopped service still runs it (as `mcp run` does), and a later refresh leaves it be.
    ops.hold = true;
    const manual = sut.run({ service: 'notes', job: 'report', trigger: 'manual' });
    await ops.waitForStarts(1);
    await changes.changed('notes');
    expect(ops.killed).toEqual([]);
    ops.started[0].release(0);
    expect(await manual).toMatchObject({ result: 'succeeded', trigger: 'manual' });
  });

  it('should mark runs left running interrupted at start, and catch up only a catch_up job whose time passed', async () => {
    await saveService([
      { name: 'late', component: 'web', schedule: '0 3 * * *', catch_up: true },
      { name: 'lazy', component: 'web', schedule: '0 3 * * *' },
    ]);
    const stale = await registry.addJobRun({ service: 'notes', job: 'late', trigger: 'schedule', startedAt: new Date('2026-12-05T03:00:00Z'), result: 'running', container: '', message: '' });
    ops.hold = false;
    sut.onApplicationBootstrap();
    await sut.whenReady();
    await ops.waitForStarts(1);
    expect(ops.started.map((s) => s.kind)).toEqual(['job:late']);
    const runs = await registry.listJobRuns({ service: 'notes', job: 'late' });
    expect(runs.find((run) => run.id === stale.id)).toMatchObject({ result: 'interrupted' });
    await new Promise((resolve) => setImmediate(resolve));
    expect((await registry.listJobRuns({ service: 'notes', job: 'late' }))[0]).toMatchObject({ trigger: 'catch_up' });
    expect(await registry.listJobRuns({ service: 'notes', job: 'lazy' })).toEqual([]);
  });
});
