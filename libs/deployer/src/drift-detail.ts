import { Injectable } from '@nestjs/common';
import type { ComponentSpec } from '@mcp/common';
import { type ComponentRecord, type ReleaseRecord, ServiceRegistry } from '@mcp/registry';
import { componentContainerName, ContainerRuntime, type ContainerSummary, type SecretInfo } from '@mcp/runtime';
import { componentSpecHash } from '@mcp/servicedef';
import { digestReference } from './component-deployer';
import { containerDrift, type ExpectedContainer, summaryDrift } from './container-drift';
import { ContainerOps } from './container-ops';
import { DeployerOptions } from './deployer-options';
import { secretsUsedBy, ServiceSecrets } from './service-secrets';

/**
 * Drift detail (SPEC §8): per component, each field in which the running container differs
 * from the spec it was deployed from. `forService` inspects the containers of one service
 * (what `mcp status <svc>` asks); `fromListing` judges only what a listing carries (labels,
 * image) so a status of every service stays one listing.
 */
@Injectable()
export class DriftDetail {
  constructor(
    private readonly registry: ServiceRegistry,
    private readonly runtime: ContainerRuntime,
    private readonly containers: ContainerOps,
    private readonly secrets: ServiceSecrets,
    private readonly options: DeployerOptions,
  ) {}

  /** `component → fields` for the service's components whose container exists (one inspect each, at once). */
  async forService(input: { service: string; components: ComponentRecord[] }): Promise<Map<string, string[]>> {
    const deployed = input.components.filter((c) => c.deployedSpecHash !== '');
    const expected = await this.expectedOf({ service: input.service, components: deployed });
    const found = new Map<string, string[]>();
    await Promise.all(
      deployed.map(async (component) => {
        const details = await this.runtime.inspect({ name: componentContainerName(component) }).catch(() => null);
        if (details) found.set(component.name, containerDrift(expected.get(component.name)!, details));
      }),
    );
    return found;
  }

  /** What a listing tells: made by hand, or another image. No podman call. */
  async fromListing(input: { service: string; component: ComponentRecord; container: ContainerSummary }): Promise<string[]> {
    if (input.component.deployedSpecHash === '') return [];
    const expected = await this.expectedOf({ service: input.service, components: [input.component], listing: true });
    return summaryDrift(expected.get(input.component.name)!, input.container);
  }

  /**
   * The container each component's deploy made: the spec whose deploy hash the registry
   * records (the newest release with it, else the stored spec), its image (by digest when
   * that release ran one), the ports and variables ContainerOps gave it.
   */
  /** Resolved as ContainerOps resolves them; a spec that cannot be resolved compares as written. */
  private volumesOf(service: string, spec: ComponentSpec): string[] {
    try {
      return this.containers.volumes({ service, spec });
    } catch {
      return spec.volumes;
    }
  }

  private async expectedOf(input: { service: string; components: ComponentRecord[]; listing?: boolean }): Promise<Map<string, ExpectedContainer>> {
    const releases = input.components.length ? await this.registry.listReleases({ service: input.service }) : [];
    // Secret versions are part of the hash only for components that use secrets; a listing never asks podman.
    const needsVersions = !input.listing && input.components.some((c) => secretsUsedBy(c.spec).length > 0);
    const versions = needsVersions ? await this.secrets.versions(input.service).catch(() => new Map<string, SecretInfo>()) : new Map<string, SecretInfo>();
    const hashOf = (spec: ComponentSpec): string => {
      try {
        return this.secrets.deployHash({ service: input.service, spec, specHash: componentSpecHash(spec), versions });
      } catch {
        return '';
      }
    };
    const expected = new Map<string, ExpectedContainer>();
    for (const component of input.components) {
      const own = releases.filter((r) => r.component === component.name);
      const release: ReleaseRecord | undefined =
        own.find((r) => r.outcome === 'succeeded' && hashOf(r.spec) === component.deployedSpecHash) ??
        (hashOf(component.spec) === component.deployedSpecHash ? undefined : own.find((r) => r.outcome === 'succeeded'));
      const spec = release?.spec ?? component.spec;
      // A rollback to a moved tag runs `repo@digest`; either reference is what was deployed.
      const image = release?.digest ? digestReference(release.image, release.digest) : spec.image;
      const routePorts = component.routes.filter((r) => r.hostPort !== null).map((r) => `${this.options.bindAddress}:${r.hostPort}:${r.hostPort}`);
      expected.set(component.name, {
        spec,
        image,
        specHash: component.deployedSpecHash,
        ports: [...spec.ports, ...routePorts],
        env: [...spec.env, ...this.containers.routeEnv({ spec, routes: component.routes })],
        volumes: this.volumesOf(input.service, spec),
        madeByMcp: own.some((r) => r.outcome === 'succeeded' || r.outcome === 'rolled_back'),
      });
    }
    return expected;
  }
}
