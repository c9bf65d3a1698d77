import type { ServerDuplexStream, ServerReadableStream, sendUnaryData } from '@grpc/grpc-js';
import { Module, type DynamicModule } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import type { ClientStreamRpc, mcpv1, RpcResponse, StreamMessage } from '@mcp/proto';
import type { AdoptController } from './adopt/adopt.controller';
import { AdoptModule } from './adopt/adopt.module';
import { CertificatesModule } from './certificates/certificates.module';
import { AgentConfig } from './config/agent-config';
import { AgentConfigModule } from './config/agent-config.module';
import type { DeployController } from './deploy/deploy.controller';
import { DeployModule } from './deploy/deploy.module';
import type { EventsController } from './events/events.controller';
import { EventsModule } from './events/events.module';
import type { ExecController } from './exec/exec.controller';
import { ExecModule } from './exec/exec.module';
import type { JobsController } from './jobs/jobs.controller';
import { JobsModule } from './jobs/jobs.module';
import type { LifecycleController } from './lifecycle/lifecycle.controller';
import type { ImagesController } from './images/images.controller';
import { ImagesModule } from './images/images.module';
import { LifecycleModule } from './lifecycle/lifecycle.module';
import { MonitorModule } from './monitor/monitor.module';
import { JsonLogger } from './logging/json-logger';
import { PlatformModule, platformModules } from './platform.module';
import type { SecretsController } from './secrets/secrets.controller';
import type { ServiceBackupController } from './service-backup/service-backup.controller';
import { ServiceBackupModule } from './service-backup/service-backup.module';
import { SecretsModule } from './secrets/secrets.module';
import type { StatusController } from './status/status.controller';
import { StatusModule } from './status/status.module';
import type { TransferController } from './transfer/transfer.controller';
import { TransferModule } from './transfer/transfer.module';
import type { UpgradeController } from './upgrade/upgrade.controller';
import { UpgradeModule } from './upgrade/upgrade.module';

/**
 * The generated service with the client-streaming RPCs (PushFile, UpgradeAgent, PushImage) in the
 * raw-call shape @StreamCallRpc serves them in (see TransferController); every other RPC
 * exactly as ts-proto generated it.
 */
type AgentService = Omit<mcpv1.McpAgentServiceController, ClientStreamRpc | 'exec'> & {
  [K in ClientStreamRpc]: (call: ServerReadableStream<StreamMessage<K>, RpcResponse<K>>, callback: sendUnaryData<RpcResponse<K>>) => Promise<void>;
} & {
  exec(call: ServerDuplexStream<mcpv1.ExecRequest, mcpv1.ExecResponse>): Promise<void>;
};

/**
 * The compile-time proof that the feature controllers together serve the whole generated
 * service: an RPC no controller implements, or implements with the wrong types, fails tsc here.
 */
type Serves<T extends AgentService> = T;
export type AgentControllers = Serves<DeployController & LifecycleController & StatusController & TransferController & AdoptController & SecretsController & EventsController & UpgradeController & ImagesController & ExecController & ServiceBackupController & JobsController>;

/**
 * The agent: the platform (each lib bound once) plus one module per feature, each importing the
 * platform modules it uses (features never import each other).
 */
@Module({})
export class AppModule {
  static forRoot(input: { config: AgentConfig; logger?: JsonLogger }): DynamicModule {
    const logger = input.logger ?? new JsonLogger(input.config.log.level);
    const platform = platformModules({ config: input.config, logger });
    return {
      module: AppModule,
      imports: [
        AgentConfigModule.forRoot(input.config),
        PlatformModule.forRoot(platform),
        ScheduleModule.forRoot(),
        ...[
          DeployModule,
          LifecycleModule,
          StatusModule,
          SecretsModule,
          TransferModule,
          AdoptModule,
          MonitorModule,
          CertificatesModule,
          EventsModule,
          ImagesModule,
          UpgradeModule,
          ExecModule,
          ServiceBackupModule,
          JobsModule,
        ].map((feature) => feature.register(platform)),
      ],
    };
  }
}
