import { Command, CommandRunner, Help, Option } from 'nest-commander';
import { Agents } from '../client/agents.service';
import { renderFleet } from '../output/fleet-renderer';
import { CliConfigService } from '../config/cli-config.service';
import { DefinitionStore, LoadedDefinition } from '../definitions/definition-store';
import { CommandFailedError } from '../errors';
import { Output } from '../output/output';
import { Prompter } from '../prompt/prompter';
import { ServiceLocator, parseTarget, renderResults } from './command-helpers';
import { fromProtoSpec, toProtoSpec } from '../client/spec-proto';

@Command({
  name: 'sync',
  description: 'make every node match the definition files (additive: other services are only reported)',
})
export class SyncCommand extends CommandRunner {
  @Help('after')
  jsonHelp(): string {
    return (
      '\nSends each node its definitions: components never run are deployed, others started or stopped to match\n' +
      '`active`. Services on a node without a file are left alone and reported as not_in_definitions.\n' +
      'The [[jobs]] a sync adds, removes or changes are named after the table, as `mcp deploy --dry-run` names them.\n' +
      `\nWith --json: {dryRun, actions: [{node, service, component, action, ok, error}], jobs?: [{node, service, changes}], errors: [{node, kind, error}]}`
    );
  }

  constructor(
    private readonly definitions: DefinitionStore,
    private readonly config: CliConfigService,
    private readonly agents: Agents,
    private readonly output: Output,
  ) {
    super();
  }

  async run(_args: string[], options: { dryRun?: boolean; json?: boolean } = {}): Promise<void> {
    const nodes = this.config.requireNodes();
    const all = await this.definitions.loadAll();
    const byNode = new Map<string, LoadedDefinition[]>(nodes.map((n) => [n.name, []]));
    const unknown = all.filter((d) => !byNode.has(d.spec.node));
    if (unknown.length) {
      throw new CommandFailedError(
        unknown.map((d) => `${d.file}: node: "${d.spec.node}" is not a node in ${this.config.get().file}`).join('\n'),
      );
    }
    for (const d of all) byNode.get(d.spec.node)!.push(d);
    const specs = new Map<string, Awaited<ReturnType<typeof toProtoSpec>>[]>();
    for (const [node, defs] of byNode) specs.set(node, await Promise.all(defs.map((d) => toProtoSpec(d.spec))));
    const dryRun = options.dryRun === true;
    const outcomes = await this.agents.fanOut((client) =>
      client.call('syncDesiredState', { services: specs.get(client.node.name) ?? [], dryRun }),
    );
    if (!options.json && dryRun) this.output.info('dry run: nothing changed');
    // SPEC §12: the job changes, per service (a sync saves [[jobs]] as a deploy does).
    const jobs = outcomes.flatMap((o) => (o.ok ? (o.value.jobs ?? []).map((j) => ({ node: o.node.name, service: j.service, changes: j.changes })) : []));
    const actions = renderFleet(this.output, outcomes, options.json, {
      rows: (value, node) =>
        value.actions.map((a) => ({ node: node.name, service: a.service, component: a.component, action: a.action, ok: a.ok, error: a.error })),
      jsonKey: 'actions',
      jsonExtra: { dryRun, ...(jobs.length ? { jobs } : {}) },
      after: jobs.flatMap((j) => j.changes.map((change) => `${j.service}: ${change}`)),
      headers: ['NODE', 'SERVICE', 'COMPONENT', 'ACTION', 'RESULT'],
      cells: (a) => [
        a.node,
        a.service,
        a.component || '-',
        a.action === 'not_in_definitions' ? { text: a.action, style: 'yellow' } : a.action,
        a.ok ? (dryRun ? 'planned' : 'ok') : { text: `failed: ${a.error}`, style: 'red' },
      ],
    });
    const failed = actions.filter((a) => !a.ok);
    if (failed.length) throw new CommandFailedError(`${failed.length} sync action(s) failed`);
  }

  @Option({ flags: '--dry-run', description: 'print the plan without changing anything' })
  parseDryRun(): boolean {
    return true;
  }

