import { Injectable, Logger, Optional } from '@nestjs/common';
import { ContainerNotFoundError, Failpoints, ImageNotFoundError, RuntimeUnavailableError, type ComponentSpec, type DeployStrategy, type DesiredState, parseDuration } from '@mcp/common';
import { ServiceRegistry, type ComponentRecord, type ReleaseOutcome, type RouteRecord } from '@mcp/registry';
import { componentContainerName, ContainerRuntime, imageTag, type SecretInfo } from '@mcp/runtime';
import { componentSpecHash, resolveRouteHostname } from '@mcp/servicedef';
import type { ProxyRoute } from '@mcp/mcproxy';
import { RegistryAuth } from '@mcp/oci';
import { CertificateProvider } from './certificate-provider';
import { ContainerOps } from './container-ops';
import { DeployerOptions } from './deployer-options';
import { HealthProber, HealthStates } from './health';
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
  /** The release recorded for this change; 0 when nothing changed. */
  release: number;
  /** The failed container's last log lines (newest last), when a new container ran and failed. */
  logTail: string[];
  /** succeeded / failed / rolled_back; '' when unchanged. */
  outcome: ReleaseOutcome | '';
  strategy: DeployStrategy;
  /** The error that failed the deploy, when one was thrown (callers look for RuntimeUnavailableError). */
  cause?: unknown;
}

/**
 * Podman's service went away under a deploy (socket gone, connection refused): not a failure
 * of the component but of the node, so the whole RPC fails UNAVAILABLE rather than reporting
 * one failed component among others. Each outcome was recorded first (failed release, event,
 * cleanup attempted); the agent's supervisor restarts the service, and deploying again works.
 * Undefined when no outcome failed that way.
 */
export function runtimeUnavailableIn(input: { action: string; service: string; outcomes: ComponentOutcome[] }): RuntimeUnavailableError | undefined {
  const failed = input.outcomes.find((outcome) => !outcome.ok && outcome.cause instanceof RuntimeUnavailableError);
  if (!failed) return undefined;
  const release = failed.release ? ` (release ${failed.release} recorded as failed)` : '';
  return new RuntimeUnavailableError(
    `${input.action} of ${input.service}/${failed.component} failed: ${(failed.cause as Error).message}${release}; the agent restarts its podman service: ${input.action} again in a moment`,
    { cause: failed.cause },
  );
}

/** Who deploys, and as which release. */
export interface ReleaseInfo {
  number: number;
  caller: string;
  /** The release a rollback goes back to; 0 for an ordinary deploy. */
  rollbackOf: number;
}

export interface DeployComponentInput {
  service: string;
  spec: ComponentSpec;
  desired: DesiredState;
  /** Recreate even when the spec is unchanged and the container runs. */
  force: boolean;
  /** The component's registry record before this deploy (for its ports and spec hash). */
  previous?: ComponentRecord;
  /** Default: the service's next release number, deployed by the agent itself (a start that re-creates). */
  release?: ReleaseInfo;
  /** The image to run when not `spec.image` (a rollback runs a digest when the tag moved). */
  runImage?: string;
  /** The service's secrets (ServiceSecrets.versions), when the caller listed them once for several components. */
  secretVersions?: Map<string, SecretInfo>;
}

/** Lines of the failed container's log put into a failed deploy's result (SPEC §8). */
export const FAILED_LOG_LINES = 20;
/** The default drain (SPEC §8). */
export const DEFAULT_DRAIN_MS = 5000;

/** A start-first deploy's new container runs under this name until the old one is gone. No valid name has `_`. */
export const TEMP_SUFFIX = '_next';

export function temporaryName(canonical: string): string {
  return `${canonical}${TEMP_SUFFIX}`;
}

