import { Injectable } from '@nestjs/common';
import { Command, CommandRunner, Option } from 'nest-commander';
import type { AgentClient } from '../client/agent-client';
import { Agents } from '../client/agents.service';
import { DefinitionStore } from '../definitions/definition-store';
import { Output } from '../output/output';
import { ServiceLocator, parseTarget, renderResults, type ComponentResult } from './command-helpers';

type Call = (client: AgentClient, service: string) => Promise<{ results: ComponentResult[] }>;

interface LifecycleOptions {
  node?: string;
}

/** Shared shape of stop/start/restart/undeploy: find the node, call, print a row per component. */
// @Injectable so the constructor's parameter types are emitted for the subclasses' DI.
@Injectable()
abstract class LifecycleCommand extends CommandRunner {
  protected abstract readonly verb: string;
  protected abstract readonly call: Call;
  /** stop/start also rewrite `active` in the definition file. */
  protected readonly setsActive?: boolean;

  constructor(
    protected readonly agents: Agents,
    protected readonly locator: ServiceLocator,
    protected readonly definitions: DefinitionStore,
    protected readonly output: Output,
  ) {
    super();
  }

  async run([serviceText]: string[], options: LifecycleOptions = {}): Promise<void> {
    const { service } = parseTarget(serviceText, { allowComponent: false });
    const node = await this.locator.nodeFor(service, options.node);
    const response = await this.agents.withNode(node, (client) => this.call(client, service));
    if (this.setsActive !== undefined && this.definitions.exists(service)) {
      const file = this.definitions.fileFor(service);
      await this.definitions.setActive(file, this.setsActive);
      this.output.info(`${file}: active = ${this.setsActive}`);
    }
    renderResults(this.output, this.verb, node, response.results);
  }

  @Option({ flags: '--node <name>', description: 'the node (default: from the definition file)' })
  parseNode(value: string): string {
    return value;
  }
}

@Command({ name: 'stop', arguments: '<service>', description: 'stop a service and set active = false in its definition' })
export class StopCommand extends LifecycleCommand {
  protected readonly verb = 'stopped';
  protected override readonly setsActive = false;
  protected readonly call: Call = (client, service) => client.call('stopService', { service });
}

@Command({ name: 'start', arguments: '<service>', description: 'start a service and set active = true in its definition' })
export class StartCommand extends LifecycleCommand {
  protected readonly verb = 'started';
  protected override readonly setsActive = true;
  protected readonly call: Call = (client, service) => client.call('startService', { service });
}

@Command({ name: 'restart', arguments: '<service>', description: 'restart a service in place (desired state unchanged)' })
export class RestartCommand extends LifecycleCommand {
  protected readonly verb = 'restarted';
  protected readonly call: Call = (client, service) => client.call('restartService', { service });
}

@Command({
  name: 'undeploy',
  arguments: '<service>',
  description: 'remove routes, containers and ports of a service (the node keeps its history)',
})
export class UndeployCommand extends LifecycleCommand {
  protected readonly verb = 'removed';
  protected readonly call: Call = (client, service) => client.call('undeployService', { service });
}
