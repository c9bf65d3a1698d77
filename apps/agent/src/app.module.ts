import { Module, type DynamicModule } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { AdoptModule } from './adopt/adopt.module';
import { CertificatesModule } from './certificates/certificates.module';
import { AgentConfig } from './config/agent-config';
import { DeployModule } from './deploy/deploy.module';
import { LifecycleModule } from './lifecycle/lifecycle.module';
import { MonitorModule } from './monitor/monitor.module';
import { JsonLogger } from './logging/json-logger';
import { PlatformModule } from './platform.module';
import { SecretsModule } from './secrets/secrets.module';
import { StatusModule } from './status/status.module';
import { TransferModule } from './transfer/transfer.module';

/** The agent: the shared platform plus one module per feature (features never import each other). */
@Module({})
export class AppModule {
  static forRoot(input: { config: AgentConfig; logger?: JsonLogger }): DynamicModule {
    const logger = input.logger ?? new JsonLogger(input.config.log.level);
    return {
      module: AppModule,
      imports: [
        PlatformModule.forRoot({ config: input.config, logger }),
        ScheduleModule.forRoot(),
        DeployModule,
        LifecycleModule,
        StatusModule,
        SecretsModule,
        TransferModule,
        AdoptModule,
        MonitorModule,
        CertificatesModule,
      ],
    };
  }
}
