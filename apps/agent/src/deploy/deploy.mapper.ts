import { Injectable } from '@nestjs/common';
import { InvalidArgumentError, InvalidServiceDefinitionError, ValidationError, type ServiceSpec, type ValidationIssue } from '@mcp/common';
import { toTimestamp, type mcpv1 } from '@mcp/proto';
import type { ReleaseRecord } from '@mcp/registry';
import { fromProtoServiceSpec, toProtoComponent, validateServiceSpec } from '@mcp/servicedef';
import { AgentConfig } from '../config/agent-config';
import type { DeployInput, DeployPlan, DeployResult, PlanInput, ReleasesInput, RollbackInput, RollbackResult, SyncInput, SyncResult } from './deploy.service';

/**
 * The one place where the deploy RPCs' generated proto messages become DeployService's domain
 * inputs and its results become responses: DeployService never sees a proto type. Specs are
 * validated here (every issue at once), since a request is where an untrusted spec enters.
 * A new field of a deploy/sync/plan/rollback message is mapped here and nowhere else.
 */
@Injectable()
export class DeployMapper {
  constructor(private readonly config: AgentConfig) {}

  deployInput(request: mcpv1.DeployRequest, caller?: string): DeployInput {
    return { spec: this.serviceSpec(request.service), component: request.component || undefined, force: request.force, caller, overrideCordon: request.overrideCordon };
  }

  deployResponse(result: DeployResult): mcpv1.DeployResponse {
    return {
      service: result.service,
      results: result.results.map(({ component, ok, error, container, release, logTail, changed }) => ({ component, ok, error, container, release, logTail: logTail.join('\n'), changed })),
    };
  }

  syncInput(request: mcpv1.SyncDesiredStateRequest): SyncInput {
    return { specs: this.serviceSpecs(request.services), dryRun: request.dryRun };
  }

  syncResponse(result: SyncResult, request: mcpv1.SyncDesiredStateRequest): mcpv1.SyncDesiredStateResponse {
    return {
      actions: result.actions.map(({ service, component, action, ok, error }) => ({ service, component, action, ok, error })),
      dryRun: request.dryRun,
      jobs: result.jobChanges.map(({ service, changes }) => ({ service, changes })),
    };
  }

  releasesInput(request: mcpv1.ListReleasesRequest): ReleasesInput {
    return { service: request.service, component: request.component || undefined };
  }

  releasesResponse(releases: ReleaseRecord[], request: mcpv1.ListReleasesRequest): mcpv1.ListReleasesResponse {
    return { service: request.service, releases: releases.map(toProtoRelease) };
  }

  rollbackInput(request: mcpv1.RollbackRequest, caller?: string): RollbackInput {
    return { service: request.service, component: request.component || undefined, to: request.to || undefined, caller };
  }

  rollbackResponse(result: RollbackResult): mcpv1.RollbackResponse {
    return { ...this.deployResponse(result), to: result.to, specs: result.specs.map(toProtoComponent) };
  }

  planInput(request: mcpv1.PlanDeployRequest): PlanInput {
    return { spec: this.serviceSpec(request.service), component: request.component || undefined, force: request.force };
  }

  planResponse(plan: DeployPlan): mcpv1.PlanDeployResponse {
    return {
      service: plan.service,
      components: plan.components.map(({ component, action, changes, strategy, hook }) => ({ component, action, changes, strategy, hook: hook ?? '' })),
      ...(plan.jobChanges?.length ? { jobs: { changes: plan.jobChanges } } : {}),
    };
  }

  /** Validates an RPC's spec (every issue at once) into the domain type. */
  serviceSpec(message: mcpv1.ServiceSpec | undefined): ServiceSpec {
    if (!message) throw new InvalidArgumentError('service: required');
    return validateServiceSpec(fromProtoServiceSpec(message, this.config.agent.nodeName));
  }

  /** Validates every spec of a sync; reports all problems of all services at once (`services[i].…`). */
  serviceSpecs(messages: mcpv1.ServiceSpec[]): ServiceSpec[] {
    const issues: ValidationIssue[] = [];
    const specs: ServiceSpec[] = [];
    const seen = new Set<string>();
    messages.forEach((message, index) => {
      try {
        const spec = this.serviceSpec(message);
        if (seen.has(spec.name)) issues.push({ path: `services[${index}].name`, reason: `duplicate service "${spec.name}"` });
        seen.add(spec.name);
        specs.push(spec);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        issues.push(...err.issues.map((issue) => ({ ...issue, path: issue.path ? `services[${index}].${issue.path}` : `services[${index}]` })));
      }
    });
    if (issues.length > 0) throw new InvalidServiceDefinitionError(issues);
    return specs;
  }
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
