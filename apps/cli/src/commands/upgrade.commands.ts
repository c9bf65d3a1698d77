import * as fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, CommandRunner, Help, Option, SubCommand } from 'nest-commander';
import { bundleFiles, makeBundle, parseDuration, readBundleManifest, releaseName, sha256Hex, stampedPackageJson } from '@mcp/common';
import type { AgentAnswer } from '../client/agent-client';
import { Agents, failureLabel, fleetErrors, throwIfFleetFailed } from '../client/agents.service';
import type { NodeConfig } from '../config/cli-config';
import { CliConfigService } from '../config/cli-config.service';
import { AgentUnreachableError, CommandFailedError, describeError, ExitCode, exitCodeFor, PartialFailureError, UsageError } from '../errors';
import { Output, type Cell } from '../output/output';
import { cliPackageRoot, cliVersion } from '../version';

/** Bytes per UpgradeAgent chunk. */
const CHUNK_BYTES = 64 * 1024;
/** How often NodeStatus is asked while a node restarts. */
const POLL_MS = 500;
const DEFAULT_WAIT = '2m';
/** Lines of the failed release's output shown with a rollback. */
const LOG_LINES = 15;

/** A bundle to send: its bytes, version, SHA-256 and the release name it will get. */
export interface AgentBundle {
  data: Buffer;
  version: string;
  sha256: string;
  release: string;
  source: string;
}

/** The bundle of `--bundle FILE`, or one made from the CLI's own build (the default). */
export async function loadBundle(file: string | undefined): Promise<AgentBundle> {
  if (file) {
    let manifest: { version: string };
    try {
      manifest = await readBundleManifest(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new CommandFailedError(`--bundle ${file}: no such file`);
      throw new CommandFailedError(`--bundle ${file} is not an agent bundle: ${(error as Error).message}`);
    }
    const data = fs.readFileSync(file);
    const sha256 = sha256Hex(data);
    return { data, version: manifest.version, sha256, release: releaseName(manifest.version, sha256), source: file };
  }
  const root = cliPackageRoot();
  let files: string[];
  try {
    files = bundleFiles(root);
  } catch (error) {
    throw new CommandFailedError(`cannot make an agent bundle from this CLI's install: ${(error as Error).message}; give one with --bundle FILE (npm run bundle:agent)`);
  }
  const version = cliVersion();
  const data = makeBundle(root, files, { 'package.json': stampedPackageJson(root, version) });
  const sha256 = sha256Hex(data);
  return { data, version, sha256, release: releaseName(version, sha256), source: `this CLI's build (${root})` };
}

async function* chunksOf(data: Buffer): AsyncIterable<Buffer> {
  for (let at = 0; at < data.length; at += CHUNK_BYTES) yield data.subarray(at, at + CHUNK_BYTES);
}

/**
 * upgraded: the new release serves and passed its self-check; reverted: --rollback done;
 * rolled_back: the new release failed to start and the launcher went back (a failure).
 */
export type UpgradeResult = 'upgraded' | 'reverted' | 'rolled_back' | 'unreachable' | 'failed' | 'not_confirmed' | 'skipped';

export interface NodeUpgradeReport {
  node: string;
  result: UpgradeResult;
  from: string;
  to: string;
  version: string;
  /** The failed release's last output, when it was rolled back. */
  logTail?: string;
  error?: string;
  seconds?: number;
}

function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}

@SubCommand({
  name: 'upgrade',
  arguments: '[nodes...]',
  description: "upgrade nodes' agents to this CLI's build (or --bundle FILE), one node at a time, with an automatic way back",
})
export class NodeUpgradeCommand extends CommandRunner {
  @Help('after')
  helpText(): string {
    return `
Each node's agent receives the bundle with its SHA-256, unpacks it beside the running
release (releases/<version>-<sha12> under its install dir), switches its \`current\` link
and exits; its supervisor starts the new release, which marks itself good once it serves
and its self-check passes. A release that fails to start twice is rolled back by the
launcher (mcp-agent-launch): the command reports that with the failed release's last
output and stops before the next node. Containers keep running throughout.

  mcp node upgrade alpha beta              this CLI's own build
  mcp node upgrade --all --bundle mcp-agent-bundle-0.2.0.tar.gz   (npm run bundle:agent)
  mcp node upgrade alpha --rollback        back to the release before the current one

Exit status: 0 every node upgraded; 1 a rollback or a refusal; 3 nodes unreachable.
With --json: {nodes: [{node, result, from, to, version, logTail?, error?, seconds?}]}
(result: upgraded | reverted | rolled_back | unreachable | failed | not_confirmed | skipped).`;
  }

  constructor(
    private readonly config: CliConfigService,
    private readonly agents: Agents,
    private readonly output: Output,
  ) {
    super();
  }

