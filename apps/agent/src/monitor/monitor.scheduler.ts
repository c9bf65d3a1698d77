import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { AgentConfig } from '../config/agent-config';
import { MonitorService } from './monitor.service';

export const MONITOR_INTERVAL_NAME = 'mcp-monitor';

/**
 * Triggers MonitorService.runOnce() every `monitor.interval` when the monitor is enabled.
 * A tick still running when the next is due is skipped by runOnce itself, so ticks never
 * overlap; a failed tick (podman down) is logged and the next one tries again.
 */
@Injectable()
export class MonitorScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(MonitorScheduler.name);

  constructor(
    private readonly config: AgentConfig,
    private readonly monitor: MonitorService,
    private readonly scheduler: SchedulerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.monitor.enabled) {
      this.logger.log('monitor disabled');
      return;
    }
    const timer = setInterval(() => void this.tick(), this.config.monitor.intervalMs);
    timer.unref?.();
    this.scheduler.addInterval(MONITOR_INTERVAL_NAME, timer);
    this.logger.log(`monitor every ${this.config.monitor.intervalMs} ms`);
  }

  onModuleDestroy(): void {
    if (this.scheduler.doesExist('interval', MONITOR_INTERVAL_NAME)) this.scheduler.deleteInterval(MONITOR_INTERVAL_NAME);
  }

  async tick(): Promise<void> {
    try {
      const result = await this.monitor.runOnce();
      if (result.skipped) this.logger.warn('monitor tick skipped: the previous one is still running');
    } catch (error) {
      this.logger.error(`monitor tick failed: ${(error as Error).message}`);
    }
  }
}
