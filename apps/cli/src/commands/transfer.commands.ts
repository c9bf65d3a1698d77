import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, CommandRunner, Option } from 'nest-commander';
import { ChecksumMismatchError } from '@mcp/common';
import type { AgentRequest, PushFileHeader } from '../client/agent-client';
import { Agents } from '../client/agents.service';
import { AgentCallError, CommandFailedError, UsageError } from '../errors';
import { Output } from '../output/output';
import { formatBytes, Progress } from '../output/progress';
import { ServiceLocator, parseTarget } from './command-helpers';

const CHUNK_BYTES = 64 * 1024;

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: CHUNK_BYTES })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

@Command({
  name: 'push',
  arguments: '<file> <service> [dest]',
  argsDescription: { file: 'local file', service: 'the service', dest: 'path under /srv/SERVICE/ (default: the file name)' },
  description: "copy a file into a service's directory on its node (streamed, checked with SHA-256)",
})
export class PushCommand extends CommandRunner {
  constructor(
    private readonly agents: Agents,
    private readonly locator: ServiceLocator,
    private readonly output: Output,
  ) {
    super();
  }

  async run([file, serviceText, dest]: string[], options: { node?: string; mode?: number } = {}): Promise<void> {
    const { service } = parseTarget(serviceText, { allowComponent: false });
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch (error) {
      throw new CommandFailedError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    if (!stat.isFile()) throw new UsageError(`${file} is not a regular file`);
    const target = dest ?? path.basename(file);
    const node = await this.locator.nodeFor(service, options.node);
    const sha256 = await sha256File(file);
    const header: PushFileHeader = { service, path: target, mode: options.mode ?? stat.mode & 0o777, size: stat.size, sha256, mtimeMs: 0 };
    const progress = new Progress(this.output, `push ${target}`, stat.size);
    async function* chunks(): AsyncIterable<Buffer> {
      let sent = 0;
      for await (const chunk of fs.createReadStream(file, { highWaterMark: CHUNK_BYTES })) {
        sent += (chunk as Buffer).length;
        progress.update(sent);
        yield chunk as Buffer;
      }
    }
    let response;
    try {
      response = await this.agents.withNode(node, (client) => client.pushFile({ header, chunks: chunks() }));
    } finally {
      this.output.clearProgress();
    }
    if (response.sha256 && response.sha256 !== sha256) {
      throw new ChecksumMismatchError(`${node} stored ${response.path} with SHA-256 ${response.sha256}, expected ${sha256}`);
    }
    this.output.info(`pushed ${file} to ${node}:${response.path || target} (${formatBytes(response.size || stat.size)})`);
  }

  @Option({ flags: '--node <name>', description: 'the node (default: from the definition file)' })
  parseNode(value: string): string {
    return value;
  }

  @Option({ flags: '--mode <octal>', description: 'file mode on the node, e.g. 0640 (default: the local mode)' })
  parseMode(value: string): number {
    if (!/^0?[0-7]{3}$/.test(value)) throw new UsageError(`--mode must be octal like 0640, got "${value}"`);
    return parseInt(value, 8);
  }
}

@Command({
  name: 'pull',
  arguments: '<service> <path> [local]',
  argsDescription: { service: 'the service', path: 'path under /srv/SERVICE/', local: 'where to write (default: the file name)' },
  description: "copy a file from a service's directory on its node (SHA-256 checked, mode kept)",
})
export class PullCommand extends CommandRunner {
  constructor(
    private readonly agents: Agents,
    private readonly locator: ServiceLocator,
    private readonly output: Output,
  ) {
    super();
  }

