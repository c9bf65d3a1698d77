import { Command, CommandRunner, Help, Option } from 'nest-commander';
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
  @Help('after')
  help(): string {
    return [
      '',
      'How a deploy goes (SPEC §8): each changed component is pulled, started, and must pass its',
      'health check ([components.health] in the file, else: running and its route ports accept',
      'TCP) within start_period. start-first (the default for routed components when the node has',
      'mc-proxy) runs the new container beside the old one and switches the routes only once it is',
      'healthy, so clients see no failed request; stop-first stops the old one first. If the new',
      'one fails, start-first leaves the old one serving; stop-first brings the previous release',
      'back. Either way the result says why, shows the failed container\'s last log lines, and the',
      'command exits 1. An unchanged component is left alone (use --force to recreate it).',
      '',
      'Examples:',
      '  mcp deploy shop --dry-run     # what would change, field by field; changes nothing',
      '  mcp deploy shop/web           # one component',
      '',
      'With --json: {service, node, results: [{component, ok, error, container, release, logTail, changed}]}',
      'With --dry-run --json: {service, node, dryRun: true, components: [{component, action, strategy, changes}]}',
    ].join('\n');
  }

  constructor(
    private readonly definitions: DefinitionStore,
    private readonly config: CliConfigService,
    private readonly agents: Agents,
    private readonly output: Output,
  ) {
    super();
  }

  async run([targetText]: string[], options: { force?: boolean; json?: boolean; dryRun?: boolean } = {}): Promise<void> {
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
    if (options.dryRun) {
      await this.plan({ node: spec.node, proto, component: target.component, force: options.force === true, json: options.json === true });
      return;
    }
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

  /** SPEC §8 deploy plan: what the agent would do, against what runs; nothing changes. */
  private async plan(input: { node: string; proto: Awaited<ReturnType<DefinitionStore['toProto']>>; component?: string; force: boolean; json: boolean }): Promise<void> {
    const response = await this.agents.withNode(input.node, (client) => client.call('planDeploy', { service: input.proto, component: input.component ?? '', force: input.force }));
    if (input.json) {
      this.output.json({ service: response.service, node: input.node, dryRun: true, components: response.components });
      return;
    }
    const style = { create: 'green', recreate: 'yellow', start: 'yellow', unchanged: 'dim' } as const;
    this.output.table(
      ['COMPONENT', 'ACTION', 'STRATEGY', 'CHANGES'],
      response.components.flatMap((c) => {
        const [first, ...rest] = c.changes.length ? c.changes : ['-'];
        return [
          [c.component, { text: c.action, style: style[c.action as keyof typeof style] }, c.strategy, first],
          ...rest.map((change) => ['', '', '', change]),
        ];
      }),
    );
    this.output.info(`dry run: nothing was changed on ${input.node} (no pull, no port, no container)`);
  }

  @Option({ flags: '--dry-run', description: 'show what the deploy would do per component (create, recreate with each changed field, start, unchanged) and the strategy; change nothing' })
  parseDryRun(): boolean {
    return true;
  }

  @Option({ flags: '--force', description: 'recreate containers even when the spec is unchanged' })
  parseForce(): boolean {
    return true;
  }

  @Option({ flags: '--json', description: 'machine-readable output (shape below)' })
  parseJson(): boolean {
    return true;
  }
}
