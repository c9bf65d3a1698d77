import * as os from 'node:os';
import type { Provider } from '@nestjs/common';
import { CommanderError, type Command as Commander } from 'commander';
// The token nest-commander binds its root Command under (not re-exported by its index).
import { Commander as COMMANDER } from 'nest-commander/src/constants';
import { CommandFactory, CommandRunnerService } from 'nest-commander';
import { CliContext, CliIo, extractGlobalFlags } from './cli-context';
import { CliModule } from './cli.module';
import { cliVersion } from './version';
import { CommanderExit, ExitCode } from './errors';
import { reportFailure } from './report';

export interface RunCliOptions {
  /** Arguments after the program name. */
  argv: string[];
  env: NodeJS.ProcessEnv;
  io: CliIo;
  homeDir?: string;
  /** Port replacements (tests bind fakes here). */
  overrides?: Provider[];
}

const GLOBAL_HELP = `
Global options (any position):
  --config <path>   config file (default: $MCP_CONFIG, $XDG_CONFIG_HOME/mcp/mcp.toml, ~/.config/mcp/mcp.toml)
  --quiet, -q       print only results and errors
  --debug           show stack traces on errors
  --no-color        no colour (also: NO_COLOR set, or output not a terminal)

Listing commands take --json. Exit codes: 0 ok, 1 failure, 2 usage error, 3 agent unreachable,
4 not logged in or token rejected.
`;

/** Applies our exit and output handling to every command (commander copies neither to added commands). */
function configureTree(command: Commander, io: CliIo, onExit: (error: { exitCode: number; code: string }) => never): void {
  command.exitOverride(onExit);
  command.configureOutput({
    writeOut: (text) => io.stdout.write(text),
    writeErr: (text) => io.stderr.write(text),
  });
  command.allowExcessArguments(false);
  command.showSuggestionAfterError(true);
  for (const sub of command.commands) configureTree(sub as Commander, io, onExit);
}

/**
 * Runs one `mcp` invocation and returns its exit code. Every failure becomes one line on
 * stderr (every issue of a validation error on its own line), with a stack only under --debug.
 */
export async function runCli(options: RunCliOptions): Promise<number> {
  const { flags, rest } = extractGlobalFlags(options.argv);
  const context = new CliContext(flags, options.env, options.io, options.homeDir ?? os.homedir(), cliVersion());
  let failure: unknown;
  const onExit = (error: { exitCode: number; code: string }): never => {
    throw new CommanderExit(error.exitCode, error.code);
  };
  const app = await CommandFactory.createWithoutRunning(CliModule.register({ context, overrides: options.overrides }), {
    logger: false,
    // commander's own errors (unknown option, missing argument) carry its exit code.
    errorHandler: (error: Error) => onExit(error instanceof CommanderError ? error : { exitCode: ExitCode.failure, code: 'mcp.error' }),
    serviceErrorHandler: (error) => {
      failure = error;
    },
    version: context.version,
  });
  try {
    const runner = app.get(CommandRunnerService);
    const root = app.get<Commander>(COMMANDER);
    root.name('mcp').description('MCP, the Metacircular Control Plane: run services on a small fleet of container hosts');
    root.addHelpText('after', GLOBAL_HELP);
    configureTree(root, options.io, onExit);
    await runner.run(['node', 'mcp', ...rest]);
  } catch (error) {
    failure = error;
  } finally {
    await app.close();
  }
  if (failure === undefined) return context.exitStatus ?? ExitCode.ok;
  return reportFailure(failure, context);
}
