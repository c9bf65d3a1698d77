import { Module } from '@nestjs/common';
import { AlertsModule } from '@mcp/alerts';
import { AgentConfig } from '../config/agent-config';
import { MonitorScheduler } from './monitor.scheduler';
import { MonitorService } from './monitor.service';

/**
 * The monitor loop and its alerts. Needs the global AgentConfig, ServiceRegistry,
 * ContainerRuntime, Clock and ScheduleModule's SchedulerRegistry.
 */
@Module({
  imports: [
    AlertsModule.forRootAsync({
      inject: [AgentConfig],
      useFactory: (config: AgentConfig) => ({
        command: config.monitor.alertCommand,
        timeoutMs: config.monitor.alertTimeoutMs,
        // The alert command inherits the agent's environment (PATH, HOME, proxies...).
        baseEnv: process.env,
      }),
    }),
  ],
  providers: [MonitorService, MonitorScheduler],
  exports: [MonitorService],
})
export class MonitorModule {}
