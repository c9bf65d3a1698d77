import { Injectable, Logger, Optional, type OnApplicationBootstrap } from '@nestjs/common';
import { AlertSender } from '@mcp/alerts';
import { ComponentNotFoundError, FailedPreconditionError, NotFoundError, RuntimeUnavailableError, ServiceNotFoundError, type ComponentSpec, type DeployStrategy, type DesiredState, type ServiceSpec } from '@mcp/common';
import {
  ComponentDeployer,
  dependencyLayers,
  DeployRecovery,
  digestReference,
  KeyedMutex,
  ImagePruner,
  RouteService,
  runtimeUnavailableIn,
  secretsUsedBy,
  ServiceChanges,
  ServiceSecrets,
  type ComponentOutcome,
  type ReleaseInfo,
} from '@mcp/deployer';
import { AgentMetrics } from '@mcp/metrics';
import { ServiceRegistry, type ReleaseRecord, type ServiceRecord } from '@mcp/registry';
import { componentContainerName, ContainerRuntime, type SecretInfo } from '@mcp/runtime';
import { componentSpecHash, jobChanges, specChanges } from '@mcp/servicedef';
import { AgentConfig } from '../config/agent-config';

// DeployService's domain inputs and results; DeployMapper (deploy.mapper.ts) maps them from and to proto.

export interface DeployInput {
  spec: ServiceSpec;
  component?: string;
  force: boolean;
  caller?: string;
  /** Deploy even though this node is cordoned and does not run the service yet (SPEC §15). */
  overrideCordon?: boolean;
}

export type PlanInput = Omit<DeployInput, 'caller'>;

export interface SyncInput {
  specs: ServiceSpec[];
  dryRun: boolean;
}

export interface ReleasesInput {
  service: string;
  component?: string;
}

export interface RollbackInput extends ReleasesInput {
  /** Absent: per component, the newest succeeded release before the running one. */
  to?: number;
  caller?: string;
}

export interface DeployResult {
  service: string;
  results: ComponentOutcome[];
}

export interface RollbackResult extends DeployResult {
  /** The release rolled back to (0 when components went back to different releases). */
  to: number;
  specs: ComponentSpec[];
}

/** What a deploy would do to one component (SPEC §8 deploy plan). */
export interface ComponentPlan {
  component: string;
  action: 'create' | 'recreate' | 'start' | 'unchanged';
  /** Each field that differs, e.g. "image: 1.0 → 2.0". */
  changes: string[];
  strategy: DeployStrategy;
  /** The pre_deploy hook a create or recreate runs first (SPEC §12); absent: none. */
  hook?: string;
}

export interface DeployPlan {
  service: string;
  components: ComponentPlan[];
  /** SPEC §12: jobs added, removed or changed, one line each (empty: none). */
  jobChanges?: string[];
}

export interface SyncActionResult {
  service: string;
  component: string;
  action: 'deploy' | 'start' | 'stop' | 'unchanged' | 'not_in_definitions';
  ok: boolean;
  error: string;
}

/** What a sync did (or, on a dry run, would do): its actions, and per service its job changes (SPEC §12). */
export interface SyncResult {
  actions: SyncActionResult[];
  /** Services whose [[jobs]] the sync adds, removes or changes, one line per job; none: empty. */
  jobChanges: { service: string; changes: string[] }[];
}

/** Deploy and SyncDesiredState (SPEC §2). Deploys of one service are serialised by its lock. */
@Injectable()
export class DeployService implements OnApplicationBootstrap {
  private readonly logger = new Logger(DeployService.name);

  constructor(
    private readonly config: AgentConfig,
    private readonly registry: ServiceRegistry,
    private readonly runtime: ContainerRuntime,
    private readonly deployer: ComponentDeployer,
    private readonly locks: KeyedMutex,
    private readonly routes: RouteService,
    private readonly recovery: DeployRecovery,
    private readonly alerts: AlertSender,
    private readonly secrets: ServiceSecrets,
    private readonly metrics: AgentMetrics,
    private readonly pruner: ImagePruner,
    @Optional() private readonly changes?: ServiceChanges,
  ) {}

  /** A start-first deploy a crash interrupted is finished or undone before the agent serves. */
  async onApplicationBootstrap(): Promise<void> {
    await this.recovery.recoverAll();
  }

