import type { Writable } from 'node:stream';
import { Command, CommandRunner, Option } from 'nest-commander';
import type { mcpv1 } from '@mcp/proto';
import { CliContext } from '../cli-context';
import { Agents } from '../client/agents.service';
import { CommandFailedError, UsageError } from '../errors';
import { ServiceLocator, parseTarget } from './command-helpers';

interface ExecOptions {
  interactive?: boolean;
  tty?: boolean;
  user?: string;
  workdir?: string;
  node?: string;
}

/** The exit status of a command ended by Ctrl-C when there is no TTY to forward it through. */
const INTERRUPTED = 130;

@Command({
  name: 'exec',
  arguments: '<target> <cmd...>',
  argsDescription: { target: 'SERVICE/COMPONENT (or SERVICE with one component)', cmd: 'the command and its arguments, after --' },
  description: "run a command in a component's running container; its exit status becomes mcp's",
})
export class ExecCommand extends CommandRunner {
  constructor(
    private readonly agents: Agents,
    private readonly locator: ServiceLocator,
    private readonly context: CliContext,
  ) {
    super();
  }

  async run([targetText, ...cmd]: string[], options: ExecOptions = {}): Promise<void> {
    const target = parseTarget(targetText, { allowComponent: true });
    if (cmd.length === 0) throw new UsageError('exec needs a command: mcp exec SERVICE/COMPONENT -- CMD [ARG...]');
    const io = this.context.io;
    const terminal = this.context.stdinIsTty && this.context.stdoutIsTty;
    const explicit = options.interactive !== undefined || options.tty !== undefined;
    const tty = explicit ? options.tty === true : terminal;
    const interactive = explicit ? options.interactive === true : terminal;
    const node = await this.locator.nodeFor(target.service, options.node);
    await this.agents.withNode(node, async (client) => {
      const start: mcpv1.ExecStart = {
        service: target.service,
        component: target.component ?? '',
        cmd,
        interactive,
        tty,
        user: options.user ?? '',
        workdir: options.workdir ?? '',
        size: tty ? this.terminalSize() : undefined,
      };
      const call = await client.exec(start);
      const stdout = io.stdout;
      const raw = tty && interactive && typeof io.stdin.setRawMode === 'function' && this.context.stdinIsTty;
      // In raw mode Ctrl-C is a byte on stdin: the container's terminal turns it into SIGINT.
      // Without a TTY it ends the call, and the agent ends the command.
      let interrupted = false;
      const onInterrupt = (): void => {
        interrupted = true;
        call.cancel();
      };
      const onResize = (): void => {
        const size = this.terminalSize();
        if (size) call.resize(size);
      };
      if (raw) io.stdin.setRawMode?.(true);
      else process.once('SIGINT', onInterrupt);
      if (tty) stdout.on('resize', onResize);
      let finished = false;
      const pumpInput = async (): Promise<void> => {
        if (!interactive) return;
        for await (const chunk of io.stdin as AsyncIterable<Buffer | string>) {
          if (finished) return;
          await call.sendStdin(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
        }
        if (!finished) call.closeStdin();
      };
      const input = pumpInput().catch(() => undefined);
      let exitCode: number | undefined;
      try {
        for await (const message of call.messages) {
          if (message.stdout !== undefined) await writeAll(stdout, message.stdout);
          else if (message.stderr !== undefined) await writeAll(io.stderr, message.stderr);
          else if (message.exitCode !== undefined) exitCode = message.exitCode;
        }
      } catch (error) {
        if (!interrupted) throw error;
      } finally {
        finished = true;
        if (raw) io.stdin.setRawMode?.(false);
        else process.removeListener('SIGINT', onInterrupt);
        if (tty) stdout.off('resize', onResize);
        if (interactive) io.stdin.pause();
        void input;
      }
      if (interrupted && exitCode === undefined) exitCode = INTERRUPTED;
      if (exitCode === undefined) throw new CommandFailedError(`agent ${node} ended the exec without the command's exit status`);
      this.context.exitStatus = exitCode;
    });
  }

  private terminalSize(): mcpv1.TerminalSize | undefined {
    const out = this.context.io.stdout as Writable & { columns?: number; rows?: number };
    return out.columns && out.rows ? { rows: out.rows, cols: out.columns } : undefined;
  }

  @Option({ flags: '-i, --interactive', description: 'pass stdin to the command (default when stdin and stdout are terminals)' })
  parseInteractive(): boolean {
    return true;
  }

  @Option({ flags: '-t, --tty', description: "give the command a terminal, sized like yours and resized with it (default when stdin and stdout are terminals); Ctrl-C then goes to the command" })
  parseTty(): boolean {
    return true;
  }

  @Option({ flags: '--user <user>', description: "run as this user (name or uid[:gid]) instead of the container's" })
  parseUser(value: string): string {
    return value;
  }

  @Option({ flags: '--workdir <dir>', description: 'run in this directory inside the container' })
  parseWorkdir(value: string): string {
    return value;
  }

  @Option({ flags: '--node <name>', description: 'the node (default: from the definition file)' })
  parseNode(value: string): string {
    return value;
  }
}

/** Writes and, when the terminal or pipe is full, waits for it (so 1 GiB of output costs no memory). */
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
