import { Injectable } from '@nestjs/common';
import { InvalidArgumentError, InvalidServiceDefinitionError, ValidationError, type ServiceSpec, type ValidationIssue } from '@mcp/common';
import type { mcpv1 } from '@mcp/proto';
import { fromProtoServiceSpec, validateServiceSpec } from '@mcp/servicedef';
import { AgentConfig } from '../config/agent-config';
import type { DeployResult } from './deploy.service';

/** Deploy's and SyncDesiredState's messages <-> the domain types DeployService works on. */
@Injectable()
export class DeployMapper {
  constructor(private readonly config: AgentConfig) {}

  /** Validates an RPC's spec (every issue at once) into the domain type. */
  specFromRequest(message: mcpv1.ServiceSpec | undefined): ServiceSpec {
    if (!message) throw new InvalidArgumentError('service: required');
    return validateServiceSpec(fromProtoServiceSpec(message, this.config.agent.nodeName));
  }

  /** Validates every spec of a sync; reports all problems of all services at once (`services[i].…`). */
  specsFromRequest(messages: mcpv1.ServiceSpec[]): ServiceSpec[] {
    const issues: ValidationIssue[] = [];
    const specs: ServiceSpec[] = [];
    const seen = new Set<string>();
    messages.forEach((message, index) => {
      try {
        const spec = this.specFromRequest(message);
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

  toDeployResponse(result: DeployResult): mcpv1.DeployResponse {
    return { service: result.service, results: result.results.map(({ component, ok, error, container }) => ({ component, ok, error, container })) };
  }
}
