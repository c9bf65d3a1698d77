import { Module } from '@nestjs/common';
import { AlertsModule } from '@mcp/alerts';
import { AgentConfig } from '../config/agent-config';
import { alertsOptionsFromConfig } from '../monitor/alert-options';
import { DeployController } from './deploy.controller';
import { DeployService } from './deploy.service';

/** Deploy and SyncDesiredState. Its dependencies come from the global platform and deployer modules. */
@Module({
  // deploy_failed alerts go out through the same senders as the monitor's.
  imports: [
    AlertsModule.forRootAsync({
      inject: [AgentConfig],
      useFactory: (config: AgentConfig) => alertsOptionsFromConfig(config),
    }),
  ],
  controllers: [DeployController],
  providers: [DeployService],
})
export class DeployModule {}
