import { Injectable, Logger } from '@nestjs/common';
import { ServiceRegistry } from '@mcp/registry';
import { componentContainerName, ContainerRuntime } from '@mcp/runtime';
import { ComponentDeployer, TEMP_SUFFIX, temporaryName } from './component-deployer';
import { ContainerOps } from './container-ops';
import { RouteService } from './route.service';

/**
 * Finishes or undoes a start-first deploy a crash interrupted (SPEC §8), from the registry's
 * word: `containerName` names the container that serves. Run for every component when the
 * agent starts, and for a component before each deploy of it, under the service's lock.
 *
 * - temporary container exists, registry names it: the switch was committed; point mc-proxy at
 *   it, remove the old container, rename it to the canonical name.
 * - temporary container exists, registry names the old one: the switch never happened; remove
 *   the temporary container and point mc-proxy back at the old one's routes.
 * - no temporary container, registry names it: the rename happened but was not recorded.
 * Releases left `in_progress` are closed: succeeded when the registry records their spec as
 * deployed, failed otherwise.
 */
@Injectable()
export class DeployRecovery {
  private readonly logger = new Logger(DeployRecovery.name);

  constructor(
    private readonly registry: ServiceRegistry,
    private readonly runtime: ContainerRuntime,
    private readonly containers: ContainerOps,
    private readonly routes: RouteService,
    private readonly deployer: ComponentDeployer,
  ) {}

  async recoverAll(): Promise<void> {
    for (const service of await this.registry.listServices()) {
      for (const component of service.components) {
        await this.recover({ service: service.name, component: component.name }).catch((err) =>
          this.logger.error(`recovering ${service.name}/${component.name}: ${(err as Error).message}`),
        );
      }
    }
  }

  /** Returns what it did ('' when there was nothing to do). */
  async recover(input: { service: string; component: string }): Promise<string> {
    const record = (await this.registry.getService(input.service))?.components.find((c) => c.name === input.component);
    if (!record) return '';
    // The registry names the temporary container only between a start-first switch and the rename.
    const canonical = record.containerName.endsWith(TEMP_SUFFIX)
      ? record.containerName.slice(0, -TEMP_SUFFIX.length)
      : componentContainerName({ service: input.service, name: input.component, containerName: record.containerName });
    const temp = temporaryName(canonical);
    const tempDetails = await this.runtime.inspect({ name: temp });
    const committed = record.containerName === temp;
    let done = '';

    if (tempDetails && committed) {
      await this.routes.register({ service: input.service, routes: record.routes });
      await this.containers.stopAndRemove({ name: canonical });
      await this.runtime.rename({ name: temp, newName: canonical });
      await this.registry.recordObserved({ service: input.service, component: input.component, observedState: tempDetails.state, containerName: canonical });
      done = `finished an interrupted start-first deploy: ${temp} serves as ${canonical}`;
    } else if (tempDetails) {
      await this.containers.stopAndRemove({ name: temp });
      await this.routes.register({ service: input.service, routes: record.routes });
      done = `undid an interrupted start-first deploy: removed ${temp}; ${canonical} serves`;
    } else if (committed) {
      const current = await this.runtime.inspect({ name: canonical });
      await this.registry.recordObserved({ service: input.service, component: input.component, observedState: current?.state ?? 'removed', containerName: canonical });
      if (current) await this.routes.register({ service: input.service, routes: record.routes });
      done = `recorded the canonical name ${canonical} after an interrupted rename`;
    }

    const open = (await this.registry.listReleases({ service: input.service, component: input.component })).filter((r) => r.outcome === 'in_progress');
    for (const release of open) {
      // The release whose spec the registry records as deployed is the one that serves.
      const succeeded = (await this.deployer.deployHash({ service: input.service, spec: release.spec }).catch(() => '')) === record.deployedSpecHash;
      await this.registry.setReleaseOutcome({
        service: input.service,
        number: release.number,
        component: input.component,
        outcome: succeeded ? 'succeeded' : 'failed',
        message: succeeded ? '' : 'interrupted: the agent stopped during the deploy',
      });
    }
    if (done) {
      this.logger.warn(`${input.service}/${input.component}: ${done}`);
      await this.registry.addEvent({ service: input.service, component: input.component, kind: 'recovered_deploy', message: done });
    }
    return done;
  }
}
