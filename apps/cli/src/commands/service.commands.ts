import * as fs from 'node:fs';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { InvalidServiceDefinitionError, ValidationError, type ServiceSpec } from '@mcp/common';
import { Agents } from '../client/agents.service';
import { DefinitionStore } from '../definitions/definition-store';
import { Editor } from '../edit/editor';
import { CommandFailedError, UsageError } from '../errors';
import { Output } from '../output/output';
import { ServiceLocator, parseTarget } from './command-helpers';
import { fromProtoSpec } from '../client/spec-proto';

/** The full spec a node holds for a service (from ListServices). */
async function agentSpec(agents: Agents, node: string, service: string): Promise<ServiceSpec> {
  const response = await agents.withNode(node, (client) => client.call('listServices', {}));
  const info = response.services.find((s) => s.name === service);
  if (!info?.spec) throw new CommandFailedError(`service "${service}" is not deployed on ${node}`);
  return fromProtoSpec(info.spec, node);
}

@SubCommand({ name: 'show', arguments: '<service>', description: "print the spec the agent holds, as TOML" })
export class ServiceShowCommand extends CommandRunner {
  constructor(
    private readonly agents: Agents,
    private readonly locator: ServiceLocator,
    private readonly definitions: DefinitionStore,
    private readonly output: Output,
  ) {
    super();
  }

  async run([serviceText]: string[], options: { node?: string } = {}): Promise<void> {
    const { service } = parseTarget(serviceText, { allowComponent: false });
    const node = await this.locator.nodeFor(service, options.node);
    const spec = await agentSpec(this.agents, node, service);
    this.output.write('stdout', await this.definitions.serialize(spec));
  }

  @Option({ flags: '--node <name>', description: 'the node (default: from the definition file)' })
  parseNode(value: string): string {
    return value;
  }
}

@SubCommand({
  name: 'export',
  arguments: '<service>',
  description:
    'write the full spec the agent holds: --format toml (default) as a definition file (to the services dir, or -o FILE); kube (Kubernetes YAML for podman kube play or a cluster) or compose (for podman-compose up) to stdout or -o FILE, with what the format cannot carry listed at the top',
})
export class ServiceExportCommand extends CommandRunner {
  constructor(
    private readonly agents: Agents,
    private readonly locator: ServiceLocator,
    private readonly definitions: DefinitionStore,
    private readonly output: Output,
  ) {
    super();
  }

  async run([serviceText]: string[], options: { node?: string; output?: string; force?: boolean; format?: string } = {}): Promise<void> {
    const { service } = parseTarget(serviceText, { allowComponent: false });
    const format = options.format ?? 'toml';
    if (!['toml', 'kube', 'compose'].includes(format)) throw new UsageError(`unknown format "${format}": use toml, kube or compose`);
    const node = await this.locator.nodeFor(service, options.node);
    if (format !== 'toml') {
      await this.exportAs(format as 'kube' | 'compose', { service, node, output: options.output, force: options.force });
      return;
    }
    const spec = await agentSpec(this.agents, node, service);
    if (options.output === '-') {
      this.output.write('stdout', await this.definitions.serialize(spec));
      return;
    }
    const file = options.output ?? this.definitions.fileFor(service);
    if (fs.existsSync(file) && !options.force) {
      throw new CommandFailedError(`${file} exists: pass --force to overwrite it, or -o FILE`);
    }
    await this.definitions.write(file, spec);
    this.output.info(`wrote ${file}`);
  }

  @Option({ flags: '--node <name>', description: 'the node (default: from the definition file, or the only node)' })
  parseNode(value: string): string {
    return value;
  }

  /** Kubernetes or Compose YAML of the deployed spec, routes published on the host ports the agent allocated. */
  private async exportAs(format: 'kube' | 'compose', input: { service: string; node: string; output?: string; force?: boolean }): Promise<void> {
    const response = await this.agents.withNode(input.node, (client) => client.call('listServices', {}));
    const info = response.services.find((s) => s.name === input.service);
    if (!info?.spec) throw new CommandFailedError(`service "${input.service}" is not deployed on ${input.node}`);
    const spec = await fromProtoSpec(info.spec, input.node);
    const routeHostPorts = Object.fromEntries(
      info.components.map((component) => [component.name, component.routes.map((route) => route.hostPort || undefined)]),
    );
    const { exportCompose, exportKube } = await import('@mcp/interop');
    const text = (format === 'kube' ? exportKube : exportCompose)({ spec, routeHostPorts });
    if (!input.output || input.output === '-') {
      this.output.write('stdout', text.replace(/\n$/, ''));
      return;
    }
    if (fs.existsSync(input.output) && !input.force) throw new CommandFailedError(`${input.output} exists: pass --force to overwrite it`);
    fs.writeFileSync(input.output, text);
    this.output.info(`wrote ${input.output}`);
  }

  @Option({ flags: '-o, --output <file>', description: 'where to write (- for stdout)' })
  parseOutput(value: string): string {
    return value;
  }

  @Option({ flags: '--force', description: 'overwrite an existing file' })
  parseForce(): boolean {
    return true;
  }

  @Option({ flags: '--format <format>', description: 'toml (default), kube or compose' })
  parseFormat(value: string): string {
    return value;
  }
}

@SubCommand({
  name: 'edit',
  arguments: '<service>',
  description: 'edit a definition in $VISUAL/$EDITOR; an invalid result is set aside and the original kept',
})
export class ServiceEditCommand extends CommandRunner {
  constructor(
    private readonly definitions: DefinitionStore,
    private readonly editor: Editor,
    private readonly output: Output,
  ) {
    super();
  }

  async run([serviceText]: string[]): Promise<void> {
    const { service } = parseTarget(serviceText, { allowComponent: false });
    const file = this.definitions.fileFor(service);
    let original: string;
    try {
      original = fs.readFileSync(file, 'utf8');
    } catch {
      throw new CommandFailedError(`no definition file ${file}: create it, or run mcp service export ${service}`);
    }
    await this.editor.edit(file);
    const edited = fs.readFileSync(file, 'utf8');
    if (edited === original) {
      this.output.info(`${file}: no changes`);
      return;
    }
    try {
      await this.definitions.loadFile(file);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      const aside = `${file}.rejected`;
      fs.writeFileSync(aside, edited);
      fs.writeFileSync(file, original);
      throw new InvalidServiceDefinitionError(
        [...error.issues, { path: '', reason: `edit rejected: original kept in ${file}, your version saved as ${aside}` }],
      );
    }
    this.output.info(`${file}: saved; run mcp deploy ${service} to apply`);
  }
}

@Command({
  name: 'service',
  description: 'show, edit or export a service definition',
  subCommands: [ServiceShowCommand, ServiceEditCommand, ServiceExportCommand],
})
export class ServiceCommand extends CommandRunner {
  async run([action]: string[]): Promise<void> {
    throw new UsageError(action ? `unknown action "${action}": use show, edit or export` : 'missing action: use show, edit or export');
  }
}
