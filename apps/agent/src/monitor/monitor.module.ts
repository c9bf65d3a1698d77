import { Module, type DynamicModule } from '@nestjs/common';
import { MonitorScheduler } from './monitor.scheduler';
import { MonitorService } from './monitor.service';
import type { Platform } from '../platform.module';

/**
 * The monitor loop. Needs the global AgentConfig, ServiceRegistry, ContainerRuntime, Clock,
 * AlertSender (bound once by PlatformModule) and ScheduleModule's SchedulerRegistry.
 */
@Module({
  providers: [MonitorService, MonitorScheduler],
  exports: [MonitorService],
})
export class MonitorModule {
  /** With the platform modules its providers inject. */
  static register(platform: Platform): DynamicModule {
    return { module: MonitorModule, imports: [platform.core, platform.registry, platform.runtime, platform.metrics, platform.alerts, platform.deployer] };
  }
}
