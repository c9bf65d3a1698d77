import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { AgentConfig } from '../config/agent-config';
import { MonitorService } from './monitor.service';

/**
 * Triggers MonitorService.runOnce() every `monitor.interval` when the monitor is enabled.
 * A tick still running when the next is due is skipped by runOnce itself, so ticks never
 * overlap; a failed tick (podman down) is logged and the next one tries again. A plain
 * timer: @nestjs/schedule (with cron and luxon) is not loaded for two intervals (bench P7).
 */
@Injectable()
export class MonitorScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(MonitorScheduler.name);
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly config: AgentConfig,
    private readonly monitor: MonitorService,
  ) {}

  /** Whether the periodic tick is armed. */
  get scheduled(): boolean {
    return this.timer !== undefined;
  }

  onApplicationBootstrap(): void {
    if (!this.config.monitor.enabled) {
      this.logger.log('monitor disabled');
      return;
    }
    this.timer = setInterval(() => void this.tick(), this.config.monitor.intervalMs);
    this.timer.unref();
    this.logger.log(`monitor every ${this.config.monitor.intervalMs} ms`);
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.timer = undefined;
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
