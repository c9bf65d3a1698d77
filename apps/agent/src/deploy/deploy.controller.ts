import type { Metadata } from '@grpc/grpc-js';
import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { Caller } from '@mcp/auth';
import type { ComponentOutcome } from '@mcp/deployer';
import { toTimestamp, type mcpv1 } from '@mcp/proto';
import type { ReleaseRecord } from '@mcp/registry';
import { toProtoComponent } from '@mcp/servicedef';
import { CurrentCaller } from '../auth/auth.decorators';
import { Rpc } from '../auth/rpc.decorator';
import { DeployService } from './deploy.service';

@Controller()
export class DeployController {
  constructor(private readonly deployments: DeployService) {}

  @Rpc()
  async deploy(@Payload() request: mcpv1.DeployRequest, _metadata?: Metadata, @CurrentCaller() caller?: Caller): Promise<mcpv1.DeployResponse> {
    return toDeployResponse(await this.deployments.deploy({ spec: this.deployments.specFromRequest(request.service), component: request.component || undefined, force: request.force, caller: caller?.username }));
  }

  @Rpc()
  async syncDesiredState(request: mcpv1.SyncDesiredStateRequest): Promise<mcpv1.SyncDesiredStateResponse> {
    return { actions: await this.deployments.sync({ specs: this.deployments.specsFromRequest(request.services), dryRun: request.dryRun }), dryRun: request.dryRun };
  }

  @Rpc()
  async listReleases(request: mcpv1.ListReleasesRequest): Promise<mcpv1.ListReleasesResponse> {
    return { service: request.service, releases: (await this.deployments.listReleases({ service: request.service, component: request.component || undefined })).map(toProtoRelease) };
  }

  @Rpc()
  async rollback(@Payload() request: mcpv1.RollbackRequest, _metadata?: Metadata, @CurrentCaller() caller?: Caller): Promise<mcpv1.RollbackResponse> {
    const result = await this.deployments.rollback({ service: request.service, component: request.component || undefined, to: request.to || undefined, caller: caller?.username });
    return { ...toDeployResponse(result), to: result.to, specs: result.specs.map(toProtoComponent) };
  }

  @Rpc()
  async planDeploy(request: mcpv1.PlanDeployRequest): Promise<mcpv1.PlanDeployResponse> {
    return this.deployments.plan({ spec: this.deployments.specFromRequest(request.service), component: request.component || undefined, force: request.force });
  }
}

function toDeployResponse(result: { service: string; results: ComponentOutcome[] }): mcpv1.DeployResponse {
  return {
    service: result.service,
    results: result.results.map(({ component, ok, error, container, release, logTail, changed }) => ({ component, ok, error, container, release, logTail: logTail.join('\n'), changed })),
  };
}

function toProtoRelease(release: ReleaseRecord): mcpv1.Release {
  return {
    number: release.number,
    service: release.service,
    component: release.component,
    image: release.image,
    digest: release.digest,
    deployedAt: toTimestamp(release.deployedAt),
    deployedBy: release.deployedBy,
    outcome: release.outcome,
    rollbackOf: release.rollbackOf,
    message: release.message,
    spec: toProtoComponent(release.spec),
  };
}
