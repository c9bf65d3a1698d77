import { Test } from '@nestjs/testing';
import { makeTestConfig } from '../../../../test/support/test-config';
import { AgentConfig } from '../config/agent-config';
import { MonitorScheduler } from './monitor.scheduler';
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
  async function build(enabled: boolean): Promise<{ sut: MonitorScheduler; monitor: CountingMonitor }> {
    const monitor = new CountingMonitor();
    const moduleRef = await Test.createTestingModule({
      providers: [
        MonitorScheduler,
        { provide: AgentConfig, useValue: makeTestConfig({ monitor: { enabled, intervalMs: 60_000 } }) },
        { provide: MonitorService, useValue: monitor },
      ],
    }).compile();
    return { sut: moduleRef.get(MonitorScheduler), monitor };
  }

  it('should arm the interval when the monitor is enabled, tick on it, and disarm it on shutdown', async () => {
    jest.useFakeTimers();
    try {
      const { sut, monitor } = await build(true);

      sut.onApplicationBootstrap();
      const armed = sut.scheduled;
      await jest.advanceTimersByTimeAsync(120_000);
      sut.onModuleDestroy();
      await jest.advanceTimersByTimeAsync(120_000);

      expect(armed).toBe(true);
      expect(sut.scheduled).toBe(false);
      expect(monitor.ticks).toBe(2);
    } finally {
      jest.useRealTimers();
    }
  });

  it('should arm nothing when the monitor is disabled', async () => {
    const { sut } = await build(false);

    sut.onApplicationBootstrap();

    expect(sut.scheduled).toBe(false);
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