  async deploy(input: DeployInput): Promise<DeployResult> {
    const { spec } = input;
    const targets = input.component ? spec.components.filter((c) => c.name === input.component) : spec.components;
    if (input.component && targets.length === 0) throw new ComponentNotFoundError(spec.name, input.component);
    const desired: DesiredState = spec.active ? 'running' : 'stopped';

    // Its jobs (SPEC §12) are scheduled again from what the registry now says.
    return this.locks.run(spec.name, async () => {
      await this.recoverComponents(spec.name, targets);
      const before = await this.registry.getService(spec.name);
      if (!before && !input.overrideCordon) await this.refuseIfCordoned(spec.name);
      await this.registry.saveService({
        name: spec.name,
        active: spec.active,
        // The definition's [backup] policy (SPEC §14) travels with every deploy; none removes it.
        backup: spec.backup ?? null,
        // Its [[jobs]] (SPEC §12) too: a deploy without them removes them.
        jobs: spec.jobs ?? null,
        components: targets.map((component) => ({ spec: component, desiredState: desired })),
      });
      // One release number for everything this deploy changes; unused when nothing changes.
      const release: ReleaseInfo = { number: await this.registry.nextReleaseNumber(spec.name), caller: input.caller ?? '', rollbackOf: 0 };
      const secretVersions = await this.secrets.versions(spec.name);
      const done = new Map<string, ComponentOutcome>();
      const dependedOn = new Set(targets.flatMap((component) => component.depends_on ?? []));
      // depends_on (SPEC §9): a layer deploys concurrently once every dependency in earlier
      // layers is up; a component whose dependency failed is not deployed at all. Each
      // component's deploy (health gate and strategy included) is one unit of a layer.
      for (const layer of dependencyLayers(targets)) {
        const outcomes = await Promise.all(
          layer.map(async (component) => {
            const blocked = (component.depends_on ?? []).filter((dependency) => done.has(dependency) && !done.get(dependency)?.ok);
            if (blocked.length) {
              return this.notDeployed(spec.name, component, `not deployed: dependency ${blocked.join(', ')} did not come up`);
            }
            const started = performance.now();
            const deployed = await this.deployOne({ service: spec.name, component, desired, force: input.force, before, secretVersions, release });
            const outcome = deployed.ok && desired === 'running' && dependedOn.has(component.name) ? await this.checkUp(deployed) : deployed;
            // An unchanged component left alone is no deploy.
            if (outcome.changed || !outcome.ok) {
              this.metrics.deployFinished({ service: spec.name, component: component.name, outcome: outcome.ok ? 'succeeded' : outcome.outcome === 'rolled_back' ? 'rolled_back' : 'failed', seconds: (performance.now() - started) / 1000 });
            }
            return outcome;
          }),
        );
        for (const outcome of outcomes) done.set(outcome.component, outcome);
      }
      const results = targets.map((component) => done.get(component.name) as ComponentOutcome);
      const unavailable = runtimeUnavailableIn({ action: 'deploy', service: spec.name, outcomes: results });
      if (unavailable) throw unavailable;
      await this.pruneAfter(spec.name, results);
      return { service: spec.name, results };
    }).finally(() => this.changes?.changed(spec.name));
  }

  /**
   * A dependency is up when its container runs; the deploy's health gate (SPEC §8) already
   * waited for it to be healthy.
   */
  private async checkUp(outcome: ComponentOutcome): Promise<ComponentOutcome> {
    const current = await this.runtime.inspect({ name: outcome.container });
    if (current?.state === 'running') return outcome;
    return { ...outcome, ok: false, error: `container ${outcome.container} is ${current?.state ?? 'gone'} right after start` };
  }

  private notDeployed(service: string, component: ComponentSpec, error: string): ComponentOutcome {
    return {
      component: component.name,
      ok: false,
      error,
      container: componentContainerName({ service, name: component.name }),
      changed: false,
      release: 0,
      logTail: [],
      outcome: '',
      strategy: this.deployer.strategyFor(component),
    };
  }

  /** Newest first; NOT_FOUND for a service the agent never knew. */
  async listReleases(input: ReleasesInput): Promise<ReleaseRecord[]> {
    const releases = await this.registry.listReleases(input);
    if (releases.length === 0 && !(await this.registry.getService(input.service))) throw new ServiceNotFoundError(input.service);
    return releases;
  }

