import { Injectable, Optional } from '@nestjs/common';
import { Failpoints, ServiceNotFoundError } from '@mcp/common';
import { ComponentDeployer, ContainerOps, KeyedMutex, RouteService, ServiceChanges } from '@mcp/deployer';
import { AgentMetrics } from '@mcp/metrics';
import { ServiceRegistry, type ComponentRecord, type ServiceRecord } from '@mcp/registry';
import { componentContainerName, ContainerRuntime } from '@mcp/runtime';
import { AgentConfig } from '../config/agent-config';
import { isUndeployed } from '../metrics/service-gauges';

export interface LifecycleResult {
  service: string;
  results: Array<{ component: string; ok: boolean; error: string; container: string }>;
}

export interface PurgeInput {
  service?: string;
  component?: string;
  /** `service` or `service/component` entries still in the operator's definitions. */
  defined: string[];
  dryRun: boolean;
}

export interface PurgedEntry {
  service: string;
  component: string;
  observedState: string;
}

/** States of a component whose container no longer exists or runs: purge candidates. */
const PURGEABLE = new Set(['removed', 'unknown', 'exited']);

/** Stop, Start, Restart, Undeploy and Purge (SPEC §2). Each holds the service's lock. */
@Injectable()
export class LifecycleService {
  constructor(
    private readonly config: AgentConfig,
    private readonly registry: ServiceRegistry,
    private readonly runtime: ContainerRuntime,
    private readonly containers: ContainerOps,
    private readonly routes: RouteService,
    private readonly deployer: ComponentDeployer,
    private readonly locks: KeyedMutex,
    private readonly failpoints: Failpoints,
    private readonly metrics: AgentMetrics,
    @Optional() private readonly changes?: ServiceChanges,
  ) {}

  stop(input: { service: string }): Promise<LifecycleResult> {
    return this.perService(input.service, async (record) => {
      await this.registry.setDesiredState({ service: record.name, state: 'stopped' });
      await this.registry.setServiceActive(record.name, false);
      // Its jobs first (SPEC §12: they stop with it): no new run, the runs going killed.
      await this.changes?.changed(record.name);
      const result = await this.eachComponent(record, (component) => this.deployer.stop({ component }));
      // Test-only: stopped, the caller has no answer yet (a move's mcp killed before its final pass).
      await this.failpoints.hit('stop.after-stopped');
      return result;
    });
  }

  start(input: { service: string }): Promise<LifecycleResult> {
    return this.perService(input.service, async (record) => {
      await this.registry.setDesiredState({ service: record.name, state: 'running' });
      await this.registry.setServiceActive(record.name, true);
      return this.eachComponent(record, async (component, name) => {
        const current = await this.runtime.inspect({ name });
        const portsKept = component.routes.every((route) => route.hostPort !== null);
        if (!current || !portsKept) {
          // A missing container (or released ports) is re-created from the stored spec.
          const outcome = await this.deployer.deploy({ service: record.name, spec: component.spec, desired: 'running', force: true, previous: component });
          if (!outcome.ok) throw new Error(outcome.error);
          return;
        }
        if (current.state !== 'running') await this.runtime.start({ name });
        await this.routes.register({ service: record.name, routes: component.routes });
        await this.deployer.recordObserved({ component, kind: 'started' });
      });
    });
  }

  restart(input: { service: string }): Promise<LifecycleResult> {
    return this.perService(input.service, async (record) =>
      this.eachComponent(record, async (component, name) => {
        await this.runtime.restart({ name, timeoutSeconds: this.config.agent.stopTimeoutSeconds });
        await this.deployer.recordObserved({ component, kind: 'restarted' });
      }),
    );
  }

  undeploy(input: { service: string }): Promise<LifecycleResult> {
    return this.perService(input.service, async (record) => {
      const result = await this.eachComponent(record, async (component, name) => {
        await this.routes.unregister({ routes: component.routes });
        await this.containers.stopAndRemove({ name });
        await this.registry.releaseHostPorts({ service: record.name, component: component.name });
        await this.registry.recordObserved({ service: record.name, component: component.name, observedState: 'removed', containerId: '', deployedSpecHash: '' });
        await this.registry.addEvent({ service: record.name, component: component.name, kind: 'undeployed', message: `removed ${name}`, toState: 'removed' });
      });
      await this.registry.setDesiredState({ service: record.name, state: 'stopped' });
      await this.registry.setServiceActive(record.name, false);
      // Before the answer: a scrape right after the undeploy no longer shows its gauges.
      const after = await this.registry.getService(record.name);
      if (after && isUndeployed(after)) this.metrics.serviceGone(record.name);
      return result;
    });
  }

  /**
   * Drops registry entries of components whose container is gone or not running (by one
   * live listing) and that the operator no longer defines. Never a running one.
   */
  async purge(input: PurgeInput): Promise<PurgedEntry[]> {
    const live = new Map((await this.runtime.list()).map((c) => [c.name, c.state]));
    const defined = new Set(input.defined);
    const services = input.service ? [await this.requireService(input.service)] : await this.registry.listServices();
    const purged: PurgedEntry[] = [];
    for (const service of services) {
      await this.locks.run(service.name, async () => {
        const fresh = await this.registry.getService(service.name);
        if (!fresh) return;
        let remaining = fresh.components.length;
        for (const component of fresh.components) {
          if (input.component && component.name !== input.component) continue;
          if (defined.has(service.name) || defined.has(`${service.name}/${component.name}`)) continue;
          const name = componentContainerName(component);
          const observed = live.has(name) ? live.get(name)! : 'removed';
          if (!PURGEABLE.has(observed)) continue;
          purged.push({ service: service.name, component: component.name, observedState: observed });
          if (input.dryRun) continue;
          await this.routes.unregister({ routes: component.routes });
          await this.registry.deleteComponent({ service: service.name, component: component.name });
          await this.registry.addEvent({ service: service.name, component: component.name, kind: 'purged', message: `registry entry removed (observed ${observed})` });
          remaining--;
        }
        if (!input.dryRun && remaining === 0) {
          await this.registry.deleteService(service.name);
          this.metrics.serviceGone(service.name);
        }
      });
      if (!input.dryRun) await this.changes?.changed(service.name);
    }
    return purged;
  }

  private async requireService(name: string): Promise<ServiceRecord> {
    const record = await this.registry.getService(name);
    if (!record) throw new ServiceNotFoundError(name);
    return record;
  }

  private perService(service: string, work: (record: ServiceRecord) => Promise<LifecycleResult>): Promise<LifecycleResult> {
    // Jobs stop, start and go with their service (SPEC §12): the scheduler re-reads it after
    // (a stop or undeploy answers once the runs going are killed and recorded).
    return this.locks.run(service, async () => work(await this.requireService(service))).finally(() => this.changes?.changed(service));
  }

  /** Runs a step per component; one component's failure does not stop the others. */
  private async eachComponent(record: ServiceRecord, step: (component: ComponentRecord, name: string) => Promise<void>): Promise<LifecycleResult> {
    const results: LifecycleResult['results'] = [];
    for (const component of record.components) {
      const name = componentContainerName(component);
      try {
        await step(component, name);
        results.push({ component: component.name, ok: true, error: '', container: name });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        await this.registry.addEvent({ service: record.name, component: component.name, kind: 'error', message }).catch(() => undefined);
        results.push({ component: component.name, ok: false, error: message, container: name });
      }
    }
    return { service: record.name, results };
  }

}
