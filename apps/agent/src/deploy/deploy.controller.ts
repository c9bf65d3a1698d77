import { Controller } from '@nestjs/common';
import type { mcpv1 } from '@mcp/proto';
import { Rpc } from '../auth/rpc.decorator';
import { DeployService } from './deploy.service';

@Controller()
export class DeployController {
  constructor(private readonly deployments: DeployService) {}

  @Rpc()
  async deploy(request: mcpv1.DeployRequest): Promise<mcpv1.DeployResponse> {
    return toDeployResponse(await this.deployments.deploy({ spec: this.deployments.specFromRequest(request.service), component: request.component || undefined, force: request.force }));
  }

  @Rpc()
  async syncDesiredState(request: mcpv1.SyncDesiredStateRequest): Promise<mcpv1.SyncDesiredStateResponse> {
    return { actions: await this.deployments.sync({ specs: this.deployments.specsFromRequest(request.services), dryRun: request.dryRun }), dryRun: request.dryRun };
  }
}

function toDeployResponse(result: Awaited<ReturnType<DeployService['deploy']>>): mcpv1.DeployResponse {
  return { service: result.service, results: result.results.map(({ component, ok, error, container }) => ({ component, ok, error, container })) };
}
