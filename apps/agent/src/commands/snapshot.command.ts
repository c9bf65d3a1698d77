import * as path from 'node:path';
import { Logger, type LoggerService } from '@nestjs/common';
import { type AlertSender, alertSenderFor } from '@mcp/alerts';
import { pruneSnapshots, snapshotDatabase, snapshotFileName, type SnapshotResult } from '@mcp/registry';
import type { AgentConfig } from '../config/agent-config';
import { alertsOptionsFromConfig } from '../config/alert-options';

export interface SnapshotOutcome extends SnapshotResult {
  /** Older snapshots deleted to keep the newest `keep`. */
  pruned: string[];
}

/**
 * `mcp-agent snapshot`: a consistent copy of the registry (SQLite `VACUUM INTO` in one read
 * transaction, safe while the agent runs), checked with `PRAGMA integrity_check`, mode 0600,
 * named `mcp-registry-<UTC time>.db` in the backup directory; then the oldest copies beyond
 * `keep` are deleted. Prints the new file's path.
 *
 * It runs outside the agent server, so on failure it raises the `backup` alert itself,
 * through the senders `[monitor]` configures (command and/or webhook), waits for the
 * delivery, and rethrows (the process then exits non-zero).
 */
export async function runSnapshot(input: {
  config: AgentConfig;
  outDir?: string;
  keep?: number;
  now?: Date;
  print?: (line: string) => void;
  /** Where a failure is reported; by default the senders built from the config. */
  alerts?: AlertSender;
}): Promise<SnapshotOutcome> {
  const dir = path.resolve(input.outDir ?? input.config.agent.backupDir);
  const keep = input.keep ?? input.config.agent.backupKeep;
  const print = input.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const now = input.now ?? new Date();
  try {
    const result = snapshotDatabase({ source: input.config.database.path, dest: path.join(dir, snapshotFileName(now)) });
    const pruned = pruneSnapshots({ dir, keep });
    print(result.path);
    return { ...result, pruned };
  } catch (error) {
    let alerts = input.alerts;
    if (!alerts) {
      // Outside the server: the senders' diagnostics go to stderr, stdout is for the path.
      Logger.overrideLogger(STDERR_LOGGER);
      alerts = alertSenderFor(alertsOptionsFromConfig(input.config));
    }
    await alerts.send({
      kind: 'backup',
      node: input.config.agent.nodeName,
      service: 'mcp-agent',
      component: 'registry',
      desired: 'snapshot',
      observed: 'failed',
      message: `snapshot of ${input.config.database.path} into ${dir} failed: ${error instanceof Error ? error.message : String(error)}`,
      time: now,
    });
    throw error;
  }
}

/** Plain lines on stderr, for the senders' retries and give-ups while the command runs. */
const STDERR_LOGGER: LoggerService = {
  log: () => undefined,
  debug: () => undefined,
  verbose: () => undefined,
  warn: (message: unknown) => void process.stderr.write(`mcp-agent: ${String(message)}\n`),
  error: (message: unknown) => void process.stderr.write(`mcp-agent: ${String(message)}\n`),
};
