import type { ServerReadableStream, sendUnaryData } from '@grpc/grpc-js';
import { Module, type DynamicModule } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import type { mcpv1 } from '@mcp/proto';
import type { AdoptController } from './adopt/adopt.controller';
import { AdoptModule } from './adopt/adopt.module';
import { CertificatesModule } from './certificates/certificates.module';
import { AgentConfig } from './config/agent-config';
import type { DeployController } from './deploy/deploy.controller';
import { DeployModule } from './deploy/deploy.module';
import type { EventsController } from './events/events.controller';
import { EventsModule } from './events/events.module';
import type { LifecycleController } from './lifecycle/lifecycle.controller';
import { LifecycleModule } from './lifecycle/lifecycle.module';
import { MonitorModule } from './monitor/monitor.module';
import { JsonLogger } from './logging/json-logger';
import { PlatformModule } from './platform.module';
import type { SecretsController } from './secrets/secrets.controller';
import { SecretsModule } from './secrets/secrets.module';
import type { StatusController } from './status/status.controller';
import { StatusModule } from './status/status.module';
import type { TransferController } from './transfer/transfer.controller';
import { TransferModule } from './transfer/transfer.module';

/**
 * The generated service with PushFile in the raw-call shape @StreamCallRpc serves it in
 * (see TransferController); every other RPC exactly as ts-proto generated it.
 */
type AgentService = Omit<mcpv1.McpAgentServiceController, 'pushFile'> & {
  pushFile(call: ServerReadableStream<mcpv1.PushFileRequest, mcpv1.PushFileResponse>, callback: sendUnaryData<mcpv1.PushFileResponse>): Promise<void>;
};

/**
 * The compile-time proof that the feature controllers together serve the whole generated
 * service: an RPC no controller implements, or implements with the wrong types, fails tsc here.
 */
type Serves<T extends AgentService> = T;
export type AgentControllers = Serves<DeployController & LifecycleController & StatusController & TransferController & AdoptController & SecretsController & EventsController>;

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
        EventsModule,
      ],
    };
  }
}
