import { Injectable, Logger, Optional } from '@nestjs/common';
import { ContainerNotFoundError, Failpoints, type ComponentSpec, type DesiredState } from '@mcp/common';
import { ServiceRegistry, type ComponentRecord, type RouteRecord } from '@mcp/registry';
import { componentContainerName, ContainerRuntime, imageTag, type SecretInfo } from '@mcp/runtime';
import { componentSpecHash, resolveRouteHostname } from '@mcp/servicedef';
import type { ProxyRoute } from '@mcp/mcproxy';
import { RegistryAuth } from '@mcp/oci';
import { CertificateProvider } from './certificate-provider';
import { ContainerOps } from './container-ops';
import { DeployerOptions } from './deployer-options';
import { PortAllocator } from './port-allocator';
import { RouteService } from './route.service';
import { ServiceSecrets } from './service-secrets';

/** The outcome of deploying one component. */
export interface ComponentOutcome {
  component: string;
  ok: boolean;
  /** Empty when ok. */
  error: string;
  container: string;
  /** False when the spec was unchanged and the running container was left alone. */
  changed: boolean;
}

export interface DeployComponentInput {
  service: string;
  spec: ComponentSpec;
  desired: DesiredState;
  /** Recreate even when the spec is unchanged and the container runs. */
  force: boolean;
  /** The component's registry record before this deploy (for its ports and spec hash). */
  previous?: ComponentRecord;
  /** The service's secrets (ServiceSecrets.versions), when the caller listed them once for several components. */
  secretVersions?: Map<string, SecretInfo>;
}

/**
 * SPEC §2 Deploy steps 2–7 for one component; the caller has validated and stored the spec
 * and holds the service's lock. Never throws: failures come back as `ok: false`, with an
 * `error` event recorded and whatever the failed attempt allocated (ports, routes) released.
 */
@Injectable()
export class ComponentDeployer {
  private readonly logger = new Logger(ComponentDeployer.name);

  constructor(
    private readonly registry: ServiceRegistry,
    private readonly runtime: ContainerRuntime,
    private readonly containers: ContainerOps,
    private readonly ports: PortAllocator,
    private readonly routes: RouteService,
    private readonly certificates: CertificateProvider,
    private readonly options: DeployerOptions,
    private readonly failpoints: Failpoints,
    private readonly secrets: ServiceSecrets,
    /** Registry credentials for pulls; absent when the agent has none configured. */
    @Optional() private readonly registryAuth?: RegistryAuth,
  ) {}

  /** Pulls with the agent's registry credentials when it has some for the image's registry. */
  private async pull(image: string): Promise<void> {
    if (!this.registryAuth) {
      await this.runtime.pull({ image, authFile: this.options.registryAuthFile });
      return;
    }
    await this.registryAuth.pullWithAuth({ image, pull: (auth) => this.runtime.pull({ image, ...auth }) });
  }

  /**
   * The stop sequence of Stop and of a sync that deactivates: routes first (no traffic to a
   * stopping container), then the container (a missing one is as stopped as it gets), then
   * what podman reports now, recorded with a `stopped` event.
   */
  async stop(input: { component: ComponentRecord; message?: string }): Promise<void> {
    const { component } = input;
    const name = componentContainerName(component);
    await this.routes.unregister({ routes: component.routes });
    try {
      await this.runtime.stop({ name, timeoutSeconds: this.options.stopTimeoutSeconds });
    } catch (err) {
      if (!(err instanceof ContainerNotFoundError)) throw err;
    }
    await this.recordObserved({ component, kind: 'stopped', message: input.message });
  }

  /** Records what the runtime says of the component's container now, with an event for the step taken. */
  async recordObserved(input: { component: ComponentRecord; kind: 'stopped' | 'started' | 'restarted'; message?: string }): Promise<void> {
    const { component, kind } = input;
    const name = componentContainerName(component);
    const current = await this.runtime.inspect({ name });
    const state = current?.state ?? 'removed';
    await this.registry.recordObserved({ service: component.service, component: component.name, observedState: state, containerId: current?.id });
    await this.registry.addEvent({ service: component.service, component: component.name, kind, message: input.message ?? `${kind} ${name}`, fromState: component.observedState, toState: state });
  }

  /** The routes of a spec with hostnames resolved and no host ports yet. */
  resolveRoutes(input: { service: string; spec: ComponentSpec }): RouteRecord[] {
    return input.spec.routes.map((route) => ({
      name: route.name ?? '',
      port: route.port,
      mode: route.mode,
      hostname: resolveRouteHostname(input.service, route, this.options.routeDomain),
      hostPort: null,
    }));
  }

