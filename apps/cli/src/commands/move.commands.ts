import { Command, CommandRunner, Help, Option, SubCommand } from 'nest-commander';
import { Agents } from '../client/agents.service';
import { CliConfigService } from '../config/cli-config.service';
import { DefinitionStore } from '../definitions/definition-store';
import { CommandFailedError, UsageError } from '../errors';
import { placeService, serviceMemoryBytes, formatWindow, type Candidate } from '../move/move-plan';
import { MoveFailedError, ServiceMover, type MoveReport } from '../move/service-mover';
import { Output } from '../output/output';
import { parseTarget } from './command-helpers';

interface MoveCommandOptions {
  to?: string;
  dryRun?: boolean;
  copySecrets?: boolean;
  json?: boolean;
}

@Command({
  name: 'move',
  arguments: '<service>',
  description: "move a service, with its data in <srv_root>/<service>/, to another node (its definition's node is rewritten)",
})
export class MoveCommand extends CommandRunner {
  @Help('after')
  help(): string {
    return [
      '',
      'How a move goes (SPEC §15): checks first, changing nothing if one fails — the target is up,',
      'not cordoned, has free memory for the components\' limits, has (or is pushed, as mcp image push',
      'does) each image this workstation has, has each secret set (or --copy-secrets), and no symlink',
      'in the service directory leads out of it. Then the data is copied while the service runs,',
      'the service is stopped, what changed is copied again, the service is deployed on the target',
      'through its health gate (its routes are registered there), undeployed on the source, and',
      '`node` in the definition file is rewritten (comments kept). Files stream source -> this',
      'process -> target, SHA-256-checked; modes, owners (when the agent is root), mtimes and',
      'symlinks are kept. Until the target is healthy, a failure undoes everything on the target',
      'and starts the service again on the source. The source keeps its copy of the data.',
      '',
      'The window in which the service answered nowhere (from its stop to healthy on the target) is',
      'printed, and what to change outside MCP (DNS).',
      '',
      '--copy-secrets: the values of the secrets the target lacks are read on the source (an',
      'admin-only, audited RPC) and set on the target; they pass through this process\'s memory only.',
      '',
      'Examples:',
      '  mcp move shop --to node2 --dry-run',
      '  mcp move shop --to node2 --copy-secrets',
      '',
      'With --json: {service, from, to, dryRun, result, error?, files, bytes, live?, final?, secretsCopied, images, windowMs?, undone?, definition?}',
    ].join('\n');
  }

  constructor(
    private readonly mover: ServiceMover,
    private readonly definitions: DefinitionStore,
    private readonly output: Output,
  ) {
    super();
  }

  async run([serviceText]: string[], options: MoveCommandOptions = {}): Promise<void> {
    const { service } = parseTarget(serviceText, { allowComponent: false });
    if (!options.to) throw new UsageError('--to NODE is required: the node to move the service to');
    let report: MoveReport;
    try {
      report = await this.mover.move(service, options.to, { dryRun: options.dryRun, copySecrets: options.copySecrets });
    } catch (error) {
      if (error instanceof MoveFailedError && options.json) {
        this.output.json(error.report);
      }
      throw error;
    }
    if (options.json) {
      this.output.json(report);
      return;
    }
    const spec = report.dryRun ? undefined : (await this.definitions.load(service)).spec;
    for (const line of this.mover.describe(report, spec)) this.output.line(line);
  }

  @Option({ flags: '--to <node>', description: 'the node to move it to (required)' })
  parseTo(value: string): string {
    return value;
  }

  @Option({ flags: '--dry-run', description: 'run the checks and say what would be copied, pushed and set; change nothing' })
  parseDryRun(): boolean {
    return true;
  }

  @Option({ flags: '--copy-secrets', description: 'copy the secrets the target lacks from the source (through this process\'s memory only)' })
  parseCopySecrets(): boolean {
    return true;
  }

  @Option({ flags: '--json', description: 'machine-readable output (shape below)' })
  parseJson(): boolean {
    return true;
  }
}

interface DrainOptions {
  to?: string[];
  keepGoing?: boolean;
  copySecrets?: boolean;
  json?: boolean;
}

interface DrainRow {
  service: string;
  to: string;
  result: 'moved' | 'failed' | 'not tried';
  windowMs?: number;
  error?: string;
}

@SubCommand({
  name: 'drain',
  arguments: '<name>',
  description: 'cordon a node, then move every service off it, each to the up node with the most free memory that fits its limits',
})
export class NodeDrainCommand extends CommandRunner {
  @Help('after')
  help(): string {
    return [
      '',
      'The node is cordoned first (mcp node uncordon NAME undoes that). Its services (as its agent',
      'lists them; each needs its definition file) are moved one by one with mcp move, in name',
      'order; each goes to the candidate (every other node, or the --to nodes) that is up, not',
      'cordoned, and has the most free memory that fits the sum of its components\' memory limits',
      '(what earlier moves of this drain placed there is counted). Stops at the first failure',
      'unless --keep-going. A summary table ends it; exit 1 if any service was not moved.',
      '',
      'Examples:',
      '  mcp node drain node1',
      '  mcp node drain node1 --to node2 --to node3 --keep-going',
      '',
      'With --json: {node, services: [{service, to, result, windowMs?, error?}]}',
    ].join('\n');
  }

