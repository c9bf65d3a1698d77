import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { CliContext } from '../cli-context';
import { Agents } from '../client/agents.service';
import { fromTimestamp } from '../client/timestamps';
import { UsageError } from '../errors';
import { Output } from '../output/output';
import { Prompter } from '../prompt/prompter';
import { ServiceLocator, parseTarget } from './command-helpers';

const SECRET_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;

function secretName(text: string | undefined): string {
  if (!text) throw new UsageError('missing secret name');
  if (!SECRET_NAME.test(text)) throw new UsageError(`invalid secret name "${text}": letters, digits, "_" and "-", starting with a letter (at most 63)`);
  return text;
}

/** Everything on standard input, as bytes (a value piped in keeps its exact bytes). */
async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer | string>) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

@SubCommand({
  name: 'set',
  arguments: '<service> <name>',
  description:
    'store a secret on the service\'s node, value from standard input only (never an argument): mcp secret set shop db-password < ./db-password.txt. Components using it are recreated by the next deploy',
})
export class SecretSetCommand extends CommandRunner {
  constructor(
    private readonly agents: Agents,
    private readonly locator: ServiceLocator,
    private readonly context: CliContext,
    private readonly prompter: Prompter,
    private readonly output: Output,
  ) {
    super();
  }

  async run([serviceText, nameText]: string[], options: { node?: string } = {}): Promise<void> {
    const { service } = parseTarget(serviceText, { allowComponent: false });
    const name = secretName(nameText);
    const stdin = this.context.io.stdin as NodeJS.ReadableStream & { isTTY?: boolean };
    // At a terminal, ask without echo; piped, take every byte as it is (a file's trailing
    // newline included, as `podman secret create` would).
    const value = stdin.isTTY ? Buffer.from(await this.prompter.askSecret(`Value for ${service}/${name}: `), 'utf8') : await readAll(stdin);
    if (value.length === 0) throw new UsageError('the value is empty: pipe it in, e.g. mcp secret set SERVICE NAME < FILE');
    const node = await this.locator.nodeFor(service, options.node);
    const response = await this.agents.withNode(node, (client) => client.call('setSecret', { service, name, value }));
    const users = response.recreateOnDeploy;
    this.output.info(
      `secret ${name} of ${service} set on ${node}${users.length ? `; mcp deploy ${service} recreates ${users.join(', ')}` : ''}`,
    );
  }

  @Option({ flags: '--node <name>', description: 'the node (default: from the definition file, or the only node)' })
  parseNode(value: string): string {
    return value;
  }
}

@SubCommand({ name: 'list', arguments: '<service>', description: 'the service\'s secrets: names, when each was set, which components use it (never values)' })
export class SecretListCommand extends CommandRunner {
  constructor(
    private readonly agents: Agents,
    private readonly locator: ServiceLocator,
    private readonly output: Output,
  ) {
    super();
  }

  async run([serviceText]: string[], options: { node?: string; json?: boolean } = {}): Promise<void> {
    const { service } = parseTarget(serviceText, { allowComponent: false });
    const node = await this.locator.nodeFor(service, options.node);
    const { secrets } = await this.agents.withNode(node, (client) => client.call('listSecrets', { service }));
    const rows = secrets.map((secret) => ({ name: secret.name, set: fromTimestamp(secret.setAt)?.toISOString() ?? '', usedBy: secret.usedBy }));
    if (options.json) {
      this.output.json(rows);
      return;
    }
    this.output.table(['NAME', 'SET', 'USED BY'], rows.map((row) => [row.name, row.set, row.usedBy.join(',') || '-']));
  }

  @Option({ flags: '--node <name>', description: 'the node (default: from the definition file, or the only node)' })
  parseNode(value: string): string {
    return value;
  }

  @Option({ flags: '--json', description: 'print JSON' })
  parseJson(): boolean {
    return true;
  }
}

@SubCommand({ name: 'rm', arguments: '<service> <name>', description: 'remove a secret; refused while a deployed component uses it' })
export class SecretRemoveCommand extends CommandRunner {
  constructor(
    private readonly agents: Agents,
    private readonly locator: ServiceLocator,
    private readonly output: Output,
  ) {
    super();
  }

  async run([serviceText, nameText]: string[], options: { node?: string } = {}): Promise<void> {
    const { service } = parseTarget(serviceText, { allowComponent: false });
    const name = secretName(nameText);
    const node = await this.locator.nodeFor(service, options.node);
    await this.agents.withNode(node, (client) => client.call('removeSecret', { service, name }));
    this.output.info(`secret ${name} of ${service} removed from ${node}`);
  }

  @Option({ flags: '--node <name>', description: 'the node (default: from the definition file, or the only node)' })
  parseNode(value: string): string {
    return value;
  }
}

@Command({
  name: 'secret',
  description: 'set, list or remove a service\'s secrets (kept on its node as podman secrets, never in files)',
  subCommands: [SecretSetCommand, SecretListCommand, SecretRemoveCommand],
})
export class SecretCommand extends CommandRunner {
  async run([action]: string[]): Promise<void> {
    throw new UsageError(action ? `unknown action "${action}": use set, list or rm` : 'missing action: use set, list or rm');
  }
}
