import { Test } from '@nestjs/testing';
import { SchedulerRegistry } from '@nestjs/schedule';
import { makeTestConfig } from '../../../../test/support/test-config';
import { AgentConfig } from '../config/agent-config';
import { MONITOR_INTERVAL_NAME, MonitorScheduler } from './monitor.scheduler';
import { MonitorService, type TickResult } from './monitor.service';

/** Counts ticks; the scheduler's only use of the service is runOnce(). */
class CountingMonitor {
  ticks = 0;
  async runOnce(): Promise<TickResult> {
    this.ticks++;
    return { skipped: false, containers: 0, busy: [], changes: [], drifting: [], alerts: [], pruned: 0, health: [] };
  }
}

describe(MonitorScheduler.name, () => {
  async function build(enabled: boolean): Promise<{ sut: MonitorScheduler; registry: SchedulerRegistry; monitor: CountingMonitor }> {
    const monitor = new CountingMonitor();
    const moduleRef = await Test.createTestingModule({
      providers: [
        MonitorScheduler,
        SchedulerRegistry,
        { provide: AgentConfig, useValue: makeTestConfig({ monitor: { enabled, intervalMs: 60_000 } }) },
        { provide: MonitorService, useValue: monitor },
      ],
    }).compile();
    return { sut: moduleRef.get(MonitorScheduler), registry: moduleRef.get(SchedulerRegistry), monitor };
  }

  it('should register the interval when the monitor is enabled, and remove it on shutdown', async () => {
    const { sut, registry } = await build(true);

    sut.onApplicationBootstrap();
    const registered = registry.doesExist('interval', MONITOR_INTERVAL_NAME);
    sut.onModuleDestroy();

    expect(registered).toBe(true);
    expect(registry.doesExist('interval', MONITOR_INTERVAL_NAME)).toBe(false);
  });

  it('should register nothing when the monitor is disabled', async () => {
    const { sut, registry } = await build(false);

    sut.onApplicationBootstrap();

    expect(registry.getIntervals()).toEqual([]);
  });

  it('should run one monitor pass per tick', async () => {
    const { sut, monitor } = await build(true);

    await sut.tick();
    await sut.tick();

    expect(monitor.ticks).toBe(2);
  });

  it('should survive a failing tick', async () => {
    const { sut, monitor } = await build(true);
    monitor.runOnce = () => Promise.reject(new Error('podman down'));

    await expect(sut.tick()).resolves.toBeUndefined();
  });
});
