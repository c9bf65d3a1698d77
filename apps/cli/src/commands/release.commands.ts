import { Command, CommandRunner, Help, Option } from 'nest-commander';
import { fromTimestamp } from '../client/timestamps';
import { Agents } from '../client/agents.service';
import { DefinitionStore } from '../definitions/definition-store';
import { CommandFailedError, UsageError } from '../errors';
import { Output, type Cell, type Style } from '../output/output';
import { ServiceLocator, parseTarget, renderResults } from './command-helpers';
import { fromProtoComponent } from '../client/spec-proto';

interface ReleasesOptions {
  json?: boolean;
  node?: string;
}

const OUTCOME_STYLE: Record<string, Style> = { succeeded: 'green', failed: 'red', rolled_back: 'yellow', in_progress: 'yellow' };

/** `sha256:0123456789ab…` → `sha256:0123456789ab` (what `podman images` shows). */
export function shortDigest(digest: string): string {
  const [algorithm, hex] = digest.split(':');
  return hex ? `${algorithm}:${hex.slice(0, 12)}` : digest || '-';
}

@Command({
  name: 'releases',
  arguments: '<target>',
  argsDescription: { target: 'SERVICE or SERVICE/COMPONENT' },
  description: 'the release history of a service on its node, newest first',
})
export class ReleasesCommand extends CommandRunner {
  @Help('after')
  help(): string {
    return [
      '',
      'Every deploy that changes a component records a release: a number that grows per service,',
      'the full spec, the image and the digest podman resolved it to, who deployed it, and the',
      'outcome: succeeded, failed (the old container kept serving), rolled_back (stop-first: the',
      'previous release was brought back), or in_progress. A rollback is a release of its own,',
      'shown as "succeeded (rollback of N)". Roll back with: mcp rollback SERVICE [--to N]',
      '',
      'With --json: {service, node, releases: [{release, component, image, digest, deployedAt, deployedBy, outcome, rollbackOf, message}]}',
    ].join('\n');
  }

  constructor(
    private readonly agents: Agents,
    private readonly locator: ServiceLocator,
    private readonly output: Output,
  ) {
    super();
  }

  async run([targetText]: string[], options: ReleasesOptions = {}): Promise<void> {
    const target = parseTarget(targetText, { allowComponent: true });
    const node = await this.locator.nodeFor(target.service, options.node);
    const response = await this.agents.withNode(node, (client) => client.call('listReleases', { service: target.service, component: target.component ?? '' }));
    const releases = response.releases.map((r) => ({
      release: r.number,
      component: r.component,
      image: r.image,
      digest: r.digest,
      deployedAt: fromTimestamp(r.deployedAt)?.toISOString() ?? '',
      deployedBy: r.deployedBy,
      outcome: r.outcome,
      rollbackOf: r.rollbackOf,
      message: r.message,
    }));
    if (options.json) {
      this.output.json({ service: target.service, node, releases });
      return;
    }
    this.output.table(
      ['RELEASE', 'COMPONENT', 'IMAGE', 'DIGEST', 'DEPLOYED', 'BY', 'OUTCOME'],
      releases.map((r): Cell[] => [
        String(r.release),
        r.component,
        r.image,
        shortDigest(r.digest),
        r.deployedAt ? r.deployedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-',
        r.deployedBy || '-',
        { text: `${r.outcome}${r.rollbackOf ? ` (rollback of ${r.rollbackOf})` : ''}`, style: OUTCOME_STYLE[r.outcome] },
      ]),
    );
    for (const r of releases) {
      if (r.message && r.outcome !== 'succeeded') this.output.info(`release ${r.release} ${r.component}: ${r.message}`);
    }
    if (releases.length === 0) this.output.info(`no releases of ${targetText} recorded yet`);
  }

  @Option({ flags: '--json', description: 'machine-readable output (shape below)' })
  parseJson(): boolean {
    return true;
  }

