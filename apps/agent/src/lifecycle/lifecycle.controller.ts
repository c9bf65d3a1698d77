import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type { mcpv1 } from '@mcp/proto';
import { Authenticated } from '../auth/auth.decorators';
import { LifecycleService } from './lifecycle.service';

@Controller()
export class LifecycleController
  implements Pick<mcpv1.McpAgentServiceController, 'stopService' | 'startService' | 'restartService' | 'undeployService' | 'purgeComponent'>
{
  constructor(private readonly lifecycle: LifecycleService) {}

  @GrpcMethod('McpAgentService', 'StopService')
  @Authenticated()
  stopService(request: mcpv1.StopServiceRequest): Promise<mcpv1.StopServiceResponse> {
    return this.lifecycle.stop({ service: request.service });
  }

  @GrpcMethod('McpAgentService', 'StartService')
  @Authenticated()
  startService(request: mcpv1.StartServiceRequest): Promise<mcpv1.StartServiceResponse> {
    return this.lifecycle.start({ service: request.service });
  }

  @GrpcMethod('McpAgentService', 'RestartService')
  @Authenticated()
  restartService(request: mcpv1.RestartServiceRequest): Promise<mcpv1.RestartServiceResponse> {
    return this.lifecycle.restart({ service: request.service });
  }

  @GrpcMethod('McpAgentService', 'UndeployService')
  @Authenticated()
  undeployService(request: mcpv1.UndeployServiceRequest): Promise<mcpv1.UndeployServiceResponse> {
    return this.lifecycle.undeploy({ service: request.service });
  }

  @GrpcMethod('McpAgentService', 'PurgeComponent')
  @Authenticated()
  async purgeComponent(request: mcpv1.PurgeComponentRequest): Promise<mcpv1.PurgeComponentResponse> {
    return { purged: await this.lifecycle.purge({ service: request.service || undefined, component: request.component || undefined, defined: request.defined, dryRun: request.dryRun }), dryRun: request.dryRun };
  }
}
