import type { Writable } from 'node:stream';
import { Command, CommandRunner, Help, Option, SubCommand } from 'nest-commander';
import type { AgentAnswer } from '../client/agent-client';
import { CliContext } from '../cli-context';
import { Agents } from '../client/agents.service';
import { fromTimestamp } from '../client/timestamps';
import { CommandFailedError, UsageError } from '../errors';
import { Output } from '../output/output';
import { ServiceLocator, parseTarget } from './command-helpers';

/** One `mcp jobs` row, as `--json` prints it. */
export interface JobRow {
  service: string;
  name: string;
  schedule: string;
  tz: string;
  component: string;
  concurrency: string;
  scheduled: boolean;
  running: number;
  lastRun: string;
  result: string;
  exitCode: number | null;
  message: string;
  nextRun: string;
}

export function jobRow(status: AgentAnswer<'listJobs'>['jobs'][number]): JobRow {
  const spec = status.spec;
  const last = status.lastRun;
  return {
    service: status.service,
    name: spec?.name ?? '',
    schedule: spec?.schedule ?? '',
    tz: spec?.tz || 'UTC',
    component: spec?.component || '',
    concurrency: spec?.concurrency || 'forbid',
    scheduled: status.scheduled,
    running: status.running,
    lastRun: fromTimestamp(last?.startedAt)?.toISOString() ?? '',
    result: last?.result ?? '',
    exitCode: last?.exitCode ?? null,
    message: last?.message ?? '',
    nextRun: fromTimestamp(status.nextRun)?.toISOString() ?? '',
  };
}

/** `job` split off `service/job`. */
function parseJobTarget(text: string): { service: string; job: string } {
  const target = parseTarget(text, { allowComponent: true });
  if (!target.component) throw new UsageError(`"${text}": expected SERVICE/JOB`);
  return { service: target.service, job: target.component };
}

@SubCommand({
  name: 'run',
  arguments: '<target>',
  argsDescription: { target: 'SERVICE/JOB' },
  description: "run a job now (as its schedule would: a one-off container of its component's spec), stream its output, record the run, and exit with its status",
})
export class JobsRunCommand extends CommandRunner {
  constructor(
    private readonly agents: Agents,
    private readonly locator: ServiceLocator,
    private readonly context: CliContext,
  ) {
    super();
  }

  async run([targetText]: string[], options: { node?: string } = {}): Promise<void> {
    if (!targetText) throw new UsageError('missing SERVICE/JOB');
    const target = parseJobTarget(targetText);
    const node = await this.locator.nodeFor(target.service, options.node);
    const abort = new AbortController();
    const onInterrupt = (): void => abort.abort();
    process.once('SIGINT', onInterrupt);
    try {
      await this.agents.withNode(node, async (client) => {
        let run: AgentAnswer<'runJob'>['run'];
        for await (const message of client.stream('runJob', { service: target.service, job: target.job }, { signal: abort.signal })) {
          if (message.stdout !== undefined) await writeAll(this.context.io.stdout, message.stdout);
          else if (message.stderr !== undefined) await writeAll(this.context.io.stderr, message.stderr);
          else if (message.run !== undefined) run = message.run;
        }
        if (abort.signal.aborted) {
          this.context.exitStatus = 130;
          return;
        }
        if (!run) throw new CommandFailedError(`agent ${node} ended the job run without its record`);
        if (run.result === 'skipped') throw new CommandFailedError(`job ${target.service}/${target.job}: ${run.message}`);
        if (run.exitCode === undefined) throw new CommandFailedError(`job ${target.service}/${target.job} ${run.result}: ${run.message}`);
        if (run.result === 'timed_out') this.context.io.stderr.write(`mcp: job ${target.service}/${target.job} ${run.message}\n`);
        this.context.exitStatus = run.exitCode;
      });
    } finally {
      process.removeListener('SIGINT', onInterrupt);
    }
  }

  @Option({ flags: '--node <name>', description: 'the node (default: from the definition file)' })
  parseNode(value: string): string {
    return value;
  }
}

@Command({
  name: 'jobs',
  arguments: '[service]',
  description:
    "a service's scheduled jobs ([[jobs]], SPEC §12): NAME SCHEDULE LAST-RUN RESULT NEXT-RUN; `mcp jobs run SERVICE/JOB` runs one now, `mcp logs SERVICE/JOB` shows its last run's output",
  subCommands: [JobsRunCommand],
})
export class JobsCommand extends CommandRunner {
  @Help('after')
  help(): string {
    return [
      '',
      'A job is a [[jobs]] table of the definition; `mcp deploy` schedules it on the node:',
      '  [[jobs]]',
      '  name = "stamp"',
      '  component = "web"                 # a one-off container of this component\'s spec',
      '  cmd = ["/bin/sh", "-c", "date >> /srv/hello/stamps.txt"]',
      '  schedule = "0 3 * * *"            # cron (5 fields, 6 with seconds) or @hourly, @daily…; tz = "Europe/Berlin"',
      '  timeout = "1h"                    # killed past it (exit 124, timed_out)',
      '  concurrency = "forbid"            # a run while one still goes is skipped (or "allow")',
      '  catch_up = false                  # true: one run at agent start if one was missed',
      '',
      'RESULT is the newest run\'s: succeeded, failed, timed_out, skipped, interrupted (the agent',
      'stopped during it), stopped (`mcp stop` or undeploy of the service killed it) or running.',
      'Failed and timed-out runs raise the job_failed alert. A stopped service runs no jobs.',
      '',
      'Examples:',
      '  mcp jobs hello                # NAME SCHEDULE LAST-RUN RESULT NEXT-RUN',
      '  mcp jobs run hello/stamp      # now; output streamed, its exit status is mcp\'s',
      '  mcp logs hello/stamp          # the last finished run\'s output',
    ].join('\n');
  }

  constructor(
    private readonly agents: Agents,
    private readonly locator: ServiceLocator,
    private readonly output: Output,
  ) {
    super();
  }

  async run([serviceText]: string[], options: { node?: string; json?: boolean } = {}): Promise<void> {
    if (!serviceText) throw new UsageError('missing SERVICE: mcp jobs SERVICE (or mcp jobs run SERVICE/JOB)');
    const { service } = parseTarget(serviceText, { allowComponent: false });
    const node = await this.locator.nodeFor(service, options.node);
    const { jobs } = await this.agents.withNode(node, (client) => client.call('listJobs', { service, job: '', recent: 0 }));
    const rows = jobs.map(jobRow);
    if (options.json) {
      this.output.json(rows);
      return;
    }
    this.output.table(
      ['NAME', 'SCHEDULE', 'LAST-RUN', 'RESULT', 'NEXT-RUN'],
      rows.map((row) => [row.name, row.tz === 'UTC' ? row.schedule : `${row.schedule} (${row.tz})`, row.lastRun || '-', row.running ? `running${row.result && row.result !== 'running' ? ` (last ${row.result})` : ''}` : row.result || '-', row.nextRun || (row.scheduled ? '-' : 'not scheduled')]),
    );
  }

  @Option({ flags: '--node <name>', description: 'the node (default: from the definition file)' })
  parseNode(value: string): string {
    return value;
  }

  @Option({ flags: '--json', description: 'print JSON: [{service, name, schedule, tz, component, concurrency, scheduled, running, lastRun, result, exitCode, message, nextRun}]' })
  parseJson(): boolean {
    return true;
  }
}

async function writeAll(stream: Writable, data: Buffer): Promise<void> {
  if (stream.write(data)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
