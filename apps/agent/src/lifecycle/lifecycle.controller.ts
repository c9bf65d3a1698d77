import { Controller } from '@nestjs/common';
import type { mcpv1 } from '@mcp/proto';
import { Rpc } from '../auth/rpc.decorator';
import { LifecycleService } from './lifecycle.service';

@Controller()
export class LifecycleController {
  constructor(private readonly lifecycle: LifecycleService) {}

  @Rpc()
  stopService(request: mcpv1.StopServiceRequest): Promise<mcpv1.StopServiceResponse> {
    return this.lifecycle.stop({ service: request.service });
  }

  @Rpc()
  startService(request: mcpv1.StartServiceRequest): Promise<mcpv1.StartServiceResponse> {
    return this.lifecycle.start({ service: request.service });
  }

  @Rpc()
  restartService(request: mcpv1.RestartServiceRequest): Promise<mcpv1.RestartServiceResponse> {
    return this.lifecycle.restart({ service: request.service });
  }

  @Rpc()
  undeployService(request: mcpv1.UndeployServiceRequest): Promise<mcpv1.UndeployServiceResponse> {
    return this.lifecycle.undeploy({ service: request.service });
  }

  @Rpc()
  async purgeComponent(request: mcpv1.PurgeComponentRequest): Promise<mcpv1.PurgeComponentResponse> {
    return { purged: await this.lifecycle.purge({ service: request.service || undefined, component: request.component || undefined, defined: request.defined, dryRun: request.dryRun }), dryRun: request.dryRun };
  }
}