  /**
   * A cordoned node (SPEC §15) keeps new services off: a service it does not run yet is
   * refused; the services it runs can still be redeployed (and moved away).
   */
  private async refuseIfCordoned(service: string): Promise<void> {
    const cordon = await this.registry.getCordon();
    if (!cordon) return;
    const node = this.config.agent.nodeName;
    throw new FailedPreconditionError(
      `node ${node} is cordoned (by ${cordon.by || 'unknown'} since ${cordon.at.toISOString()}): deploy ${service} to another node, run mcp node uncordon ${node}, or deploy with --force`,
    );
  }

  /**
   * Deploys the specs of release `to` (default, per component: the newest succeeded release
   * before the one running), by digest when the tag points elsewhere now, with the same health
   * gate and strategy. The rollback is a release of its own, marked as a rollback of `to`.
   */
  async rollback(input: RollbackInput): Promise<RollbackResult> {
    return this.locks.run(input.service, async () => {
      const record = await this.registry.getService(input.service);
      if (!record) throw new ServiceNotFoundError(input.service);
      const components = input.component ? record.components.filter((c) => c.name === input.component) : record.components;
      if (input.component && components.length === 0) throw new ComponentNotFoundError(input.service, input.component);
      await this.recoverComponents(input.service, components.map((c) => c.spec));
      const releases = await this.registry.listReleases({ service: input.service, component: input.component });
      const plan: Array<{ target: ReleaseRecord }> = [];
      for (const component of components) {
        const own = releases.filter((r) => r.component === component.name);
        let target: ReleaseRecord | undefined;
        if (input.to) {
          target = own.find((r) => r.number === input.to);
        } else {
          const running = own.find((r) => r.outcome === 'succeeded');
          target = own.find((r) => r.outcome === 'succeeded' && running !== undefined && r.number < running.number && r.spec && JSON.stringify(r.spec) !== JSON.stringify(running.spec));
        }
        if (target) plan.push({ target });
      }
      if (plan.length === 0) {
        if (input.to) throw new NotFoundError(`release ${input.to} of ${input.service}${input.component ? `/${input.component}` : ''} not found: see mcp releases ${input.service}`);
        throw new FailedPreconditionError(`no earlier succeeded release of ${input.service}${input.component ? `/${input.component}` : ''} to roll back to: see mcp releases ${input.service}`);
      }
      const desired: DesiredState = record.active ? 'running' : 'stopped';
      await this.registry.saveService({ name: input.service, active: record.active, components: plan.map(({ target }) => ({ spec: target.spec, desiredState: desired })) });
      const before = await this.registry.getService(input.service);
      const number = await this.registry.nextReleaseNumber(input.service);
      const results: ComponentOutcome[] = [];
      for (const { target } of plan) {
        const runImage = target.digest && (await this.deployer.tagMoved(target.image, target.digest)) ? digestReference(target.image, target.digest) : undefined;
        results.push(
          await this.deployOne({
            service: input.service,
            component: target.spec,
            desired,
            force: true,
            before,
            release: { number, caller: input.caller ?? '', rollbackOf: target.number },
            runImage,
          }),
        );
      }
      const unavailable = runtimeUnavailableIn({ action: 'rollback', service: input.service, outcomes: results });
      if (unavailable) throw unavailable;
      const targets = new Set(plan.map(({ target }) => target.number));
      await this.pruneAfter(input.service, results);
      return { service: input.service, results, to: targets.size === 1 ? [...targets][0] : 0, specs: plan.map(({ target }) => target.spec) };
    });
  }

