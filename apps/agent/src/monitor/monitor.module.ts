import { Module } from '@nestjs/common';
import { MonitorScheduler } from './monitor.scheduler';
import { MonitorService } from './monitor.service';

/**
 * The monitor loop. Needs the global AgentConfig, ServiceRegistry, ContainerRuntime, Clock,
 * AlertSender (bound once by PlatformModule) and ScheduleModule's SchedulerRegistry.
 */
@Module({
  providers: [MonitorService, MonitorScheduler],
  exports: [MonitorService],
})
export class MonitorModule {}