/**
 * SPEC §2 Deploy steps 2–7 and §8 for one component: the health gate, start-first or
 * stop-first, automatic rollback, and the release record. The caller has validated and
 * stored the spec and holds the service's lock. Never throws: failures come back as
 * `ok: false` with the reason, an `error` event recorded and whatever the failed attempt
 * allocated released.
 *
 * Start-first's crash-safety rests on one rule: the registry's `containerName` names the
 * container that serves, and it moves from the old to the new container in the same
 * transaction as the routes' new host ports (`recordDeployment`), before mc-proxy is told.
 * DeployRecovery finishes or undoes whatever a crash interrupted, from that record.
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
    private readonly prober: HealthProber,
    private readonly health: HealthStates,
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
      await this.runtime.stop({ name, timeoutSeconds: this.containers.stopSeconds(component.spec) });
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

  /**
   * The strategy a deploy of this spec uses (SPEC §8): the spec's, else start-first when the
   * component has routes, no explicit ports, and mc-proxy is configured.
   */
  strategyFor(spec: ComponentSpec): DeployStrategy {
    if (spec.strategy) return spec.strategy;
    return spec.routes.length > 0 && spec.ports.length === 0 && this.routes.proxyConfigured ? 'start-first' : 'stop-first';
  }

  async deploy(input: DeployComponentInput): Promise<ComponentOutcome> {
    const { service, spec } = input;
    const container = componentContainerName({ service, name: spec.name, containerName: input.previous?.containerName });
    const strategy = this.strategyFor(spec);
    const base = { component: spec.name, container, strategy };
    let hash: string;
    try {
      hash = await this.deployHash({ service, spec, versions: input.secretVersions });
    } catch (err) {
      return this.refused(input, base, err instanceof Error ? err.message : String(err), err);
    }

    if (!input.force && input.previous && input.previous.deployedSpecHash === hash) {
      const current = await this.runtime.inspect({ name: container }).catch(() => null);
      const wantRunning = input.desired === 'running';
      if (current && (current.state === 'running') === wantRunning) {
        if (wantRunning) await this.routes.register({ service, routes: input.previous.routes }).catch((err) => this.logger.warn(`re-registering routes of ${container}: ${(err as Error).message}`));
        return { ...base, ok: true, error: '', changed: false, release: 0, logTail: [], outcome: '' };
      }
    }

    const info = input.release ?? { number: await this.registry.nextReleaseNumber(service), caller: 'mcp-agent', rollbackOf: 0 };
    const release = info.number;
    const old = await this.runtime.inspect({ name: container }).catch(() => null);
    const startFirst = strategy === 'start-first' && input.desired === 'running' && old?.state === 'running';
    if (strategy === 'start-first' && !this.routes.proxyConfigured) {
      return this.refused(input, base, 'start-first needs mc-proxy, and this agent has no [mcproxy] socket configured: set strategy = "stop-first"');
    }
    if (startFirst) {
      try {
        await this.routes.checkProxy();
      } catch (err) {
        return this.refused(input, base, `mc-proxy is down, so a start-first deploy cannot switch routes; nothing was changed: ${(err as Error).message}`);
      }
    }

    const image = input.runImage ?? spec.image;
    let digest = '';
    let pulled = false;
    try {
      for (const route of this.resolveRoutes({ service, spec })) {
        if (route.mode === 'l7') await this.certificates.ensure({ service, hostname: route.hostname });
      }
      // SPEC §13 `pull`: absent means "missing", what every deploy did before the field existed.
      const policy = spec.pull ?? 'missing';
      if (policy === 'always' || !(await this.runtime.imageExists({ image }))) {
        if (policy === 'never') {
          throw new ImageNotFoundError(`image ${image} is not on this node and pull = "never": push it first (mcp image push ${image}, or mcp deploy --push)`, { args: [], exitCode: null, stderr: '' });
        }
        await this.pull(image);
        pulled = true;
      }
      digest = await this.runtime.imageDigest({ image }).catch(() => '');
    } catch (err) {
      return this.refused(input, base, (err as Error).message, err);
    }
    await this.registry.addRelease({
      service,
      number: release,
      component: spec.name,
      spec,
      image: spec.image,
      digest,
      deployedBy: info.caller,
      outcome: 'in_progress',
      rollbackOf: info.rollbackOf,
      message: '',
      pulled,
    });
    this.health.set({ service, component: spec.name, status: 'starting', detail: `deploying release ${release}` });

    // SPEC §12: the hook runs after the pull and before anything of the old version changes,
    // so the old container keeps serving through it (either strategy); a failure changes nothing else.
    const hookFailure = spec.hooks ? await this.preDeployHook({ service, spec, image, release }) : undefined;
    const result =
      hookFailure ??
      (startFirst
        ? await this.startFirst({ ...input, release: info, container, hash, image })
        : await this.stopFirst({ ...input, release: info, container, hash, image }));
    await this.registry.setReleaseOutcome({ service, number: release, component: spec.name, outcome: result.outcome, message: result.error }).catch((err) => this.logger.error(`recording release ${release} of ${container}: ${(err as Error).message}`));
    if (!result.ok) {
      await this.registry
        .addEvent({ service, component: spec.name, kind: 'deploy_failed', message: `release ${release}: ${result.error}` })
        .catch((err) => this.logger.error(`recording deploy failure of ${container}: ${(err as Error).message}`));
    }
    return { ...base, ...result, changed: true, release };
  }

  /**
   * The health gate's progress, kept as the component's `starting` detail: GetServiceStatus
   * carries it (health_detail), and `mcp deploy` on a terminal shows it while it waits.
   */
  private waiting(service: string, component: string): (message: string) => void {
    return (message) => this.health.set({ service, component, status: 'starting', detail: message });
  }

  /**
   * Runs `[components.hooks] pre_deploy` in a one-off container of the new spec (its image,
   * env, secrets, volumes, network, user; no ports), bounded by its timeout (default 10m).
   * Undefined when it exited 0; otherwise the failed step, with its exit status and its last
   * 20 log lines.
   */
  private async preDeployHook(input: { service: string; spec: ComponentSpec; image: string; release: number }): Promise<StepResult | undefined> {
    const hooks = input.spec.hooks;
    if (!hooks?.pre_deploy.length) return undefined;
    const timeout = hooks.timeout ?? DEFAULT_HOOK_TIMEOUT;
    const argv = JSON.stringify(hooks.pre_deploy);
    const lines = new LineTail(HOOK_LOG_LINES);
    this.health.set({ service: input.service, component: input.spec.name, status: 'starting', detail: `release ${input.release}: pre_deploy hook ${argv}` });
    try {
      const run = await this.containers.runOneOff({
        service: input.service,
        spec: input.spec,
        kind: 'hook:pre_deploy',
        cmd: hooks.pre_deploy,
        image: input.image,
        timeoutMs: parseDuration(timeout) ?? 10 * 60_000,
        onOutput: (chunk) => lines.push(chunk.data),
      });
      if (run.exitCode === 0 && !run.timedOut) return undefined;
      const why = run.timedOut ? `ran longer than its timeout of ${timeout} and was killed` : `exited ${run.exitCode}`;
      return { ok: false, error: `pre_deploy hook ${argv} ${why}; nothing else was changed`, logTail: lines.lines(), outcome: 'failed' };
    } catch (err) {
      return { ok: false, error: `pre_deploy hook ${argv} could not run: ${(err as Error).message}; nothing else was changed`, logTail: lines.lines(), outcome: 'failed', cause: err };
    }
  }

  /** What `deployedSpecHash` records: the spec's hash, with the versions of the secrets it uses. */
  async deployHash(input: { service: string; spec: ComponentSpec; versions?: Map<string, SecretInfo> }): Promise<string> {
    const versions = input.versions ?? (await this.secrets.versions(input.service));
    return this.secrets.deployHash({ service: input.service, spec: input.spec, specHash: componentSpecHash(input.spec), versions });
  }

  /** A failure before anything changed: no release, nothing touched. */
  private async refused(input: DeployComponentInput, base: { component: string; container: string; strategy: DeployStrategy }, error: string, cause?: unknown): Promise<ComponentOutcome> {
    await this.registry
      .addEvent({ service: input.service, component: input.spec.name, kind: 'error', message: `deploy failed: ${error}` })
      .catch((err) => this.logger.error(`recording deploy failure of ${base.container}: ${(err as Error).message}`));
    return { ...base, ok: false, error, changed: false, release: 0, logTail: [], outcome: 'failed', cause };
  }

  /**
   * Start-first (SPEC §8): the new container runs beside the old one under a temporary name;
   * once healthy, the registry and then mc-proxy switch to it; the old one drains and goes;
   * the new one takes the canonical name. Until the switch, a failure touches nothing the old
   * container uses.
   */
  private async startFirst(input: DeployComponentInput & { release: ReleaseInfo; container: string; hash: string; image: string }): Promise<StepResult> {
    const { service, spec, container } = input;
    const temp = temporaryName(container);
    const oldRoutes = input.previous?.routes ?? [];
    let switched = false;
    let ran = false;
    try {
      await this.containers.stopAndRemove({ name: temp, spec });
      const wanted = this.resolveRoutes({ service, spec });
      const hostPorts = await this.ports.allocate({ service, component: spec.name, routes: wanted, beside: true });
      const routes = wanted.map((route, i) => ({ ...route, hostPort: hostPorts[i] }));
      const id = await this.containers.runComponent({ service, spec, routes, specHash: input.hash, name: temp, image: input.image });
      ran = true;
      this.logger.log(`${service}/${spec.name}: release ${input.release.number} started as ${temp}; waiting for health`);
      await this.failpoints.hit('deploy.start-first.new-started');

      const health = await this.prober.waitHealthy({ container: temp, spec, routes }, this.waiting(service, spec.name));
      if (!health.ok) {
        const logTail = await this.logTail(temp);
        await this.containers.stopAndRemove({ name: temp, spec });
        this.health.set({ service, component: spec.name, status: 'healthy', detail: 'the old container kept serving' });
        return { ok: false, error: `${health.detail}; the old container kept serving`, logTail, outcome: 'failed' };
      }
      const healthyAt = Date.now();
      await this.failpoints.hit('deploy.start-first.new-healthy');

      await this.registry.recordDeployment({
        service,
        component: spec.name,
        routes,
        observedState: 'running',
        version: imageTag(spec.image),
        containerName: temp,
        containerId: id,
        deployedSpecHash: input.hash,
      });
      switched = true;
      await this.routes.register({ service, routes });
      const stale = oldRoutes.filter((old) => !routes.some((r) => r.port === old.port && r.hostname === old.hostname));
      await this.routes.unregister({ routes: stale });
      this.logger.log(`${service}/${spec.name}: routes switched to ${temp} ${Date.now() - healthyAt} ms after health OK`);
      this.health.set({ service, component: spec.name, status: 'healthy', detail: health.detail });
      await this.failpoints.hit('deploy.start-first.route-switched');

      await sleep(drainMs(spec));
      await this.containers.stopAndRemove({ name: container, spec: input.previous?.spec });
      await this.failpoints.hit('deploy.start-first.old-removed');
      await this.runtime.rename({ name: temp, newName: container });
      await this.registry.recordObserved({ service, component: spec.name, observedState: 'running', containerName: container });
      await this.registry.addEvent({
        service,
        component: spec.name,
        kind: 'deployed',
        message: `release ${input.release.number}: deployed ${input.image} start-first as ${container} (host ports ${routes.map((r) => r.hostPort).join(', ')})`,
        toState: 'running',
      });
      return { ok: true, error: '', logTail: [], outcome: 'succeeded' };
    } catch (err) {
      const message = (err as Error).message;
      if (switched) {
        // mc-proxy refused the switch (or a later step failed): the new container is healthy
        // and the registry names it; recovery at the next deploy or start finishes the job.
        return { ok: false, error: `${message} (the new container is healthy and recorded; the next deploy finishes the switch)`, logTail: [], outcome: 'failed', cause: err };
      }
      const logTail = ran ? await this.logTail(temp) : [];
      await this.containers.stopAndRemove({ name: temp, spec }).catch(() => undefined);
      return { ok: false, error: `${message}; the old container kept serving`, logTail, outcome: 'failed', cause: err };
    } finally {
      this.ports.settle({ service, component: spec.name });
    }
  }

  /**
   * Stop-first (SPEC §2 step 4, then §8's health gate). When the new container fails after
   * the old one was removed, the previous release's container is re-created (same spec, same
   * ports) and must be healthy again.
   */
  private async stopFirst(input: DeployComponentInput & { release: ReleaseInfo; container: string; hash: string; image: string }): Promise<StepResult> {
    const { service, spec, container } = input;
    let oldRemoved = false;
    let ran = false;
    let registered: ProxyRoute[] = [];
    let routes: RouteRecord[] = [];
    try {
      const wanted = this.resolveRoutes({ service, spec });
      await this.failpoints.hit('deploy.after-pull');
      const hostPorts = await this.ports.allocate({ service, component: spec.name, routes: wanted, previous: input.previous?.routes });
      routes = wanted.map((route, i) => ({ ...route, hostPort: hostPorts[i] }));
      await this.failpoints.hit('deploy.after-port-allocation');

      oldRemoved = true;
      await this.containers.stopAndRemove({ name: container, spec: input.previous?.spec });
      const stale = (input.previous?.routes ?? []).filter((old) => !routes.some((r) => r.port === old.port && r.hostname === old.hostname));
      await this.routes.unregister({ routes: stale });
      await this.failpoints.hit('deploy.after-old-removed');

      const id = await this.containers.runComponent({ name: container, service, spec, routes, specHash: input.hash, image: input.image });
      ran = true;
      await this.registry.setRoutes({ service, component: spec.name, routes });
      await this.failpoints.hit('deploy.after-new-running');
      if (input.desired === 'running') {
        const health = await this.prober.waitHealthy({ container, spec, routes }, this.waiting(service, spec.name));
        if (!health.ok) throw new UnhealthyError(health.detail);
        this.health.set({ service, component: spec.name, status: 'healthy', detail: health.detail });
        registered = await this.routes.register({ service, routes });
        await this.failpoints.hit('deploy.after-route-registration');
      } else {
        await this.routes.unregister({ routes });
        await this.runtime.stop({ name: container, timeoutSeconds: this.containers.stopSeconds(spec) });
        this.health.forget({ service, component: spec.name });
      }
      const observed = input.desired === 'running' ? 'running' : 'exited';
      await this.registry.recordObserved({
        service,
        component: spec.name,
        observedState: observed,
        version: imageTag(spec.image),
        containerName: container,
        containerId: id,
        deployedSpecHash: input.hash,
      });
      await this.registry.addEvent({
        service,
        component: spec.name,
        kind: 'deployed',
        message: `release ${input.release.number}: deployed ${input.image} as ${container}${routes.length ? ` (host ports ${routes.map((r) => r.hostPort).join(', ')})` : ''}`,
        toState: observed,
      });
      return { ok: true, error: '', logTail: [], outcome: 'succeeded' };
    } catch (err) {
      const message = (err as Error).message;
      const logTail = ran ? await this.logTail(container) : [];
      await this.cleanUpFailedAttempt({ service, spec, container, oldRemoved, registered, routes, previous: input.previous });
      // Nothing to go back to on a first deploy (or before the old container was touched).
      if (!oldRemoved || !input.previous?.deployedSpecHash) return { ok: false, error: message, logTail, outcome: 'failed', cause: err };
      const back = await this.rollBack({ service, spec, previous: input.previous, reason: message });
      return { ok: false, error: back.message, logTail, outcome: back.ok ? 'rolled_back' : 'failed', cause: err };
    } finally {
      this.ports.settle({ service, component: spec.name });
    }
  }

  /**
   * Re-creates the newest succeeded release's container with its spec and the previous ports
   * (stop-first's automatic rollback), and waits for it to be healthy.
   */
  private async rollBack(input: { service: string; spec: ComponentSpec; previous?: ComponentRecord; reason: string }): Promise<{ ok: boolean; message: string }> {
    const { service, spec } = input;
    const container = componentContainerName({ service, name: spec.name, containerName: input.previous?.containerName });
    const last = (await this.registry.listReleases({ service, component: spec.name })).find((r) => r.outcome === 'succeeded');
    const previousRoutes = input.previous?.routes ?? [];
    if (!last || !input.previous || input.previous.deployedSpecHash === '') {
      this.health.forget({ service, component: spec.name });
      return { ok: false, message: `${input.reason}; no earlier release to roll back to` };
    }
    try {
      const routes = this.resolveRoutes({ service, spec: last.spec }).map((route) => ({
        ...route,
        hostPort: previousRoutes.find((p) => p.name === route.name)?.hostPort ?? null,
      }));
      const allocated = await this.ports.allocate({ service, component: spec.name, routes, previous: previousRoutes });
      const withPorts = routes.map((route, i) => ({ ...route, hostPort: allocated[i] }));
      const hash = await this.deployHash({ service, spec: last.spec });
      const image = last.digest && (await this.tagMoved(last.image, last.digest)) ? digestReference(last.image, last.digest) : last.image;
      const id = await this.containers.runComponent({ name: container, service, spec: last.spec, routes: withPorts, specHash: hash, image });
      const health = await this.prober.waitHealthy({ container, spec: last.spec, routes: withPorts }, this.waiting(service, spec.name));
      await this.registry.recordDeployment({
        service,
        component: spec.name,
        routes: withPorts,
        observedState: 'running',
        version: imageTag(last.image),
        containerName: container,
        containerId: id,
        deployedSpecHash: hash,
      });
      await this.routes.register({ service, routes: withPorts });
      this.health.set({ service, component: spec.name, status: health.ok ? 'healthy' : 'unhealthy', detail: health.detail });
      await this.registry.addEvent({ service, component: spec.name, kind: 'rolled_back', message: `rolled back to release ${last.number}: ${input.reason}`, toState: 'running' });
      return {
        ok: health.ok,
        message: health.ok ? `rolled back to release ${last.number}: ${input.reason}` : `rolled back to release ${last.number}, which is not healthy either (${health.detail}): ${input.reason}`,
      };
    } catch (err) {
      return { ok: false, message: `${input.reason}; rolling back to release ${last.number} failed too: ${(err as Error).message}` };
    } finally {
      this.ports.settle({ service, component: spec.name });
    }
  }

  /** Whether `image` (a tag) now resolves to another digest than `digest`, or not at all. */
  async tagMoved(image: string, digest: string): Promise<boolean> {
    if (image.includes('@')) return false;
    const now = await this.runtime.imageDigest({ image }).catch(() => '');
    return now !== digest;
  }

  /** The container's last log lines; empty when they cannot be read. */
  private async logTail(name: string): Promise<string[]> {
    try {
      let text = '';
      for await (const chunk of this.runtime.logs({ name, tail: FAILED_LOG_LINES })) text += chunk.data.toString('utf8');
      return text.split('\n').filter((line) => line !== '').slice(-FAILED_LOG_LINES);
    } catch {
      return [];
    }
  }

  /** After a failure halfway: no half-made container, no routes to nothing, no held ports. */
  private async cleanUpFailedAttempt(input: {
    service: string;
    spec: ComponentSpec;
    container: string;
    oldRemoved: boolean;
    registered: ProxyRoute[];
    routes: RouteRecord[];
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
    await quietly('remove container', () => this.containers.stopAndRemove({ name: container, spec: input.spec }));
    const toRemove = [...input.registered.map((r) => ({ port: Number(r.listener.slice(1)), hostname: r.hostname })), ...(input.previous?.routes ?? [])];
    await quietly('unregister routes', () => this.routes.unregister({ routes: toRemove }));
    await quietly('release ports', () => this.registry.releaseHostPorts({ service, component: spec.name }));
    await quietly('record state', () =>
      this.registry.recordObserved({ service, component: spec.name, observedState: 'removed', containerId: '', deployedSpecHash: '' }),
    );
  }
}

