import * as path from 'node:path';
import { Injectable } from '@nestjs/common';
import { InvalidArgumentError, NAME_PATTERN, NotFoundError, type ComponentSpec, type DesiredState, type ServiceSpec } from '@mcp/common';
import { ServiceRegistry } from '@mcp/registry';
import { KeyedMutex } from '@mcp/deployer';
import { ContainerRuntime, imageTag, LiveContainers, splitContainerName } from '@mcp/runtime';
import { componentSpecHash } from '@mcp/servicedef';
import { AgentConfig } from '../config/agent-config';
import { componentFromContainer } from './adopt-mapping';

export const ADOPTED_EVENT = 'adopted';

/** What AdoptContainers did: one result per container, and the service's definition as adopted. */
export interface AdoptResult {
  service: string;
  results: Array<{ component: string; ok: boolean; error: string; container: string }>;
  spec: ServiceSpec;
}

/**
 * AdoptContainers: takes the containers named `<service>` or `<service>-*` under management,
 * recording each one's settings as its component spec, so that deploying the exported
 * definition afterwards is a no-op (the deployed spec hash is the spec's hash).
 */
@Injectable()
export class AdoptService {
  constructor(
    private readonly config: AgentConfig,
    private readonly registry: ServiceRegistry,
    private readonly runtime: ContainerRuntime,
    private readonly live: LiveContainers,
    private readonly locks: KeyedMutex,
  ) {}

  async adopt(service: string): Promise<AdoptResult> {
    if (!NAME_PATTERN.test(service)) throw new InvalidArgumentError(`service name "${service}" must match ${NAME_PATTERN.source}`);
    // Serialised with deploys and lifecycle operations on the same service.
    return this.locks.run(service, () => this.adoptLocked(service));
  }

  private async adoptLocked(service: string): Promise<AdoptResult> {
    const containers = await this.live.reconcile();
    const known = new Set((await this.registry.listServices()).map((record) => record.name));
    known.add(service);
    const matching = containers
      .map((container) => ({ container, parts: splitContainerName(container.name, known) }))
      .filter(({ parts }) => parts.service === service)
      .sort((a, b) => a.parts.component.localeCompare(b.parts.component));
    if (matching.length === 0) throw new NotFoundError(`no container named "${service}" or "${service}-*" to adopt`);

    const results: AdoptResult['results'] = [];
    const adopted: Array<{ spec: ComponentSpec; desiredState: DesiredState; details: { id: string; name: string; state: string } }> = [];
    for (const { container, parts } of matching) {
      const details = await this.runtime.inspect({ name: container.name });
      if (!details) {
        results.push({ component: parts.component, ok: false, error: `container "${container.name}" disappeared`, container: container.name });
        continue;
      }
      const spec = componentFromContainer({ name: parts.component, container: details, serviceDir: path.join(this.config.agent.srvRoot, service) });
      adopted.push({ spec, desiredState: details.state === 'running' ? 'running' : 'stopped', details });
      results.push({ component: parts.component, ok: true, error: '', container: details.name });
    }
    if (adopted.length === 0) throw new NotFoundError(`no container of "${service}" could be inspected`);

    const existing = await this.registry.getService(service);
    const active = existing?.active ?? adopted.some((entry) => entry.desiredState === 'running');
    await this.registry.saveService({ name: service, active, components: adopted.map(({ spec, desiredState }) => ({ spec, desiredState })) });
    for (const { spec, desiredState, details } of adopted) {
      await this.registry.recordObserved({
        service,
        component: spec.name,
        observedState: details.state,
        version: imageTag(spec.image),
        containerName: details.name,
        containerId: details.id,
        deployedSpecHash: componentSpecHash(spec),
      });
      await this.registry.addEvent({
        service,
        component: spec.name,
        kind: ADOPTED_EVENT,
        message: `adopted container ${details.name} (${spec.image}), desired ${desiredState}`,
        toState: details.state,
      });
    }
    const spec: ServiceSpec = { name: service, node: this.config.agent.nodeName, active, components: adopted.map((entry) => entry.spec) };
    return { service, results, spec };
  }
}
