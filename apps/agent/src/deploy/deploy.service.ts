import { Injectable } from '@nestjs/common';
import { ComponentNotFoundError, InvalidArgumentError, InvalidServiceDefinitionError, ValidationError, type ComponentSpec, type DesiredState, type ServiceSpec, type ValidationIssue } from '@mcp/common';
import { ComponentDeployer, dependencyLayers, KeyedMutex, RouteService, ServiceSecrets, type ComponentOutcome } from '@mcp/deployer';
import type { mcpv1 } from '@mcp/proto';
import { ServiceRegistry, type ServiceRecord } from '@mcp/registry';
import { componentContainerName, ContainerRuntime, type SecretInfo } from '@mcp/runtime';
import { fromProtoServiceSpec, validateServiceSpec } from '@mcp/servicedef';
import { AgentConfig } from '../config/agent-config';

export interface DeployResult {
  service: string;
  results: ComponentOutcome[];
}

export interface SyncActionResult {
  service: string;
  component: string;
  action: 'deploy' | 'start' | 'stop' | 'unchanged' | 'not_in_definitions';
  ok: boolean;
  error: string;
}

/** Deploy and SyncDesiredState (SPEC §2). Deploys of one service are serialised by its lock. */
@Injectable()
export class DeployService {
  constructor(
    private readonly config: AgentConfig,
    private readonly registry: ServiceRegistry,
    private readonly runtime: ContainerRuntime,
    private readonly deployer: ComponentDeployer,
    private readonly locks: KeyedMutex,
    private readonly routes: RouteService,
    private readonly secrets: ServiceSecrets,
  ) {}

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

  async deploy(input: { spec: ServiceSpec; component?: string; force: boolean }): Promise<DeployResult> {
    const { spec } = input;
    const targets = input.component ? spec.components.filter((c) => c.name === input.component) : spec.components;
    if (input.component && targets.length === 0) throw new ComponentNotFoundError(spec.name, input.component);
    const desired: DesiredState = spec.active ? 'running' : 'stopped';

    return this.locks.run(spec.name, async () => {
      const before = await this.registry.getService(spec.name);
      await this.registry.saveService({
        name: spec.name,
        active: spec.active,
        components: targets.map((component) => ({ spec: component, desiredState: desired })),
      });
      const secretVersions = await this.secrets.versions(spec.name);
      const done = new Map<string, ComponentOutcome>();
      const dependedOn = new Set(targets.flatMap((component) => component.depends_on ?? []));
      // depends_on (SPEC §9): a layer deploys concurrently once every dependency in earlier
      // layers is up; a component whose dependency failed is not deployed at all.
      for (const layer of dependencyLayers(targets)) {
        const outcomes = await Promise.all(
          layer.map(async (component) => {
            const blocked = (component.depends_on ?? []).filter((dependency) => done.has(dependency) && !done.get(dependency)?.ok);
            if (blocked.length) {
              return this.notDeployed(spec.name, component, `not deployed: dependency ${blocked.join(', ')} did not come up`);
            }
            const outcome = await this.deployOne({ service: spec.name, component, desired, force: input.force, before, secretVersions });
            return outcome.ok && desired === 'running' && dependedOn.has(component.name) ? this.checkUp(outcome) : outcome;
          }),
        );
        for (const outcome of outcomes) done.set(outcome.component, outcome);
      }
      return { service: spec.name, results: targets.map((component) => done.get(component.name) as ComponentOutcome) };
    });
  }

  /**
   * A dependency is up when its container runs. (With SPEC §8 health checks this becomes
   * "running and healthy"; the deploy flow's health gate is the place that decides it.)
   */
  private async checkUp(outcome: ComponentOutcome): Promise<ComponentOutcome> {
    const current = await this.runtime.inspect({ name: outcome.container });
    if (current?.state === 'running') return outcome;
    return { ...outcome, ok: false, error: `container ${outcome.container} is ${current?.state ?? 'gone'} right after start` };
  }

  private notDeployed(service: string, component: ComponentSpec, error: string): ComponentOutcome {
    return { component: component.name, ok: false, error, container: componentContainerName({ service, name: component.name }), changed: false };
  }

  /**
   * Upserts desired state for every given service; starts or stops to match `active`;
   * deploys components never run. Services not in the request are only reported.
   */
  async sync(input: { specs: ServiceSpec[]; dryRun: boolean }): Promise<SyncActionResult[]> {
    const containers = await this.runtime.list();
    const stateOf = new Map(containers.map((c) => [c.name, c.state]));
    const actions: SyncActionResult[] = [];
    const requested = new Set(input.specs.map((s) => s.name));

    for (const spec of input.specs) {
      const planned = await this.locks.run(spec.name, async () => {
        const before = await this.registry.getService(spec.name);
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
          components: spec.components.map((component) => ({ spec: component, desiredState: desired })),
        });
        const done: SyncActionResult[] = [];
        for (const { component, action } of plan) {
          done.push(await this.applySyncAction({ service: spec.name, component, action, desired, before }));
        }
        return done;
      });
      actions.push(...planned);
    }

    for (const record of await this.registry.listServices()) {
      if (!requested.has(record.name)) {
        actions.push({ service: record.name, component: '', action: 'not_in_definitions', ok: true, error: '' });
      }
    }
    return actions;
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
      return { ...base, ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  private deployOne(input: {
    service: string;
    component: ComponentSpec;
    desired: DesiredState;
    force: boolean;
    before: ServiceRecord | null;
    secretVersions?: Map<string, SecretInfo>;
  }): Promise<ComponentOutcome> {
    return this.deployer.deploy({
      service: input.service,
      spec: input.component,
      desired: input.desired,
      force: input.force,
      previous: input.before?.components.find((c) => c.name === input.component.name),
      secretVersions: input.secretVersions,
    });
  }
}