  /**
   * What a deploy of this spec would do (SPEC §8 deploy plan), against what runs: per
   * component create, recreate with each changed field, start, or unchanged, and the strategy.
   * Reads only: no pull, no port, no container, no registry write.
   */
  async plan(input: PlanInput): Promise<DeployPlan> {
    const { spec } = input;
    const targets = input.component ? spec.components.filter((c) => c.name === input.component) : spec.components;
    if (input.component && targets.length === 0) throw new ComponentNotFoundError(spec.name, input.component);
    const record = await this.registry.getService(spec.name);
    const releases = record ? await this.registry.listReleases({ service: spec.name }) : [];
    const live = new Map((await this.runtime.list()).map((c) => [c.name, c]));
    // What decides "unchanged" includes the versions of the secrets a component uses (never their values).
    const versions = targets.some((component) => secretsUsedBy(component).length) ? await this.secrets.versions(spec.name) : new Map<string, SecretInfo>();
    const hashOf = (component: ComponentSpec): string => {
      try {
        return this.secrets.deployHash({ service: spec.name, spec: component, specHash: componentSpecHash(component), versions });
      } catch {
        return '';
      }
    };
    const withHook = (plan: ComponentPlan, component: ComponentSpec): ComponentPlan =>
      component.hooks && (plan.action === 'create' || plan.action === 'recreate')
        ? { ...plan, hook: `${JSON.stringify(component.hooks.pre_deploy)} (timeout ${component.hooks.timeout ?? '10m'})` }
        : plan;
    const planOne = (component: ComponentSpec): ComponentPlan => {
      const strategy = this.deployer.strategyFor(component);
      const current = record?.components.find((c) => c.name === component.name);
      const container = live.get(current?.containerName || componentContainerName({ service: spec.name, name: component.name }));
      if (!current || current.deployedSpecHash === '' || !container) {
        return { component: component.name, action: 'create', changes: [], strategy };
      }
      const used = secretsUsedBy(component);
      const deployed =
        deployedSpecOf(current.deployedSpecHash, current.spec, releases.filter((r) => r.component === component.name), hashOf) ??
        (used.length ? current.spec : undefined);
      if (current.deployedSpecHash === hashOf(component) && !input.force) {
        const wantRunning = spec.active;
        if (wantRunning && container.state !== 'running') return { component: component.name, action: 'start', changes: [], strategy };
        return { component: component.name, action: 'unchanged', changes: [], strategy };
      }
      const secretChanges = used.flatMap((name) => {
        const version = versions.get(name);
        if (!version) return [`secret ${name}: not set (the deploy will fail until mcp secret set ${spec.name} ${name})`];
        return container.createdAt && version.createdAt > container.createdAt ? [`secret ${name}: set again since the container was made`] : [];
      });
      const changes = [...(deployed ? specChanges(deployed, component) : ['spec: the deployed spec is not on record']), ...secretChanges];
      return { component: component.name, action: 'recreate', changes: changes.length ? changes : ['--force'], strategy };
    };
    const components = targets.map((component) => withHook(planOne(component), component));
    const jobs = jobChanges(record?.jobs, spec.jobs);
    return { service: spec.name, components, ...(jobs.length ? { jobChanges: jobs } : {}) };
  }

  /** Crash leftovers of the given components are settled before a deploy touches them. */
  private async recoverComponents(service: string, components: ComponentSpec[]): Promise<void> {
    for (const component of components) {
      await this.recovery.recover({ service, component: component.name }).catch((err) => this.logger.warn(`recovering ${service}/${component.name}: ${(err as Error).message}`));
    }
  }

  /**
   * Upserts desired state for every given service; starts or stops to match `active`;
   * deploys components never run. Services not in the request are only reported.
   */
  async sync(input: SyncInput): Promise<SyncResult> {
    const containers = await this.runtime.list();
    const stateOf = new Map(containers.map((c) => [c.name, c.state]));
    const actions: SyncActionResult[] = [];
    const jobChangesOf: SyncResult['jobChanges'] = [];
    const requested = new Set(input.specs.map((s) => s.name));

    for (const spec of input.specs) {
      const planned = await this.locks.run(spec.name, async () => {
        const before = await this.registry.getService(spec.name);
        // The same lines `mcp deploy --dry-run` names (a sync saves the jobs as a deploy does).
        const jobs = jobChanges(before?.jobs, spec.jobs);
        if (jobs.length) jobChangesOf.push({ service: spec.name, changes: jobs });
        const desired: DesiredState = spec.active ? 'running' : 'stopped';
        const plan = dependencyLayers(spec.components).flat().map((component) => {
          const record = before?.components.find((c) => c.name === component.name);
          const name = componentContainerName(record ?? { service: spec.name, name: component.name });
          const running = stateOf.get(name) === 'running';
          const exists = stateOf.has(name);
          let action: SyncActionResult['action'] = 'unchanged';
          if (!record || record.deployedSpecHash === '' || (!exists && desired === 'running')) action = 'deploy';
          else if (desired === 'running' && !running) action = 'start';
          else if (desired === 'stopped' && running) action = 'stop';
          return { component, action };
        });
        if (input.dryRun) {
          return plan.map(({ component, action }) => ({ service: spec.name, component: component.name, action, ok: true, error: '' }));
        }
        await this.registry.saveService({
          name: spec.name,
          active: spec.active,
          backup: spec.backup ?? null,
          jobs: spec.jobs ?? null,
          components: spec.components.map((component) => ({ spec: component, desiredState: desired })),
        });
        const done: SyncActionResult[] = [];
        for (const { component, action } of plan) {
          done.push(await this.applySyncAction({ service: spec.name, component, action, desired, before }));
        }
        return done;
      });
      actions.push(...planned);
      // The schedules follow before the sync answers (SPEC §12: `sync` includes the jobs).
      if (!input.dryRun) await this.changes?.changed(spec.name);
    }

    for (const record of await this.registry.listServices()) {
      if (!requested.has(record.name)) {
        actions.push({ service: record.name, component: '', action: 'not_in_definitions', ok: true, error: '' });
      }
    }
    return { actions, jobChanges: jobChangesOf };
  }