  async deploy(input: DeployComponentInput): Promise<ComponentOutcome> {
    const { service, spec } = input;
    const container = componentContainerName({ service, name: spec.name, containerName: input.previous?.containerName });
    const outcome = { component: spec.name, container };
    let hash: string;
    try {
      const versions = input.secretVersions ?? (await this.secrets.versions(service));
      hash = this.secrets.deployHash({ service, spec, specHash: componentSpecHash(spec), versions });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      await this.registry
        .addEvent({ service, component: spec.name, kind: 'error', message: `deploy failed: ${message}` })
        .catch((eventErr) => this.logger.error(`recording deploy failure of ${container}: ${(eventErr as Error).message}`));
      return { ...outcome, ok: false, error: message, changed: false };
    }

    if (!input.force && input.previous && input.previous.deployedSpecHash === hash) {
      const current = await this.runtime.inspect({ name: container }).catch(() => null);
      const wantRunning = input.desired === 'running';
      if (current && (current.state === 'running') === wantRunning) {
        if (wantRunning) await this.routes.register({ service, routes: input.previous.routes }).catch((err) => this.logger.warn(`re-registering routes of ${container}: ${(err as Error).message}`));
        return { ...outcome, ok: true, error: '', changed: false };
      }
    }

    let oldRemoved = false;
    let registered: ProxyRoute[] = [];
    let routesStored = false;
    try {
      const wanted = this.resolveRoutes({ service, spec });
      for (const route of wanted) {
        if (route.mode === 'l7') await this.certificates.ensure({ service, hostname: route.hostname });
      }
      if (!(await this.runtime.imageExists({ image: spec.image }))) {
        await this.pull(spec.image);
      }
      await this.failpoints.hit('deploy.after-pull');
      const hostPorts = await this.ports.allocate({
        service,
        component: spec.name,
        routes: wanted,
        previous: input.previous?.routes,
      });
      const routes = wanted.map((route, i) => ({ ...route, hostPort: hostPorts[i] }));
      await this.failpoints.hit('deploy.after-port-allocation');

      oldRemoved = true;
      await this.containers.stopAndRemove({ name: container });
      const stale = (input.previous?.routes ?? []).filter((old) => !routes.some((r) => r.port === old.port && r.hostname === old.hostname));
      await this.routes.unregister({ routes: stale });
      await this.failpoints.hit('deploy.after-old-removed');

      const id = await this.containers.runComponent({ name: container, service, spec, routes, specHash: hash });
      await this.registry.setRoutes({ service, component: spec.name, routes });
      routesStored = true;
      await this.failpoints.hit('deploy.after-new-running');
      if (input.desired === 'running') {
        registered = await this.routes.register({ service, routes });
        await this.failpoints.hit('deploy.after-route-registration');
      } else {
        await this.routes.unregister({ routes });
        await this.runtime.stop({ name: container, timeoutSeconds: this.options.stopTimeoutSeconds });
      }
      const observed = input.desired === 'running' ? 'running' : 'exited';
      await this.registry.recordObserved({
        service,
        component: spec.name,
        observedState: observed,
        version: imageTag(spec.image),
        containerName: container,
        containerId: id,
        deployedSpecHash: hash,
      });
      await this.registry.addEvent({
        service,
        component: spec.name,
        kind: 'deployed',
        message: `deployed ${spec.image} as ${container}${routes.length ? ` (host ports ${routes.map((r) => r.hostPort).join(', ')})` : ''}`,
        toState: observed,
      });
      return { ...outcome, ok: true, error: '', changed: true };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      await this.cleanUpFailedAttempt({ service, spec, container, oldRemoved, registered, routesStored, previous: input.previous });
      await this.registry
        .addEvent({ service, component: spec.name, kind: 'error', message: `deploy failed: ${message}` })
        .catch((eventErr) => this.logger.error(`recording deploy failure of ${container}: ${(eventErr as Error).message}`));
      return { ...outcome, ok: false, error: message, changed: oldRemoved };
    } finally {
      this.ports.settle({ service, component: spec.name });
    }
  }

  /** After a failure halfway: no half-made container, no routes to nothing, no held ports. */
  private async cleanUpFailedAttempt(input: {
    service: string;
    spec: ComponentSpec;
    container: string;
    oldRemoved: boolean;
    registered: ProxyRoute[];
    routesStored: boolean;
    previous?: ComponentRecord;
  }): Promise<void> {
    if (!input.oldRemoved) return;
    const { service, spec, container } = input;
    const quietly = async (what: string, step: () => Promise<unknown>): Promise<void> => {
      try {
        await step();
      } catch (err) {
        this.logger.warn(`cleaning up failed deploy of ${container}: ${what}: ${(err as Error).message}`);
      }
    };
    await quietly('remove container', () => this.containers.stopAndRemove({ name: container }));
    const toRemove = [...input.registered.map((r) => ({ port: Number(r.listener.slice(1)), hostname: r.hostname })), ...(input.previous?.routes ?? [])];
    await quietly('unregister routes', () => this.routes.unregister({ routes: toRemove }));
    if (input.routesStored || input.previous?.routes.some((r) => r.hostPort !== null)) {
      await quietly('release ports', () => this.registry.releaseHostPorts({ service, component: spec.name }));
    }
    await quietly('record state', () =>
      this.registry.recordObserved({ service, component: spec.name, observedState: 'removed', containerId: '', deployedSpecHash: '' }),
    );
  }
}
