import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, CommandRunner, Help, Option, SubCommand } from 'nest-commander';
import { NAME_PATTERN, formatUptime, parseDuration } from '@mcp/common';
import { Agents } from '../client/agents.service';
import { fromTimestamp } from '../client/timestamps';
import { renderFleet } from '../output/fleet-renderer';
import { CliContext } from '../cli-context';
import { loadCliConfig } from '../config/cli-config';
import { CliConfigService } from '../config/cli-config.service';
import { addNodeToText, removeNodeFromText } from '../config/nodes-file';
import { CommandFailedError, UsageError } from '../errors';
import { Output } from '../output/output';
import { NodeDrainCommand } from './move.commands';
import { NodeUpgradeCommand } from './upgrade.commands';

function formatBytes(bytes: number): string {
  if (!bytes) return '-';
  const gib = bytes / 1024 ** 3;
  return gib >= 1 ? `${gib.toFixed(1)}G` : `${(bytes / 1024 ** 2).toFixed(0)}M`;
}

@SubCommand({
  name: 'list',
  description: 'the nodes in mcp.toml',
})
export class NodeListCommand extends CommandRunner {
  @Help('after')
  jsonHelp(): string {
    return `\nWith --json: {nodes: [{name, address, serverName, timeoutMs}]}`;
  }

  constructor(
    private readonly config: CliConfigService,
    private readonly output: Output,
  ) {
    super();
  }

  async run(_args: string[], options: { json?: boolean } = {}): Promise<void> {
    const nodes = this.config.get().nodes;
    if (options.json) {
      this.output.json({ nodes: nodes.map((n) => ({ name: n.name, address: n.address, serverName: n.serverName ?? null, timeoutMs: n.timeoutMs })) });
      return;
    }
    if (nodes.length === 0) {
      this.output.info(`no nodes in ${this.config.get().file}: run mcp node add NAME HOST:PORT`);
      return;
    }
    this.output.table(['NAME', 'ADDRESS', 'SERVER NAME'], nodes.map((n) => [n.name, n.address, n.serverName ?? '-']));
  }

  @Option({ flags: '--json', description: 'machine-readable output' })
  parseJson(): boolean {
    return true;
  }
}

/** Writes new mcp.toml text only if it still validates; the old file stays otherwise. */
function replaceConfigText(context: CliContext, file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, text, { mode: 0o600 });
  try {
    loadCliConfig({ file: temp, env: {}, homeDir: context.homeDir, mustExist: true });
    if (fs.existsSync(file)) fs.chmodSync(temp, fs.statSync(file).mode & 0o777);
    fs.renameSync(temp, file);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
}

@SubCommand({ name: 'add', arguments: '<name> <address>', description: 'add a [[nodes]] entry to mcp.toml (the rest of the file is kept)' })
export class NodeAddCommand extends CommandRunner {
  constructor(
    private readonly config: CliConfigService,
    private readonly context: CliContext,
    private readonly output: Output,
  ) {
    super();
  }

  async run([name, address]: string[], options: { serverName?: string; timeout?: string } = {}): Promise<void> {
    if (!NAME_PATTERN.test(name)) throw new UsageError(`invalid node name "${name}": must match ${NAME_PATTERN.source}`);
    if (options.timeout !== undefined && !parseDuration(options.timeout)) throw new UsageError(`--timeout must be a duration like 10s`);
    const file = this.config.where().path;
    const current = fs.existsSync(file) ? this.config.get() : undefined;
    if (current?.nodes.some((n) => n.name === name)) throw new CommandFailedError(`node "${name}" already exists in ${file}`);
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    replaceConfigText(this.context, file, addNodeToText(text, { name, address, serverName: options.serverName, timeout: options.timeout }));
    this.output.info(`added node ${name} (${address}) to ${file}`);
  }

  @Option({ flags: '--server-name <name>', description: 'TLS name to verify (when ADDRESS is an IP or lacks from the certificate)' })
  parseServerName(value: string): string {
    return value;
  }

  @Option({ flags: '--timeout <duration>', description: 'connect and quick-call timeout (default 10s)' })
  parseTimeout(value: string): string {
    return value;
  }
}

@SubCommand({ name: 'remove', arguments: '<name>', description: 'remove a [[nodes]] entry from mcp.toml (the rest of the file is kept)' })
export class NodeRemoveCommand extends CommandRunner {
  constructor(
    private readonly config: CliConfigService,
    private readonly context: CliContext,
    private readonly output: Output,
  ) {
    super();
  }

  async run([name]: string[]): Promise<void> {
    const file = this.config.where().path;
    if (!fs.existsSync(file)) throw new CommandFailedError(`no config file ${file}`);
    const text = fs.readFileSync(file, 'utf8');
    const updated = removeNodeFromText(text, name);
    if (updated === undefined) throw new CommandFailedError(`no node "${name}" in ${file}`);
    replaceConfigText(this.context, file, updated);
    this.output.info(`removed node ${name} from ${file}`);
  }
}

@SubCommand({
  name: 'status',
  arguments: '[name]',
  description:
    'agent version, uptime, containers, CPUs, memory and disk of every node (or one).',
})
export class NodeStatusCommand extends CommandRunner {
  @Help('after')
  jsonHelp(): string {
    return `\nWith --json: {nodes: [{node, agentNode, version, uptimeSeconds, containers, runningContainers, cpus, memoryTotalBytes, memoryFreeBytes, diskTotalBytes, diskFreeBytes, runtimeVersion, cordoned, cordonedBy, cordonedAt}], errors: [{node, kind, error}]}`;
  }

