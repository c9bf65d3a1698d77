import * as os from 'node:os';
import { SystemClock } from '@mcp/common';
import { TokenStore } from './auth/token-store';
import { CliContext, type CliIo, extractGlobalFlags } from './cli-context';
import { Agents } from './client/agents.service';
import { GrpcAgentClientFactory } from './client/grpc-agent-client';
import { ServiceLocator } from './commands/command-helpers';
import { type ExecOptions, runExec } from './commands/exec-run';
import { showPs } from './commands/ps';
import { CliConfigService } from './config/cli-config.service';
import { ServicedefStore } from './definitions/servicedef-store';
import { ExitCode } from './errors';
import { Output } from './output/output';
import { reportFailure } from './report';
import { cliVersion } from './version';

/**
 * `mcp ps` and `mcp exec` are run often and their work is one call to one agent (`ps`: a
 * LiveCheck per node); booting Nest and nest-commander's whole command tree for them was most
 * of their time (bench P2, E1). The quick path runs them with the same classes wired by hand:
 * the same config loading, token, client, output, errors and exit codes. Only exact forms take
 * it — `ps` and `ps --json`, and `exec TARGET [OPTIONS] -- CMD…` with the options ExecCommand
 * has (global flags anywhere); anything else (help, an unknown option, an extra argument)
 * goes to the full CLI, so usage errors and help come from one place. Returns undefined when
 * the full CLI must run.
 */
export async function runQuick(options: { argv: string[]; env: NodeJS.ProcessEnv; io: CliIo; homeDir?: string }): Promise<number | undefined> {
  const { flags, rest } = extractGlobalFlags(options.argv);
  const ps = rest[0] === 'ps' && (rest.length === 1 || (rest.length === 2 && rest[1] === '--json'));
  const exec = rest[0] === 'exec' ? quickExecArgs(rest.slice(1)) : undefined;
  if (!ps && !exec) return undefined;
  const context = new CliContext(flags, options.env, options.io, options.homeDir ?? os.homedir(), cliVersion());
  try {
    const config = new CliConfigService(context);
    const output = new Output(context);
    const agents = new Agents(config, new TokenStore(config, output), new GrpcAgentClientFactory());
    if (exec) {
      const locator = new ServiceLocator(new ServicedefStore(config), config);
      await runExec({ agents, nodeFor: (service, explicit) => locator.nodeFor(service, explicit), context }, exec.target, exec.cmd, exec.options);
      return context.exitStatus ?? ExitCode.ok;
    }
    await showPs({ agents, output, clock: new SystemClock() }, rest.length === 2);
    return ExitCode.ok;
  } catch (error) {
    return reportFailure(error, context);
  }
}

/**
 * `TARGET [-i|--interactive] [-t|--tty] [-it] [--user U] [--workdir D] [--node N] -- CMD…`
 * (options before or after the target, `--flag=value` too); undefined for anything else.
 */
export function quickExecArgs(args: string[]): { target: string; cmd: string[]; options: ExecOptions } | undefined {
  const end = args.indexOf('--');
  if (end < 0 || end === args.length - 1) return undefined;
  const options: ExecOptions = {};
  let target: string | undefined;
  const valued: Record<string, 'user' | 'workdir' | 'node'> = { '--user': 'user', '--workdir': 'workdir', '--node': 'node' };
  for (let i = 0; i < end; i++) {
    const arg = args[i];
    const equals = arg.indexOf('=');
    const key = valued[equals > 0 ? arg.slice(0, equals) : arg];
    if (arg === '-i' || arg === '--interactive') options.interactive = true;
    else if (arg === '-t' || arg === '--tty') options.tty = true;
    else if (arg === '-it' || arg === '-ti') options.interactive = options.tty = true;
    else if (key && equals > 0) options[key] = arg.slice(equals + 1);
    else if (key && i + 1 < end && !args[i + 1].startsWith('-')) options[key] = args[++i];
    else if (!arg.startsWith('-') && target === undefined) target = arg;
    else return undefined;
  }
  return target === undefined ? undefined : { target, cmd: args.slice(end + 1), options };
}
