import type { Writable } from 'node:stream';
import type { ExecStart, TerminalSize } from '../client/agent-client';
import type { CliContext } from '../cli-context';
import type { Agents } from '../client/agents.service';
import { CommandFailedError, UsageError } from '../errors';
import { parseTarget } from './command-helpers';

/*
 * `mcp exec` itself (SPEC §12), free of Nest and nest-commander: ExecCommand runs it from the
 * command tree, and the quick path (quick.ts) runs it without booting either, since an exec's
 * start-up time is the figure E1 measures against `podman exec`.
 */

export interface ExecOptions {
  interactive?: boolean;
  tty?: boolean;
  user?: string;
  workdir?: string;
  node?: string;
}

export interface ExecDeps {
  agents: Agents;
  /** Which node runs the service: `--node`, else its definition file, else the only node (ServiceLocator). */
  nodeFor: (service: string, explicit?: string) => Promise<string>;
  context: CliContext;
}

/** The exit status of a command ended by Ctrl-C when there is no TTY to forward it through. */
const INTERRUPTED = 130;

/** Runs the command; its exit status is left in `context.exitStatus`. */
export async function runExec(deps: ExecDeps, targetText: string | undefined, cmd: string[], options: ExecOptions = {}): Promise<void> {
  const { context } = deps;
  const target = parseTarget(targetText, { allowComponent: true });
  if (cmd.length === 0) throw new UsageError('exec needs a command: mcp exec SERVICE/COMPONENT -- CMD [ARG...]');
  const io = context.io;
  const terminal = context.stdinIsTty && context.stdoutIsTty;
  const explicit = options.interactive !== undefined || options.tty !== undefined;
  const tty = explicit ? options.tty === true : terminal;
  const interactive = explicit ? options.interactive === true : terminal;
  const node = await deps.nodeFor(target.service, options.node);
  await deps.agents.withNode(node, async (client) => {
    const start: ExecStart = {
      service: target.service,
      component: target.component ?? '',
      cmd,
      interactive,
      tty,
      user: options.user ?? '',
      workdir: options.workdir ?? '',
      size: tty ? terminalSize(context) : undefined,
    };
    const call = await client.exec(start);
    const stdout = io.stdout;
    const raw = tty && interactive && typeof io.stdin.setRawMode === 'function' && context.stdinIsTty;
    // In raw mode Ctrl-C is a byte on stdin: the container's terminal turns it into SIGINT.
    // Without a TTY it ends the call, and the agent ends the command.
    let interrupted = false;
    const onInterrupt = (): void => {
      interrupted = true;
      call.cancel();
    };
    const onResize = (): void => {
      const size = terminalSize(context);
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
    context.exitStatus = exitCode;
  });
}

function terminalSize(context: CliContext): TerminalSize | undefined {
  const out = context.io.stdout as Writable & { columns?: number; rows?: number };
  return out.columns && out.rows ? { rows: out.rows, cols: out.columns } : undefined;
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