  constructor(
    private readonly config: CliConfigService,
    private readonly agents: Agents,
    private readonly output: Output,
  ) {
    super();
  }

  async run([name]: string[], options: { json?: boolean } = {}): Promise<void> {
    const nodes = name ? [this.config.node(name)] : this.config.requireNodes();
    const outcomes = await this.agents.fanOut((client) => client.call('nodeStatus', {}), nodes);
    renderFleet(this.output, outcomes, options.json, {
      rows: (value, node) => [
        {
          node: node.name,
          agentNode: value.node,
          version: value.version,
          uptimeSeconds: value.uptimeSeconds,
          containers: value.containers,
          runningContainers: value.runningContainers,
          cpus: value.cpus,
          memoryTotalBytes: value.memoryTotalBytes,
          memoryFreeBytes: value.memoryFreeBytes,
          diskTotalBytes: value.diskTotalBytes,
          diskFreeBytes: value.diskFreeBytes,
          runtimeVersion: value.runtimeVersion,
          cordoned: value.cordoned,
          cordonedBy: value.cordoned ? value.cordonedBy : null,
          cordonedAt: value.cordoned ? (fromTimestamp(value.cordonedAt)?.toISOString() ?? null) : null,
        },
      ],
      jsonKey: 'nodes',
      headers: ['NODE', 'STATE', 'VERSION', 'UPTIME', 'RUNNING', 'CPUS', 'MEM FREE', 'DISK FREE'],
      cells: (r) => [
        r.node,
        r.cordoned ? { text: 'cordoned', style: 'yellow' } : { text: 'up', style: 'green' },
        r.version,
        formatUptime(r.uptimeSeconds * 1000),
        `${r.runningContainers}/${r.containers}`,
        String(r.cpus),
        `${formatBytes(r.memoryFreeBytes)}/${formatBytes(r.memoryTotalBytes)}`,
        `${formatBytes(r.diskFreeBytes)}/${formatBytes(r.diskTotalBytes)}`,
      ],
      failedRow: (node, label) => [node, label, '-', '-', '-', '-', '-', '-'],
    });
  }

  @Option({ flags: '--json', description: 'machine-readable output' })
  parseJson(): boolean {
    return true;
  }
}

/** `mcp node cordon|uncordon NODE` (SPEC §15): the node's agent keeps the cordon in its registry. */
async function setCordon(deps: { config: CliConfigService; agents: Agents; output: Output }, name: string, cordoned: boolean, json?: boolean): Promise<void> {
  const node = deps.config.node(name);
  const response = await deps.agents.withNode(node.name, (client) => client.call('setCordon', { cordoned }));
  if (json) {
    deps.output.json({ node: node.name, cordoned: response.cordoned, changed: response.changed });
    return;
  }
  const state = cordoned ? 'cordoned' : 'uncordoned';
  if (!response.changed) deps.output.info(`node ${node.name} was already ${state}`);
  else if (cordoned) deps.output.info(`cordoned node ${node.name}: new services are refused there (its services keep running; mcp node drain ${node.name} moves them)`);
  else deps.output.info(`uncordoned node ${node.name}: it takes new services again`);
}

@SubCommand({
  name: 'cordon',
  arguments: '<name>',
  description: 'keep new services off a node (deploys of services it does not run are refused unless --force); its services keep running',
})
export class NodeCordonCommand extends CommandRunner {
  constructor(
    private readonly config: CliConfigService,
    private readonly agents: Agents,
    private readonly output: Output,
  ) {
    super();
  }

  @Help('after')
  moreHelp(): string {
    return `
The cordon is kept in the node's registry (it survives agent restarts) and shows in mcp node status,
mcp list and mcp ps. Undo with mcp node uncordon NAME. With --json: {node, cordoned, changed}`;
  }

  async run([name]: string[], options: { json?: boolean } = {}): Promise<void> {
    await setCordon({ config: this.config, agents: this.agents, output: this.output }, name, true, options.json);
  }

  @Option({ flags: '--json', description: 'machine-readable output' })
  parseJson(): boolean {
    return true;
  }
}

@SubCommand({ name: 'uncordon', arguments: '<name>', description: 'let a cordoned node take new services again' })
export class NodeUncordonCommand extends CommandRunner {
  constructor(
    private readonly config: CliConfigService,
    private readonly agents: Agents,
    private readonly output: Output,
  ) {
    super();
  }

  async run([name]: string[], options: { json?: boolean } = {}): Promise<void> {
    await setCordon({ config: this.config, agents: this.agents, output: this.output }, name, false, options.json);
  }

  @Option({ flags: '--json', description: 'machine-readable output' })
  parseJson(): boolean {
    return true;
  }
}

@Command({
  name: 'node',
  description: 'list, add, remove, check, cordon, uncordon or drain nodes; upgrade their agents',
  subCommands: [NodeListCommand, NodeAddCommand, NodeRemoveCommand, NodeStatusCommand, NodeCordonCommand, NodeUncordonCommand, NodeDrainCommand, NodeUpgradeCommand],
})
export class NodeCommand extends CommandRunner {
  async run([action]: string[]): Promise<void> {
    const actions = 'use list, add, remove, status, cordon, uncordon, drain or upgrade';
    throw new UsageError(action ? `unknown action "${action}": ${actions}` : `missing action: ${actions}`);
  }
}
