import * as os from 'node:os';
import { SystemClock } from '@mcp/common';
import { TokenStore } from './auth/token-store';
import { CliContext, type CliIo, extractGlobalFlags } from './cli-context';
import { Agents } from './client/agents.service';
import { GrpcAgentClientFactory } from './client/grpc-agent-client';
import { showPs } from './commands/ps';
import { CliConfigService } from './config/cli-config.service';
import { ExitCode } from './errors';
import { Output } from './output/output';
import { reportFailure } from './report';
import { cliVersion } from './version';

/**
 * `mcp ps` is run often and its work is one LiveCheck per node; booting Nest and
 * nest-commander's whole command tree for it was most of its time (bench P2). The quick path
 * runs it with the same classes wired by hand: the same config loading, token, client, output,
 * errors and exit codes. Only the exact forms `ps` and `ps --json` (with global flags anywhere)
 * take it; anything else (help, an unknown option, an extra argument) goes to the full CLI, so
 * usage errors and help come from one place. Returns undefined when the full CLI must run.
 */
export async function runQuick(options: { argv: string[]; env: NodeJS.ProcessEnv; io: CliIo; homeDir?: string }): Promise<number | undefined> {
  const { flags, rest } = extractGlobalFlags(options.argv);
  const ps = rest[0] === 'ps' && (rest.length === 1 || (rest.length === 2 && rest[1] === '--json'));
  if (!ps) return undefined;
  const context = new CliContext(flags, options.env, options.io, options.homeDir ?? os.homedir(), cliVersion());
  try {
    const config = new CliConfigService(context);
    const output = new Output(context);
    const agents = new Agents(config, new TokenStore(config, output), new GrpcAgentClientFactory());
    await showPs({ agents, output, clock: new SystemClock() }, rest.length === 2);
    return ExitCode.ok;
  } catch (error) {
    return reportFailure(error, context);
  }
}
