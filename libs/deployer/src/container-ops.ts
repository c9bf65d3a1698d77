import { Injectable } from '@nestjs/common';
import { LABEL_COMPONENT, LABEL_MANAGED, LABEL_SERVICE, LABEL_SPEC_HASH, ContainerRuntime } from '@mcp/runtime';
import type { ComponentSpec } from '@mcp/common';
import type { RouteRecord } from '@mcp/registry';
import { routeEnvName } from '@mcp/servicedef';
import { DeployerOptions } from './deployer-options';
import { secretMounts } from './service-secrets';

/** Container steps several features share: "stop then remove" and "run a component". */
@Injectable()
export class ContainerOps {
  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly options: DeployerOptions,
  ) {}

  /** Stops (bounded by the stop timeout) and removes a container; a missing one is fine. */
  async stopAndRemove(input: { name: string }): Promise<void> {
    await this.runtime.remove({ name: input.name, timeoutSeconds: this.options.stopTimeoutSeconds });
  }

  /** `PORT` / `PORT_<NAME>` for each route with a host port: the app listens there. */
  routeEnv(input: { spec: ComponentSpec; routes: RouteRecord[] }): string[] {
    return input.routes
      .filter((route) => route.hostPort !== null)
      .map((route) => {
        const specRoute = input.spec.routes.find((r) => (r.name ?? '') === route.name) ?? { name: route.name || undefined, port: route.port, mode: route.mode };
        return `${routeEnvName(specRoute, input.spec)}=${route.hostPort}`;
      });
  }

  /**
   * Creates and starts the component's container with the spec's options, explicit ports,
   * `-p <bind>:<hostPort>:<hostPort>` per route, the route env and MCP's labels.
   */
  async runComponent(input: {
    /** The canonical name, or the temporary one a start-first deploy runs the new container under. */
    name: string;
    service: string;
    spec: ComponentSpec;
    routes: RouteRecord[];
    specHash: string;
    /** Default `spec.image`; a rollback runs `repo@digest` when the tag moved since. */
    image?: string;
  }): Promise<string> {
    const { spec } = input;
    const routePorts = input.routes
      .filter((route) => route.hostPort !== null)
      .map((route) => `${this.options.bindAddress}:${route.hostPort}:${route.hostPort}`);
    return this.runtime.run({
      name: input.name,
      image: input.image ?? spec.image,
      network: spec.network,
      user: spec.user,
      restart: spec.restart,
      ports: [...spec.ports, ...routePorts],
      volumes: [...spec.volumes],
      env: [...spec.env, ...this.routeEnv({ spec, routes: input.routes })],
      cmd: [...spec.cmd],
      memory: spec.memory,
      cpus: spec.cpus,
      secrets: secretMounts(input.service, spec),
      labels: {
        [LABEL_MANAGED]: 'true',
        [LABEL_SERVICE]: input.service,
        [LABEL_COMPONENT]: spec.name,
        [LABEL_SPEC_HASH]: input.specHash,
      },
    });
  }
}