  @Option({ flags: '--node <name>', description: 'the node (default: from the definition file)' })
  parseNode(value: string): string {
    return value;
  }
}

interface RollbackOptions {
  to?: number;
  write?: boolean;
  json?: boolean;
  node?: string;
}

@Command({
  name: 'rollback',
  arguments: '<target>',
  argsDescription: { target: 'SERVICE or SERVICE/COMPONENT' },
  description: 'deploy the specs of an earlier release again (default: the newest succeeded one before the running one)',
})
export class RollbackCommand extends CommandRunner {
  @Help('after')
  help(): string {
    return [
      '',
      'The agent deploys the spec each component had in release N, with the same health gate and',
      'strategy as a deploy. When the image tag now points at another image, the release\'s digest',
      'runs (repo@sha256:…), so what comes back is exactly what ran then. The rollback is recorded',
      'as a release of its own, marked "rollback of N"; see mcp releases SERVICE.',
      '',
      'The definition file is left alone unless --write: then the rolled-back components\' fields',
      'are rewritten from the release, keeping comments and everything else in the file. Without',
      '--write, mcp status SERVICE says the running release differs from the file until you',
      'change one or the other.',
      '',
      'Examples:',
      '  mcp rollback shop              # every component back to its previous good release',
      '  mcp rollback shop/web --to 4   # one component to release 4',
      '  mcp rollback shop --write      # and make the definition file say so',
      '',
      'With --json: {service, node, to, results: [{component, ok, error, container, release, logTail}]}',
    ].join('\n');
  }

  constructor(
    private readonly agents: Agents,
    private readonly locator: ServiceLocator,
    private readonly definitions: DefinitionStore,
    private readonly output: Output,
  ) {
    super();
  }

  async run([targetText]: string[], options: RollbackOptions = {}): Promise<void> {
    const target = parseTarget(targetText, { allowComponent: true });
    if (options.write && !this.definitions.exists(target.service)) {
      throw new UsageError(`--write: no definition file ${this.definitions.fileFor(target.service)} to rewrite`);
    }
    // With --write the file must be valid before anything changes on the node.
    if (options.write) await this.definitions.load(target.service);
    const node = await this.locator.nodeFor(target.service, options.node);
    this.output.progress(`rolling back ${targetText} on ${node} (waiting for health)...`);
    let response;
    try {
      response = await this.agents.withNode(node, (client) => client.call('rollback', { service: target.service, component: target.component ?? '', to: options.to ?? 0 }));
    } finally {
      this.output.clearProgress();
    }
    const ok = response.results.every((r) => r.ok);
    if (options.write && ok) {
      const file = this.definitions.fileFor(target.service);
      for (const spec of response.specs) await this.definitions.setComponent(file, await fromProtoComponent(spec));
      this.output.info(`${file}: ${response.specs.map((s) => s.name).join(', ')} rewritten from release ${response.to || '(several)'}`);
    }
    if (options.json) {
      this.output.json({ service: response.service, node, to: response.to, results: response.results });
      if (!ok) throw new CommandFailedError('some components failed');
      return;
    }
    renderResults(this.output, response.to ? `rolled back to release ${response.to}` : 'rolled back', node, response.results);
  }

  @Option({ flags: '--to <n>', description: 'the release to go back to (see mcp releases); default: the newest succeeded one before the running one' })
  parseTo(value: string): number {
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 2147483647) throw new UsageError(`--to must be a release number (a positive integer), got "${value}"`);
    return Number(value);
  }

  @Option({ flags: '--write', description: "rewrite the components' fields in the definition file from the release (comments kept)" })
  parseWrite(): boolean {
    return true;
  }

  @Option({ flags: '--json', description: 'machine-readable output (shape below)' })
  parseJson(): boolean {
    return true;
  }

  @Option({ flags: '--node <name>', description: 'the node (default: from the definition file)' })
  parseNode(value: string): string {
    return value;
  }
}