/** SPEC §12: a hook's default timeout, and how many of its last log lines a failure carries. */
const DEFAULT_HOOK_TIMEOUT = '10m';
const HOOK_LOG_LINES = 20;

/** The last N lines of a stream of chunks, without keeping more than that. */
class LineTail {
  private kept: string[] = [];
  private partial = '';
  constructor(private readonly max: number) {}
  push(data: Buffer): void {
    const parts = (this.partial + data.toString('utf8')).split('\n');
    this.partial = (parts.pop() ?? '').slice(-4096);
    this.kept.push(...parts.map((line) => line.slice(0, 4096)));
    if (this.kept.length > this.max) this.kept = this.kept.slice(-this.max);
  }
  lines(): string[] {
    return [...this.kept, ...(this.partial ? [this.partial] : [])].slice(-this.max);
  }
}

interface StepResult {
  ok: boolean;
  error: string;
  logTail: string[];
  outcome: ReleaseOutcome;
  cause?: unknown;
}

class UnhealthyError extends Error {}

/** `repo:tag` + digest → `repo@digest`. */
export function digestReference(image: string, digest: string): string {
  const at = image.indexOf('@');
  const withoutDigest = at >= 0 ? image.slice(0, at) : image;
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  const repo = colon > slash ? withoutDigest.slice(0, colon) : withoutDigest;
  return `${repo}@${digest}`;
}

function drainMs(spec: ComponentSpec): number {
  return spec.drain === undefined ? DEFAULT_DRAIN_MS : (parseDuration(spec.drain) ?? DEFAULT_DRAIN_MS);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