  async run(names: string[], options: { bundle?: string; all?: boolean; rollback?: boolean; wait?: string; json?: boolean } = {}): Promise<void> {
    if (options.all && names.length > 0) throw new UsageError('give node names or --all, not both');
    if (!options.all && names.length === 0) throw new UsageError('name the nodes to upgrade (mcp node upgrade alpha beta) or give --all');
    if (options.rollback && options.bundle) throw new UsageError('--rollback goes back to the previous release: it takes no --bundle');
    const waitMs = parseDuration(options.wait ?? DEFAULT_WAIT);
    if (!waitMs) throw new UsageError(`--wait must be a duration like 2m, not "${options.wait}"`);
    const nodes = options.all ? this.config.requireNodes() : [...new Set(names)].map((name) => this.config.node(name));
    const bundle = options.rollback ? undefined : await loadBundle(options.bundle);
    if (bundle && !options.json) this.output.info(`bundle ${bundle.release} (${(bundle.data.length / 1024 ** 2).toFixed(1)} MiB) from ${bundle.source}`);

    const reports: NodeUpgradeReport[] = [];
    for (const node of nodes) {
      if (reports.some((r) => r.result === 'rolled_back')) {
        reports.push({ node: node.name, result: 'skipped', from: '', to: '', version: '' });
        continue;
      }
      const report = await this.upgradeOne(node, bundle, waitMs);
      reports.push(report);
      if (!options.json) this.print(report);
    }
    if (options.json) this.output.json({ nodes: reports });
    else for (const r of reports.filter((r) => r.result === 'skipped')) this.output.info(`${r.node}: skipped (an earlier node was rolled back)`);
    this.finish(reports);
  }

  private async upgradeOne(node: NodeConfig, bundle: AgentBundle | undefined, waitMs: number): Promise<NodeUpgradeReport> {
    const started = Date.now();
    const base = { node: node.name, from: '', to: bundle?.release ?? '', version: bundle?.version ?? '' };
    let answer: { release: string; previousRelease: string };
    try {
      if (bundle) {
        this.output.progress(`${node.name}: sending ${bundle.release}…`);
        answer = await this.agents.withNode(node.name, (client) =>
          client.upgradeAgent({ header: { version: bundle.version, size: bundle.data.length, sha256: bundle.sha256 }, chunks: chunksOf(bundle.data) }),
        );
      } else {
        this.output.progress(`${node.name}: rolling back…`);
        answer = await this.agents.withNode(node.name, (client) => client.call('rollbackAgent', {}));
      }
    } catch (error) {
      this.output.clearProgress();
      return { ...base, result: error instanceof AgentUnreachableError ? 'unreachable' : 'failed', error: describeError(error) };
    }
    const target = { ...base, from: answer.previousRelease, to: answer.release, version: bundle?.version ?? answer.release.replace(/-[0-9a-f]{12}$/, '') };
    const outcome = await this.waitFor(node, answer.release, waitMs, !bundle);
    this.output.clearProgress();
    return { ...target, ...outcome, seconds: Math.round((Date.now() - started) / 100) / 10 };
  }

  /**
   * Polls NodeStatus until the node runs `release` marked good, or reports the launcher's
   * rollback of it; bounded by `waitMs`. Unreachable
   * answers are expected meanwhile: the agent is restarting.
   */
  private async waitFor(node: NodeConfig, release: string, waitMs: number, reverting: boolean): Promise<Pick<NodeUpgradeReport, 'result' | 'logTail' | 'error'>> {
    const deadline = Date.now() + waitMs;
    let last: AgentAnswer<'nodeStatus'> | undefined;
    let lastError: unknown;
    for (;;) {
      this.output.progress(`${node.name}: waiting for ${release} to start and pass its self-check…`);
      try {
        last = await this.agents.withNode(node.name, (client) => client.call('nodeStatus', {}));
        lastError = undefined;
        const rollback = last.lastRollback;
        if (rollback?.failedRelease === release && last.release !== release) {
          return {
            result: 'rolled_back',
            logTail: lastLines(rollback.logTail, LOG_LINES),
            error: `${release} never became good in 2 starts; the launcher went back to ${rollback.restoredRelease}, which serves again`,
          };
        }
        if (last.release === release && last.releaseGood) return { result: reverting ? 'reverted' : 'upgraded' };
      } catch (error) {
        lastError = error;
      }
      if (Date.now() >= deadline) break;
      await sleep(POLL_MS);
    }
    const seconds = Math.round(waitMs / 1000);
    if (last?.release === release) return { result: 'not_confirmed', error: `${release} runs but has not passed its self-check within ${seconds}s (see the agent's log)` };
    if (lastError) return { result: exitCodeFor(lastError) === ExitCode.unreachable ? 'unreachable' : 'failed', error: `${release} did not answer within ${seconds}s: ${describeError(lastError)}` };
    return { result: 'not_confirmed', error: `the node still runs ${last?.release || 'another release'} after ${seconds}s` };
  }

