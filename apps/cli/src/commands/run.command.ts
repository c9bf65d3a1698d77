import type { Writable } from 'node:stream';
import { Command, CommandRunner, Option } from 'nest-commander';
import { parseDuration } from '@mcp/common';
import type { AgentRequest } from '../client/agent-client';
import { CliContext } from '../cli-context';
import { Agents } from '../client/agents.service';
import { CommandFailedError, UsageError } from '../errors';
import { ServiceLocator, parseTarget } from './command-helpers';

interface RunOptions {
  image?: string;
  env?: string[];
  timeout?: number;
  node?: string;
}

@Command({
  name: 'run',
  arguments: '<target> [cmd...]',
  argsDescription: { target: 'SERVICE/COMPONENT (or SERVICE with one component)', cmd: "the command and its arguments, after -- (default: the component's cmd)" },
  description:
    "run a one-off container from a component's spec (env, secrets, volumes, network, user, limits; no routes, no host ports), stream its output, remove it, and exit with its status",
})
export class RunCommand extends CommandRunner {
  constructor(
    private readonly agents: Agents,
    private readonly locator: ServiceLocator,
    private readonly context: CliContext,
  ) {
    super();
  }

  async run([targetText, ...cmd]: string[], options: RunOptions = {}): Promise<void> {
    const target = parseTarget(targetText, { allowComponent: true });
    const node = await this.locator.nodeFor(target.service, options.node);
    const abort = new AbortController();
    const onInterrupt = (): void => abort.abort();
    process.once('SIGINT', onInterrupt);
    try {
      await this.agents.withNode(node, async (client) => {
        const request: AgentRequest<'run'> = {
          service: target.service,
          component: target.component ?? '',
          cmd,
          image: options.image ?? '',
          env: options.env ?? [],
          timeoutSeconds: options.timeout ?? 0,
        };
        let exitCode: number | undefined;
        for await (const message of client.stream('run', request, { signal: abort.signal })) {
          if (message.stdout !== undefined) await writeAll(this.context.io.stdout, message.stdout);
          else if (message.stderr !== undefined) await writeAll(this.context.io.stderr, message.stderr);
          else if (message.exitCode !== undefined) exitCode = message.exitCode;
        }
        // Ctrl-C: the call is cancelled, and the agent removes the container.
        if (abort.signal.aborted) exitCode = 130;
        if (exitCode === undefined) throw new CommandFailedError(`agent ${node} ended the run without the container's exit status`);
        this.context.exitStatus = exitCode;
      });
    } finally {
      process.removeListener('SIGINT', onInterrupt);
    }
  }

  @Option({ flags: '--image <ref>', description: "run this image instead of the component's (it must be on the node)" })
  parseImage(value: string): string {
    return value;
  }

  @Option({ flags: '-e, --env <KEY=VALUE>', description: "set a variable on top of the component's env (repeatable)" })
  parseEnv(value: string, previous: string[] = []): string[] {
    if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(value)) throw new UsageError(`--env "${value}": expected KEY=VALUE`);
    return [...previous, value];
  }

  @Option({ flags: '--timeout <duration>', description: 'kill and remove the container after this long (default 1h), e.g. 30s, 10m' })
  parseTimeout(value: string): number {
    const ms = parseDuration(value);
    if (ms === undefined) throw new UsageError(`--timeout "${value}": expected a duration like 30s, 10m or 1h`);
    if (!(ms >= 1000)) throw new UsageError(`--timeout "${value}": at least 1s`);
    return Math.ceil(ms / 1000);
  }

  @Option({ flags: '--node <name>', description: 'the node (default: from the definition file)' })
  parseNode(value: string): string {
    return value;
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
