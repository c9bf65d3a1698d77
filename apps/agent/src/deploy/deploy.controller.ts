import { Controller } from '@nestjs/common';
import type { mcpv1 } from '@mcp/proto';
import { Rpc } from '../auth/rpc.decorator';
import { DeployMapper } from './deploy-mapper';
import { DeployService } from './deploy.service';

@Controller()
export class DeployController {
  constructor(
    private readonly deployments: DeployService,
    private readonly mapper: DeployMapper,
  ) {}

  @Rpc()
  async deploy(request: mcpv1.DeployRequest): Promise<mcpv1.DeployResponse> {
    return this.mapper.toDeployResponse(await this.deployments.deploy({ spec: this.mapper.specFromRequest(request.service), component: request.component || undefined, force: request.force }));
  }

  @Rpc()
  async syncDesiredState(request: mcpv1.SyncDesiredStateRequest): Promise<mcpv1.SyncDesiredStateResponse> {
    return { actions: await this.deployments.sync({ specs: this.mapper.specsFromRequest(request.services), dryRun: request.dryRun }), dryRun: request.dryRun };
  }
}