  private print(r: NodeUpgradeReport): void {
    switch (r.result) {
      case 'upgraded':
        this.output.info(`${r.node}: upgraded ${r.from} -> ${r.to} (${r.seconds}s)`);
        return;
      case 'reverted':
        this.output.info(`${r.node}: back on ${r.to} (was ${r.from}) (${r.seconds}s)`);
        return;
      case 'rolled_back':
        this.output.warn(`${r.node}: rolled back: ${r.error}. Its last output:`);
        for (const line of (r.logTail ?? '').split('\n')) this.output.warn(`  ${line}`);
        return;
      default:
        this.output.warn(`${r.node}: ${r.result.replace('_', ' ')}: ${r.error}`);
    }
  }

  private finish(reports: NodeUpgradeReport[]): void {
    const failed = reports.filter((r) => r.result !== 'upgraded' && r.result !== 'reverted');
    if (failed.length === 0) return;
    const codes = new Set(failed.map((r) => (r.result === 'unreachable' ? ExitCode.unreachable : ExitCode.failure)));
    const code = codes.size === 1 ? [...codes][0]! : ExitCode.failure;
    throw new PartialFailureError(failed.map((r) => `${r.node}: ${r.result.replace('_', ' ')}${r.error ? `: ${r.error}` : ''}`).join('\n'), code);
  }

  @Option({ flags: '--bundle <file>', description: 'the agent bundle to send (npm run bundle:agent makes one); default: this CLI\'s own build' })
  parseBundle(value: string): string {
    return value;
  }

  @Option({ flags: '--all', description: 'every node in mcp.toml, one at a time' })
  parseAll(): boolean {
    return true;
  }

  @Option({ flags: '--rollback', description: 'go back to the release before the current one' })
  parseRollback(): boolean {
    return true;
  }

  @Option({ flags: '--wait <duration>', description: `how long to wait for each node's new release to answer (default ${DEFAULT_WAIT})` })
  parseWait(value: string): string {
    return value;
  }

  @Option({ flags: '--json', description: 'machine-readable output' })
  parseJson(): boolean {
    return true;
  }
}

/** Major.minor of a version, or undefined when it is not one. */
function minorOf(version: string): { major: number; minor: number } | undefined {
  const match = /^(\d+)\.(\d+)\./.exec(version);
  return match ? { major: Number(match[1]), minor: Number(match[2]) } : undefined;
}

/** True when two versions are more than one minor version apart (or of different majors). */
export function isSkewed(a: string, b: string): boolean {
  const x = minorOf(a);
  const y = minorOf(b);
  if (!x || !y) return a !== b;
  return x.major !== y.major || Math.abs(x.minor - y.minor) > 1;
}

@Command({
  name: 'version',
  arguments: '[nodes...]',
  description: "this CLI's version and every node's agent version (or the named nodes'); warns on a skew of more than one minor version",
})
export class VersionCommand extends CommandRunner {
  @Help('after')
  jsonHelp(): string {
    return `\nWith --json: {cli, nodes: [{node, version, release, releaseGood, skew}], errors: [{node, kind, error}]}`;
  }

  constructor(
    private readonly config: CliConfigService,
    private readonly agents: Agents,
    private readonly output: Output,
  ) {
    super();
  }

  async run(names: string[], options: { json?: boolean } = {}): Promise<void> {
    const cli = cliVersion();
    const nodes = names.length > 0 ? names.map((name) => this.config.node(name)) : this.config.requireNodes();
    const outcomes = await this.agents.fanOut((client) => client.call('nodeStatus', {}), nodes);
    const rows = outcomes.flatMap((o) =>
      o.ok ? [{ node: o.node.name, version: o.value.version, release: o.value.release, releaseGood: o.value.releaseGood, skew: isSkewed(cli, o.value.version) }] : [],
    );
    if (options.json) {
      this.output.json({ cli, nodes: rows, errors: fleetErrors(outcomes) });
    } else {
      this.output.line(`mcp ${cli}`);
      const table: Cell[][] = rows.map((r) => [r.node, r.version, r.release || '-', r.release ? (r.releaseGood ? 'good' : { text: 'starting', style: 'yellow' as const }) : '-']);
      for (const o of outcomes) if (!o.ok) table.push([o.node.name, { text: failureLabel(o.error), style: 'red' as const }, '-', '-']);
      this.output.table(['NODE', 'AGENT', 'RELEASE', 'STATE'], table);
      for (const r of rows.filter((r) => r.skew)) {
        this.output.warn(`warning: ${r.node} runs agent ${r.version}, this CLI is ${cli}: more than one minor version apart; mcp node upgrade ${r.node}`);
      }
    }
    throwIfFleetFailed(outcomes);
  }

  @Option({ flags: '--json', description: 'machine-readable output' })
  parseJson(): boolean {
    return true;
  }
}