  private async applySyncAction(input: {
    service: string;
    component: ComponentSpec;
    action: SyncActionResult['action'];
    desired: DesiredState;
    before: ServiceRecord | null;
  }): Promise<SyncActionResult> {
    const { service, component, action } = input;
    const base = { service, component: component.name, action };
    try {
      if (action === 'deploy') {
        const outcome = await this.deployOne({ service, component, desired: input.desired, force: true, before: input.before });
        const unavailable = runtimeUnavailableIn({ action: 'sync', service, outcomes: [outcome] });
        if (unavailable) throw unavailable;
        return { ...base, ok: outcome.ok, error: outcome.error };
      }
      const record = input.before?.components.find((c) => c.name === component.name);
      if (record && action === 'stop') await this.deployer.stop({ component: record, message: 'sync: stop' });
      if (record && action === 'start') {
        await this.runtime.start({ name: componentContainerName(record) });
        await this.routes.register({ service, routes: record.routes });
        await this.deployer.recordObserved({ component: record, kind: 'started', message: 'sync: start' });
      }
      return { ...base, ok: true, error: '' };
    } catch (err) {
      // Podman's service gone fails the whole sync UNAVAILABLE, like a deploy (see runtimeUnavailableIn).
      if (err instanceof RuntimeUnavailableError) throw err;
      return { ...base, ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  /**
   * keep_releases (SPEC §8): after a deploy or rollback that changed something and succeeded,
   * images MCP pulled for this service that no kept release uses go. Never fails the deploy.
   */
  private async pruneAfter(service: string, results: ComponentOutcome[]): Promise<void> {
    if (!results.some((r) => r.ok && r.changed)) return;
    await this.pruner.prune(service).catch((err) => this.logger.warn(`pruning images of ${service}: ${(err as Error).message}`));
  }

  private async deployOne(input: {
    service: string;
    component: ComponentSpec;
    desired: DesiredState;
    force: boolean;
    before: ServiceRecord | null;
    release?: ReleaseInfo;
    runImage?: string;
    secretVersions?: Map<string, SecretInfo>;
  }): Promise<ComponentOutcome> {
    const outcome = await this.deployer.deploy({
      service: input.service,
      spec: input.component,
      desired: input.desired,
      force: input.force,
      previous: input.before?.components.find((c) => c.name === input.component.name),
      release: input.release,
      runImage: input.runImage,
      secretVersions: input.secretVersions,
    });
    if (!outcome.ok && outcome.changed) {
      void this.alerts.send({
        kind: 'deploy_failed',
        node: this.config.agent.nodeName,
        service: input.service,
        component: input.component.name,
        desired: input.desired,
        observed: outcome.outcome,
        message: `release ${outcome.release}: ${outcome.error}`,
        time: new Date(),
      });
    }
    return outcome;
  }
}

/**
 * The spec the running container was made from: a release with that hash, else the stored
 * spec when it matches. `hashOf` is the deploy hash (secret versions folded in).
 */
function deployedSpecOf(hash: string, stored: ComponentSpec, releases: ReleaseRecord[], hashOf: (spec: ComponentSpec) => string): ComponentSpec | undefined {
  const release = releases.find((r) => hashOf(r.spec) === hash);
  if (release) return release.spec;
  return hashOf(stored) === hash ? stored : undefined;
}
