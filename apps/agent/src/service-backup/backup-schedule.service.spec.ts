import { SchedulerRegistry } from '@nestjs/schedule';
import type { BackupPolicy } from '@mcp/common';
import { ServiceChanges } from '@mcp/deployer';
import { FakeClock, InMemoryRegistry, RecordingAlertSender } from '../../../../test/fakes';
import type { AgentConfig } from '../config/agent-config';
import { BackupScheduleService } from './backup-schedule.service';
import type { ServiceBackupService } from './service-backup.service';

type BackupOutcome = Awaited<ReturnType<ServiceBackupService['backup']>>;
const OUTCOME: BackupOutcome = { snapshotId: 'abc12345', files: 3, bytes: 30, dataAdded: 30, durationSeconds: 0.1, pausedSeconds: 0, mode: 'live', forgotten: [] };

/**
 * The real SchedulerRegistry and cron library. A definition's schedule has 5 fields (minutes);
 * these records are saved straight into the registry with a 6-field per-second schedule, which
 * the cron library takes, so a tick comes within a second.
 */
const EVERY_SECOND = '* * * * * *';

/** ServiceBackupService.backup, counted, answering at once or held until released. */
class Backups {
  calls: string[] = [];
  hold = false;
  fail = false;
  private releases: Array<() => void> = [];
  readonly backup = async ({ service }: { service: string }): Promise<BackupOutcome> => {
    this.calls.push(service);
    if (this.hold) await new Promise<void>((resolve) => this.releases.push(resolve));
    if (this.fail) throw new Error('restic: repository unreachable');
    return OUTCOME;
  };
  releaseAll(): void {
    for (const release of this.releases.splice(0)) release();
  }
}

/** Resolves when `done()` holds; fails the test after `ms` (a tick is due within about 1 s). */
async function until(done: () => boolean, what: string, ms = 4000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe(BackupScheduleService.name, () => {
  let clock: FakeClock;
  let registry: InMemoryRegistry;
  let scheduler: SchedulerRegistry;
  let changes: ServiceChanges;
  let backups: Backups;
  let alerts: RecordingAlertSender;
  let sut: BackupScheduleService;

  const save = (backup: BackupPolicy | null, active = true) =>
    registry.saveService({
      name: 'notes',
      active,
      backup,
      components: [{ spec: { name: 'web', image: 'localhost/web:1', ports: [], volumes: [], cmd: [], env: [], routes: [] }, desiredState: active ? 'running' : 'stopped' }],
    });

  beforeEach(() => {
    clock = new FakeClock(new Date('2026-12-07T12:00:00Z'));
    registry = new InMemoryRegistry({ clock });
    scheduler = new SchedulerRegistry();
    changes = new ServiceChanges();
    backups = new Backups();
    alerts = new RecordingAlertSender();
    sut = new BackupScheduleService({ agent: { nodeName: 'n1' } } as AgentConfig, registry, scheduler, changes, backups as unknown as ServiceBackupService, alerts, clock);
  });

  afterEach(() => {
    backups.releaseAll();
    sut.onApplicationShutdown();
  });

  it('should register the schedules it finds at start and back the service up on each tick', async () => {
    await save({ schedule: EVERY_SECOND });
    sut.onApplicationBootstrap();
    await sut.whenReady();

    expect(scheduler.getCronJobs().has('backup:notes')).toBe(true);
    expect(sut.nextRun('notes')).toBeInstanceOf(Date);
    await until(() => backups.calls.length > 0, 'a scheduled backup');
    expect(backups.calls[0]).toBe('notes');
  });

  it('should unschedule a service that stops or loses its schedule, and schedule one that gains it', async () => {
    await save({ mode: 'live' });
    sut.onApplicationBootstrap();
    await sut.whenReady();
    expect(scheduler.getCronJobs().size).toBe(0);

    await save({ schedule: '0 3 * * *' });
    changes.changed('notes');
    await sut.refresh('notes');
    expect(sut.nextRun('notes')?.toISOString()).toMatch(/T03:00:00\.000Z$/);

    await save({ schedule: '0 3 * * *' }, false);
    changes.changed('notes');
    await sut.refresh('notes');
    expect(scheduler.getCronJobs().size).toBe(0);
    expect(sut.nextRun('notes')).toBeUndefined();
  });

  it('should skip a tick while the previous scheduled backup still runs, not queue it', async () => {
    backups.hold = true;
    await save({ schedule: EVERY_SECOND });
    sut.onApplicationBootstrap();
    await sut.whenReady();
    await until(() => backups.calls.length === 1, 'the first scheduled backup');

    // Two more ticks pass while it is held.
    await new Promise((resolve) => setTimeout(resolve, 2200));

    expect(backups.calls).toHaveLength(1);
  });

  it('should raise backup_stale once when no backup succeeded for twice the interval, and again only after a success', async () => {
    await save({ schedule: EVERY_SECOND });
    await registry.recordBackupRun({ service: 'notes', startedAt: clock.now(), finishedAt: clock.now(), ok: true, snapshotId: 'old', files: 1, bytes: 1, durationMs: 1, pausedMs: 0, message: '' });
    sut.onApplicationBootstrap();
    await sut.whenReady();
    await until(() => backups.calls.length >= 1, 'a scheduled backup');
    expect(alerts.sent).toEqual([]);

    // The fake clock says 10 s passed since the last success (the interval is 1 s), and backups fail.
    clock.advance(10_000);
    backups.fail = true;
    await until(() => alerts.sent.length === 1, 'a backup_stale alert');
    expect(alerts.sent[0]).toMatchObject({ kind: 'backup_stale', service: 'notes', node: 'n1', observed: 'stale' });
    expect(alerts.sent[0].message).toContain('no successful backup of notes since 2026-12-07T12:00:00.000Z');
    const failing = backups.calls.length;
    await until(() => backups.calls.length >= failing + 2, 'two more failing ticks');
    expect(alerts.sent).toHaveLength(1);

    // A success re-arms it: still no newer success in the registry, so the next tick alerts again.
    backups.fail = false;
    await until(() => alerts.sent.length === 2, 'backup_stale again after a success');
    expect(alerts.sent.map((alert) => alert.kind)).toEqual(['backup_stale', 'backup_stale']);
  });
});
