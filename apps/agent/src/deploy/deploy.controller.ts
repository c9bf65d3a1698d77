import type { Metadata } from '@grpc/grpc-js';
import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { Caller } from '@mcp/auth';
import type { mcpv1 } from '@mcp/proto';
import { CurrentCaller } from '../auth/auth.decorators';
import { Rpc } from '../auth/rpc.decorator';
import { DeployMapper } from './deploy.mapper';
import { DeployService } from './deploy.service';

/** Proto in and out through DeployMapper; DeployService sees domain types only. */
@Controller()
export class DeployController {
  constructor(
    private readonly deployments: DeployService,
    private readonly map: DeployMapper,
  ) {}

  @Rpc()
  async deploy(@Payload() request: mcpv1.DeployRequest, _metadata?: Metadata, @CurrentCaller() caller?: Caller): Promise<mcpv1.DeployResponse> {
    return this.map.deployResponse(await this.deployments.deploy(this.map.deployInput(request, caller?.username)));
  }

  @Rpc()
  async syncDesiredState(request: mcpv1.SyncDesiredStateRequest): Promise<mcpv1.SyncDesiredStateResponse> {
    return this.map.syncResponse(await this.deployments.sync(this.map.syncInput(request)), request);
  }

  @Rpc()
  async listReleases(request: mcpv1.ListReleasesRequest): Promise<mcpv1.ListReleasesResponse> {
    return this.map.releasesResponse(await this.deployments.listReleases(this.map.releasesInput(request)), request);
  }

  @Rpc()
  async rollback(@Payload() request: mcpv1.RollbackRequest, _metadata?: Metadata, @CurrentCaller() caller?: Caller): Promise<mcpv1.RollbackResponse> {
    return this.map.rollbackResponse(await this.deployments.rollback(this.map.rollbackInput(request, caller?.username)));
  }

  @Rpc()
  async planDeploy(request: mcpv1.PlanDeployRequest): Promise<mcpv1.PlanDeployResponse> {
    return this.map.planResponse(await this.deployments.plan(this.map.planInput(request)));
  }
}
