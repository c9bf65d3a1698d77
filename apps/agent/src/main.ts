import './lazy-nest-formatter';
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a namespace import is a copy; the default must be set on the real module
import tls = require('node:tls');
import { ConfigError, formatIssue } from '@mcp/common';
import { parseAgentArgs, USAGE, UsageError, type AgentCommand } from './cli-args';
import { loadAgentConfig } from './config/config-loader';
import { AGENT_MIN_TLS_VERSION } from './grpc-options';
import { JsonLogger } from './logging/json-logger';
import { resolveServerTls, startAgentServer } from './server';
import { AGENT_VERSION } from './version';

/** How long shutdown waits for in-flight RPCs before exiting anyway. */
const SHUTDOWN_GRACE_MS = 15_000;

async function main(argv: string[]): Promise<number> {
  // TLS 1.3 only, process-wide: covers the MCIAS HTTPS client as well as the server.
  tls.DEFAULT_MIN_VERSION = AGENT_MIN_TLS_VERSION;
  let command: AgentCommand;
  try {
    command = parseAgentArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`mcp-agent: ${err.message}\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
  switch (command.verb) {
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    case 'version':
      process.stdout.write(`mcp-agent ${AGENT_VERSION}\n`);
      return 0;
    case 'serve':
      return serve(command);
    case 'snapshot': {
      const config = loadAgentConfig({ path: command.configPath });
      const { runSnapshot } = await import('./commands/snapshot.command');
      await runSnapshot({ config, outDir: command.outDir, keep: command.keep });
      return 0;
    }
    case 'restore': {
      const config = loadAgentConfig({ path: command.configPath });
      const { runRestore } = await import('./commands/restore.command');
      await runRestore({ config, file: command.file });
      return 0;
    }
  }
}

async function serve(command: Extract<AgentCommand, { verb: 'serve' }>): Promise<number> {
  const loaded = loadAgentConfig({ path: command.configPath });
  const logger = new JsonLogger(loaded.log.level);
  const config = await resolveServerTls({ config: loaded, devTls: command.devTls, logger });
  const app = await startAgentServer({ config, logger });
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      logger.write('info', 'shutting down', { signal });
      // Bounded: a follow-mode log stream must not keep the agent up forever.
      setTimeout(() => {
        logger.write('warn', 'shutdown grace period over; exiting with RPCs still open');
        process.exit(0);
      }, SHUTDOWN_GRACE_MS).unref();
      app.close().then(resolve, (err: unknown) => {
        logger.write('error', 'error during shutdown', { error: (err as Error).message });
        resolve();
      });
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  logger.write('info', 'stopped');
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`mcp-agent: invalid configuration:\n${err.issues.map((i) => `  ${formatIssue(i)}`).join('\n')}\n`);
      process.exit(2);
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`mcp-agent: ${message}\n`);
    process.exit(1);
  },
);
