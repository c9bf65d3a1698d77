import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { CliConfigService } from '../config/cli-config.service';
import { DefinitionStore } from '../definitions/definition-store';
import { CommandFailedError, UsageError } from '../errors';
import { Output } from '../output/output';

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

@SubCommand({
  name: 'compose',
  arguments: '<file>',
  description:
    'write one definition (a component per Compose service) to <services dir>/<name>.toml from a Compose file; lists what it could not carry and what to do instead. Nothing is written when the import fails',
})
export class ImportComposeCommand extends CommandRunner {
  constructor(
    private readonly config: CliConfigService,
    private readonly definitions: DefinitionStore,
    private readonly output: Output,
  ) {
    super();
  }

  async run([file]: string[], options: { node?: string; name?: string; force?: boolean } = {}): Promise<void> {
    if (!file) throw new UsageError('missing Compose file: mcp import compose ./docker-compose.yml');
    const text = readIfExists(file);
    if (text === undefined) throw new CommandFailedError(`${file} not found`);
    const node = this.nodeFor(options.node);
    // Loaded here, not at start-up: the YAML parser is only needed by this command.
    const { importCompose } = await import('@mcp/interop');
    const { spec, notes } = importCompose({ text, file, name: options.name, node, readFile: readIfExists });
    const target = this.definitions.fileFor(spec.name);
    if (fs.existsSync(target) && !options.force) {
      throw new CommandFailedError(`${target} exists: pass --force to overwrite it, or --name to import under another name`);
    }
    const header = [
      `# Imported from ${path.basename(file)} by mcp import compose.`,
      ...(notes.length ? ['# Not carried over, and what to do instead:', ...notes.map((note) => `#   ${note.path}: ${note.message}`)] : []),
      '',
    ].join('\n');
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const temporary = `${target}.tmp-${process.pid}`;
    const body = await this.definitions.serialize(spec);
    fs.writeFileSync(temporary, header + (body.endsWith('\n') ? body : `${body}\n`), { mode: 0o644 });
    fs.renameSync(temporary, target);
    for (const note of notes) this.output.warn(`${note.path}: ${note.message}`);
    this.output.info(`wrote ${target} (${spec.components.length} component${spec.components.length === 1 ? '' : 's'} on node ${node}); check it, then mcp deploy ${spec.name}`);
  }

  /** `--node`, else the only configured node. */
  private nodeFor(explicit: string | undefined): string {
    if (explicit) return this.config.node(explicit).name;
    const nodes = this.config.requireNodes();
    if (nodes.length === 1) return nodes[0].name;
    throw new UsageError(`several nodes configured (${nodes.map((n) => n.name).join(', ')}): pass --node NAME`);
  }

  @Option({ flags: '--node <name>', description: 'the node to run it on (default: the only configured node)' })
  parseNode(value: string): string {
    return value;
  }

  @Option({ flags: '--name <service>', description: "the service's name (default: the file's name: key, else its directory's name)" })
  parseName(value: string): string {
    return value;
  }

  @Option({ flags: '--force', description: 'overwrite an existing definition file' })
  parseForce(): boolean {
    return true;
  }
}

@Command({
  name: 'import',
  description: 'make a service definition from another tool\'s file (compose)',
  subCommands: [ImportComposeCommand],
})
export class ImportCommand extends CommandRunner {
  async run([kind]: string[]): Promise<void> {
    throw new UsageError(kind ? `unknown format "${kind}": use compose` : 'missing format: use mcp import compose FILE');
  }
}
