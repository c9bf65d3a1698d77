import { Command, CommandRunner, Option } from 'nest-commander';
import { Agents } from '../client/agents.service';
import { fromTimestamp } from '../client/timestamps';
import { Output } from '../output/output';
import { ServiceLocator, parseTarget } from './command-helpers';

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

@Command({
  name: 'backup',
  arguments: '<service>',
  description:
    "back up a service's data (/srv/<svc>/ and its components' named volumes) with restic on its node, as its [backup] table says (mode live|pause|stop, before, keep_*); --check runs restic's check and reads every snapshot of the service instead",
})
export class BackupCommand extends CommandRunner {
  constructor(
    private readonly agents: Agents,
    private readonly locator: ServiceLocator,
    private readonly output: Output,
  ) {
    super();
  }

  async run([serviceText]: string[], options: { node?: string; check?: boolean; json?: boolean } = {}): Promise<void> {
    const { service } = parseTarget(serviceText, { allowComponent: false });
    const node = await this.locator.nodeFor(service, options.node);
    if (options.check) {
      const checked = await this.agents.withNode(node, (client) => client.call('checkBackups', { service }));
      if (options.json) this.output.json(checked);
      else this.output.info(`backups of ${service} on ${node}: repository check passed; ${checked.snapshots} snapshots, ${checked.entries} entries read`);
      return;
    }
    const started = Date.now();
    const result = await this.agents.withNode(node, async (client) => {
      for await (const message of client.stream('backupService', { service })) {
        if (message.result) return message.result;
        const p = message.progress;
        if (!p) continue;
        const seconds = Math.max((Date.now() - started) / 1000, 0.001);
        this.output.progress(
          p.phase === 'snapshot' && p.totalFiles > 0
            ? `backup ${service}: ${p.filesDone}/${p.totalFiles} files, ${formatBytes(p.bytesDone)}/${formatBytes(p.totalBytes)}, ${formatBytes(p.bytesDone / seconds)}/s`
            : `backup ${service}: ${p.phase}`,
        );
      }
      throw new Error(`backup of ${service}: the agent ended the stream without a result`);
    });
    this.output.clearProgress();
    if (options.json) {
      this.output.json(result);
      return;
    }
    const paused = result.mode === 'live' ? '' : `, ${result.mode === 'pause' ? 'paused' : 'stopped'} ${result.pausedSeconds.toFixed(2)} s`;
    const forgot = result.forgotten.length ? `; retention removed ${result.forgotten.length} snapshot(s)` : '';
    this.output.info(
      `backup of ${service} on ${node}: snapshot ${result.snapshotId}, ${result.files} files, ${formatBytes(result.bytes)} (${formatBytes(result.dataAdded)} new) in ${result.durationSeconds.toFixed(1)} s${paused}${forgot}`,
    );
  }

  @Option({ flags: '--node <name>', description: 'the node (default: from the definition file, or the only node)' })
  parseNode(value: string): string {
    return value;
  }

  @Option({ flags: '--check', description: "check the repository and read every snapshot of the service (restic check); takes no snapshot" })
  parseCheck(): boolean {
    return true;
  }

  @Option({ flags: '--json', description: 'print the result as JSON' })
  parseJson(): boolean {
    return true;
  }
}

@Command({ name: 'backups', arguments: '<service>', description: "the service's snapshots in its node's backup repository, every node's, oldest first: ID TIME SIZE FILES HOST" })
export class BackupsCommand extends CommandRunner {
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
    const { snapshots } = await this.agents.withNode(node, (client) => client.call('listBackups', { service, runsOnly: false }));
    const rows = snapshots.map((s) => ({ id: s.shortId, fullId: s.id, time: fromTimestamp(s.time)?.toISOString() ?? '', size: s.size, files: s.files, host: s.host }));
    if (options.json) {
      this.output.json(rows);
      return;
    }
    this.output.table(['ID', 'TIME', 'SIZE', 'FILES', 'HOST'], rows.map((row) => [row.id, row.time, formatBytes(row.size), String(row.files), row.host]));
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

@Command({
  name: 'restore',
  arguments: '<service>',
  description:
    "restore a service's data from a snapshot: stops its components, restores into a staging directory beside the live one, swaps them (the previous data kept as <dir>.pre-restore-<time> until the next successful backup), starts the components and waits for health. Killed at any point, it leaves the old data or the complete new data, never a mix",
})
export class RestoreCommand extends CommandRunner {
  constructor(
    private readonly agents: Agents,
    private readonly locator: ServiceLocator,
    private readonly output: Output,
  ) {
    super();
  }

  async run([serviceText]: string[], options: { node?: string; snapshot?: string; json?: boolean } = {}): Promise<void> {
    const { service } = parseTarget(serviceText, { allowComponent: false });
    const node = await this.locator.nodeFor(service, options.node);
    this.output.progress(`restore ${service}: stopping, restoring, swapping, starting…`);
    const result = await this.agents.withNode(node, (client) => client.call('restoreService', { service, snapshot: options.snapshot ?? '' }));
    this.output.clearProgress();
    if (options.json) {
      this.output.json(result);
      return;
    }
    this.output.info(`restored ${service} on ${node} from snapshot ${result.snapshotId.slice(0, 8)}; previous data kept as ${result.kept.join(', ') || '-'}`);
    for (const r of result.results) this.output.info(`  ${r.component}: ${r.ok ? 'running' : `FAILED: ${r.error}`}`);
    if (result.results.some((r) => !r.ok)) process.exitCode = 1;
  }

  @Option({ flags: '--node <name>', description: 'the node (default: from the definition file, or the only node)' })
  parseNode(value: string): string {
    return value;
  }

  @Option({ flags: '--snapshot <id>', description: 'a snapshot id (or its start) from mcp backups; default the newest' })
  parseSnapshot(value: string): string {
    return value;
  }

  @Option({ flags: '--json', description: 'print the result as JSON' })
  parseJson(): boolean {
    return true;
  }
}
