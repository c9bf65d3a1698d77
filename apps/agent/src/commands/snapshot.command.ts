import * as path from 'node:path';
import { pruneSnapshots, snapshotDatabase, snapshotFileName, type SnapshotResult } from '@mcp/registry';
import type { AgentConfig } from '../config/agent-config';

export interface SnapshotOutcome extends SnapshotResult {
  /** Older snapshots deleted to keep the newest `keep`. */
  pruned: string[];
}

/**
 * `mcp-agent snapshot`: a consistent copy of the registry (SQLite `VACUUM INTO` in one read
 * transaction, safe while the agent runs), checked with `PRAGMA integrity_check`, mode 0600,
 * named `mcp-registry-<UTC time>.db` in the backup directory; then the oldest copies beyond
 * `keep` are deleted. Prints the new file's path.
 */
export async function runSnapshot(input: {
  config: AgentConfig;
  outDir?: string;
  keep?: number;
  now?: Date;
  print?: (line: string) => void;
}): Promise<SnapshotOutcome> {
  const dir = path.resolve(input.outDir ?? input.config.agent.backupDir);
  const keep = input.keep ?? input.config.agent.backupKeep;
  const print = input.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const result = snapshotDatabase({ source: input.config.database.path, dest: path.join(dir, snapshotFileName(input.now ?? new Date())) });
  const pruned = pruneSnapshots({ dir, keep });
  print(result.path);
  return { ...result, pruned };
}
