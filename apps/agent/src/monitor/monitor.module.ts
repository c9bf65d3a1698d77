import { Module } from '@nestjs/common';
import { AlertsModule } from '@mcp/alerts';
import { AgentConfig } from '../config/agent-config';
import { alertsOptionsFromConfig } from './alert-options';
import { MonitorScheduler } from './monitor.scheduler';
import { MonitorService } from './monitor.service';

/**
 * The monitor loop and its alerts (command and/or webhook). Needs the global AgentConfig,
 * ServiceRegistry, ContainerRuntime, Clock and ScheduleModule's SchedulerRegistry.
 */
@Module({
  imports: [
    AlertsModule.forRootAsync({
      inject: [AgentConfig],
      useFactory: (config: AgentConfig) => alertsOptionsFromConfig(config),
    }),
  ],
  providers: [MonitorService, MonitorScheduler],
  exports: [MonitorService],
})
export class MonitorModule {}