  @Option({ flags: '--json', description: 'machine-readable output' })
  parseJson(): boolean {
    return true;
  }
}

@Command({
  name: 'adopt',
  arguments: '<service>',
  description: 'take existing containers named SERVICE or SERVICE-* under management; offers to write their definition',
})
export class AdoptCommand extends CommandRunner {
  constructor(
    private readonly definitions: DefinitionStore,
    private readonly locator: ServiceLocator,
    private readonly agents: Agents,
    private readonly prompter: Prompter,
    private readonly output: Output,
  ) {
    super();
  }

  async run([serviceText]: string[], options: { node?: string; write?: boolean } = {}): Promise<void> {
    const { service } = parseTarget(serviceText, { allowComponent: false });
    const node = await this.locator.nodeFor(service, options.node);
    const response = await this.agents.withNode(node, (client) => client.call('adoptContainers', { service }));
    renderResults(this.output, 'adopted', node, response.results);
    if (!response.spec || this.definitions.exists(service)) return;
    const file = this.definitions.fileFor(service);
    const write = options.write || (await this.prompter.confirm(`write the adopted definition to ${file}?`));
    if (!write) {
      this.output.info(`no definition file for ${service}: run mcp service export ${service} to write one`);
      return;
    }
    await this.definitions.write(file, await fromProtoSpec(response.spec, node));
    this.output.info(`wrote ${file}`);
  }

  @Option({ flags: '--node <name>', description: 'the node the containers run on (default: the only node)' })
  parseNode(value: string): string {
    return value;
  }

  @Option({ flags: '--write', description: 'write the definition file without asking' })
  parseWrite(): boolean {
    return true;
  }
}

@Command({
  name: 'purge',
  arguments: '[target]',
  argsDescription: { target: 'SERVICE or SERVICE/COMPONENT (default: every service)' },
  description:
    'drop registry entries of components that no longer exist (never running ones, never defined ones)',
})
export class PurgeCommand extends CommandRunner {
  @Help('after')
  jsonHelp(): string {
    return `\nWith --json: {dryRun, purged: [{node, service, component, observed}], errors: [{node, kind, error}]}`;
  }

  constructor(
    private readonly definitions: DefinitionStore,
    private readonly config: CliConfigService,
    private readonly agents: Agents,
    private readonly output: Output,
  ) {
    super();
  }

  async run([targetText]: string[], options: { dryRun?: boolean; json?: boolean } = {}): Promise<void> {
    const target = targetText ? parseTarget(targetText, { allowComponent: true }) : undefined;
    const dryRun = options.dryRun === true;
    let nodes = this.config.requireNodes();
    let definitions: LoadedDefinition[];
    if (target) {
      definitions = this.definitions.exists(target.service) ? [await this.definitions.load(target.service)] : [];
      if (definitions.length) nodes = [this.config.node(definitions[0].spec.node)];
    } else {
      definitions = await this.definitions.loadAll();
    }
    // Always `service/component`: the agent also reads a bare name as a whole service.
    const defined = definitions.flatMap((d) => d.spec.components.map((c) => `${d.spec.name}/${c.name}`));
    const outcomes = await this.agents.fanOut(
      (client) =>
        client.call('purgeComponent', { service: target?.service ?? '', component: target?.component ?? '', defined, dryRun }),
      nodes,
    );
    renderFleet(this.output, outcomes, options.json, {
      rows: (value, node) => value.purged.map((p) => ({ node: node.name, service: p.service, component: p.component, observed: p.observedState })),
      jsonKey: 'purged',
      jsonExtra: { dryRun },
      headers: ['NODE', 'SERVICE', 'COMPONENT', 'OBSERVED', 'RESULT'],
      cells: (p) => [p.node, p.service, p.component, p.observed, dryRun ? 'would purge' : 'purged'],
      empty: 'nothing to purge',
    });
  }

  @Option({ flags: '--dry-run', description: 'show what would go' })
  parseDryRun(): boolean {
    return true;
  }

  @Option({ flags: '--json', description: 'machine-readable output' })
  parseJson(): boolean {
    return true;
  }
}