  constructor(
    private readonly config: CliConfigService,
    private readonly agents: Agents,
    private readonly definitions: DefinitionStore,
    private readonly mover: ServiceMover,
    private readonly output: Output,
  ) {
    super();
  }

  async run([name]: string[], options: DrainOptions = {}): Promise<void> {
    const node = this.config.node(name).name;
    const names = options.to?.length ? options.to.map((n) => this.config.node(n).name) : this.config.requireNodes().map((n) => n.name).filter((n) => n !== node);
    if (names.includes(node)) throw new UsageError(`--to ${node}: a node cannot be drained onto itself`);
    const listing = await this.agents.withNode(node, async (client) => {
      await client.call('setCordon', { cordoned: true });
      return client.call('listServices', {});
    });
    if (!options.json) this.output.info(`cordoned ${node}: no new services go there`);
    const services = listing.services
      .filter((s) => s.components.some((c) => c.observedState !== 'removed'))
      .map((s) => s.name)
      .sort();
    const candidates: Candidate[] = await Promise.all(
      names.map(async (candidate) => {
        try {
          const status = await this.agents.withNode(candidate, (client) => client.call('nodeStatus', {}));
          return { node: candidate, up: true, cordoned: status.cordoned, freeBytes: status.memoryFreeBytes };
        } catch {
          return { node: candidate, up: false, cordoned: false, freeBytes: 0 };
        }
      }),
    );
    const rows: DrainRow[] = [];
    let stopped = false;
    for (const service of services) {
      if (stopped) {
        rows.push({ service, to: '-', result: 'not tried' });
        continue;
      }
      const row = await this.drainOne({ service, node, candidates, copySecrets: options.copySecrets === true });
      rows.push(row);
      if (row.result === 'failed' && !options.keepGoing) stopped = true;
    }
    if (options.json) {
      this.output.json({ node, services: rows });
    } else if (rows.length === 0) {
      this.output.info(`${node} runs no service: nothing to move`);
    } else {
      this.output.table(
        ['SERVICE', 'TO', 'RESULT', 'UNAVAILABLE'],
        rows.map((r) => [
          r.service,
          r.to,
          r.result === 'moved' ? { text: 'moved', style: 'green' as const } : r.result === 'failed' ? { text: `failed: ${r.error}`, style: 'red' as const } : { text: 'not tried (stopped at the first failure; --keep-going goes on)', style: 'dim' as const },
          r.windowMs === undefined ? '-' : formatWindow(r.windowMs),
        ]),
      );
    }
    const failed = rows.filter((r) => r.result !== 'moved');
    if (failed.length) throw new CommandFailedError(`${failed.length} of ${rows.length} service(s) not moved off ${node}: ${failed.map((r) => r.service).join(', ')}`);
  }

  private async drainOne(input: { service: string; node: string; candidates: Candidate[]; copySecrets: boolean }): Promise<DrainRow> {
    const { service } = input;
    if (!this.definitions.exists(service)) return { service, to: '-', result: 'failed', error: `no definition file ${this.definitions.fileFor(service)}` };
    let need: number;
    try {
      const { spec } = await this.definitions.load(service);
      if (spec.node !== input.node) return { service, to: '-', result: 'failed', error: `its definition says node = "${spec.node}", not ${input.node}` };
      need = serviceMemoryBytes(spec);
    } catch (error) {
      return { service, to: '-', result: 'failed', error: (error as Error).message };
    }
    const placed = placeService({ needBytes: need, candidates: input.candidates, exclude: input.node });
    if (!placed.node) return { service, to: '-', result: 'failed', error: placed.reason };
    try {
      const report = await this.mover.move(service, placed.node, { copySecrets: input.copySecrets });
      const chosen = input.candidates.find((c) => c.node === placed.node);
      if (chosen) chosen.freeBytes -= need;
      return { service, to: placed.node, result: 'moved', windowMs: report.windowMs };
    } catch (error) {
      const message = error instanceof MoveFailedError ? error.message : (error as Error).message;
      return { service, to: placed.node, result: 'failed', error: message.split('\n').join(' ') };
    }
  }

  @Option({ flags: '--to <node>', description: 'a node to move services to (repeat for several; default: every other node)' })
  parseTo(value: string, previous: string[] = []): string[] {
    return [...previous, value];
  }

  @Option({ flags: '--keep-going', description: 'move the other services when one fails (default: stop at the first failure)' })
  parseKeepGoing(): boolean {
    return true;
  }

  @Option({ flags: '--copy-secrets', description: 'as mcp move --copy-secrets' })
  parseCopySecrets(): boolean {
    return true;
  }

  @Option({ flags: '--json', description: 'machine-readable output (shape below)' })
  parseJson(): boolean {
    return true;
  }
}
