import { Command, CommandRunner, Option } from 'nest-commander';
import { InvalidServiceDefinitionError } from '@mcp/common';
import { Agents } from '../client/agents.service';
import { CliConfigService } from '../config/cli-config.service';
import { DefinitionStore } from '../definitions/definition-store';
import { CommandFailedError } from '../errors';
import { Output } from '../output/output';
import { parseTarget, renderResults } from './command-helpers';

@Command({
  name: 'deploy',
  arguments: '<target>',
  argsDescription: { target: 'SERVICE or SERVICE/COMPONENT (from <services dir>/SERVICE.toml)' },
  description: 'deploy a service (or one component) from its definition file to its node',
})
export class DeployCommand extends CommandRunner {
  constructor(
    private readonly definitions: DefinitionStore,
    private readonly config: CliConfigService,
    private readonly agents: Agents,
    private readonly output: Output,
  ) {
    super();
  }

  async run([targetText]: string[], options: { force?: boolean; json?: boolean } = {}): Promise<void> {
    const target = parseTarget(targetText, { allowComponent: true });
    const { file, spec } = await this.definitions.load(target.service);
    if (target.component && !spec.components.some((c) => c.name === target.component)) {
      throw new CommandFailedError(`${file}: components: no component "${target.component}"`);
    }
    if (!this.config.get().nodes.some((n) => n.name === spec.node)) {
      this.config.requireNodes();
      throw new InvalidServiceDefinitionError([{ file, path: 'node', reason: `"${spec.node}" is not a node in ${this.config.get().file}` }]);
    }
    const proto = await this.definitions.toProto(spec);
    this.output.progress(`deploying ${targetText} to ${spec.node}...`);
    let response;
    try {
      response = await this.agents.withNode(spec.node, (client) =>
        client.call('deploy', { service: proto, component: target.component ?? '', force: options.force === true }),
      );
    } finally {
      this.output.clearProgress();
    }
    if (options.json) {
      this.output.json({ service: response.service, node: spec.node, results: response.results });
      if (response.results.some((r) => !r.ok)) throw new CommandFailedError('some components failed');
      return;
    }
    renderResults(this.output, 'deployed', spec.node, response.results);
  }

  @Option({ flags: '--force', description: 'recreate containers even when the spec is unchanged' })
  parseForce(): boolean {
    return true;
  }

  @Option({ flags: '--json', description: 'print {service, node, results: [{component, ok, error, container}]}' })
  parseJson(): boolean {
    return true;
  }
}
