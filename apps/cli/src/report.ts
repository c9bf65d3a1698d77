import type { CliContext } from './cli-context';
import { CliError, CommanderExit, ExitCode, PartialFailureError, describeError, exitCodeFor } from './errors';

/**
 * The exit code of a failed `mcp` invocation, after writing its error to stderr: one line per
 * line of the message (every issue of a validation error on its own line), with a stack only
 * under --debug.
 */
export function reportFailure(error: unknown, context: CliContext): number {
  const code = exitCodeFor(error);
  if (error instanceof CommanderExit) return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  const write = (text: string) => context.io.stderr.write(`${text}\n`);
  if (context.flags.debug && error instanceof Error) {
    write(error.stack ?? error.message);
    return code;
  }
  if (error instanceof PartialFailureError) {
    for (const line of error.message.split('\n')) if (line) write(`mcp: ${line}`);
    return code;
  }
  const text = describeError(error);
  const lines = text.split('\n');
  for (const line of lines) write(`mcp: ${line}`);
  if (!(error instanceof CliError) && !(error instanceof Error && 'kind' in error)) {
    write('mcp: (unexpected error; run with --debug for details)');
  }
  return code;
}