  async run([serviceText, remote, local]: string[], options: { node?: string } = {}): Promise<void> {
    const { service } = parseTarget(serviceText, { allowComponent: false });
    let destination = local ?? path.basename(remote);
    if (fs.existsSync(destination) && fs.statSync(destination).isDirectory()) destination = path.join(destination, path.basename(remote));
    const node = await this.locator.nodeFor(service, options.node);
    const temp = path.join(path.dirname(destination), `.${path.basename(destination)}.${process.pid}.pull`);
    const hash = createHash('sha256');
    let info: { size: number; mode: number; sha256: string } | undefined;
    let received = 0;
    const out = fs.createWriteStream(temp, { mode: 0o600 });
    const closed = new Promise<void>((resolve, reject) => {
      out.on('close', resolve);
      out.on('error', reject);
    });
    try {
      await this.agents.withNode(node, async (client) => {
        let progress: Progress | undefined;
        for await (const message of client.stream('pullFile', { service, path: remote })) {
          if (message.info) {
            info = message.info;
            progress = new Progress(this.output, `pull ${remote}`, info.size);
          }
          if (message.chunk && message.chunk.length) {
            hash.update(message.chunk);
            received += message.chunk.length;
            if (!out.write(message.chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
            progress?.update(received);
          }
        }
      });
      out.end();
      await closed;
      this.output.clearProgress();
      const digest = hash.digest('hex');
      if (!info) throw new CommandFailedError(`${node} sent no file information for ${remote}`);
      if (info.sha256 && info.sha256 !== digest) {
        throw new ChecksumMismatchError(`${remote}: SHA-256 ${digest} does not match the agent's ${info.sha256}; nothing written`);
      }
      if (info.size !== received) throw new CommandFailedError(`${remote}: got ${received} of ${info.size} bytes; nothing written`);
      fs.chmodSync(temp, (info.mode & 0o7777) || 0o644);
      fs.renameSync(temp, destination);
    } catch (error) {
      this.output.clearProgress();
      out.destroy();
      fs.rmSync(temp, { force: true });
      throw error;
    }
    this.output.info(`pulled ${node}:${remote} to ${destination} (${formatBytes(received)})`);
  }

  @Option({ flags: '--node <name>', description: 'the node (default: from the definition file)' })
  parseNode(value: string): string {
    return value;
  }
}

interface LogsOptions {
  follow?: boolean;
  tail?: number;
  since?: string;
  timestamps?: boolean;
  node?: string;
}

@Command({
  name: 'logs',
  arguments: '<target>',
  argsDescription: { target: 'SERVICE, SERVICE/COMPONENT or SERVICE/JOB' },
  description: "a component's container logs (stdout and stderr kept apart); -f follows until Ctrl-C. For SERVICE/JOB (a [[jobs]] name): the output of the job's last finished run",
})
export class LogsCommand extends CommandRunner {
  constructor(
    private readonly agents: Agents,
    private readonly locator: ServiceLocator,
    private readonly output: Output,
  ) {
    super();
  }

  async run([targetText]: string[], options: LogsOptions = {}): Promise<void> {
    const target = parseTarget(targetText, { allowComponent: true });
    const node = await this.locator.nodeFor(target.service, options.node);
    const abort = new AbortController();
    const onInterrupt = () => abort.abort();
    process.once('SIGINT', onInterrupt);
    try {
      await this.agents.withNode(node, async (client) => {
        const request: AgentRequest<'logs'> = {
          service: target.service,
          component: target.component ?? '',
          follow: options.follow === true,
          tail: options.tail ?? 0,
          since: options.since ?? '',
          timestamps: options.timestamps === true,
        };
        try {
          for await (const message of client.stream('logs', request, { signal: abort.signal })) {
            this.output.write(message.stream === 'stderr' ? 'stderr' : 'stdout', message.data);
          }
        } catch (error) {
          // No such component: SERVICE/JOB names a job (SPEC §12), whose last run's output is shown.
          if (!(error instanceof AgentCallError && error.code === 'NOT_FOUND' && target.component)) throw error;
          const answer = await client.call('listJobs', { service: target.service, job: target.component, recent: 0 }).catch(() => undefined);
          if (!answer || !answer.jobs.some((job) => job.spec?.name === target.component)) throw error;
          // The newest run that ended with output (one still running, or a skipped one, has none yet).
          const last = answer.runs.find((run) => run.result !== 'running' && run.result !== 'skipped');
          if (!last) throw new CommandFailedError(`job ${target.service}/${target.component} has no finished run yet`);
          this.output.write('stdout', Buffer.from(last.output));
        }
      });
    } finally {
      process.removeListener('SIGINT', onInterrupt);
    }
  }

  @Option({ flags: '-f, --follow', description: 'keep streaming new lines' })
  parseFollow(): boolean {
    return true;
  }

  @Option({ flags: '-n, --tail <lines>', description: 'only the last N lines' })
  parseTail(value: string): number {
    if (!/^\d+$/.test(value)) throw new UsageError(`--tail must be a non-negative integer, got "${value}"`);
    return Number(value);
  }

  @Option({ flags: '--since <time>', description: 'only lines since a duration ago (10m) or an RFC 3339 time' })
  parseSince(value: string): string {
    return value;
  }

  @Option({ flags: '-t, --timestamps', description: 'prefix lines with their time' })
  parseTimestamps(): boolean {
    return true;
  }

  @Option({ flags: '--node <name>', description: 'the node (default: from the definition file)' })
  parseNode(value: string): string {
    return value;
  }
}
