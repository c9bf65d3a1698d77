import * as fs from 'node:fs';
import * as net from 'node:net';
import { FailedPreconditionError, NotFoundError } from '@mcp/common';
import { restoreDatabase, verifyDatabaseFile, type SnapshotResult } from '@mcp/registry';
import type { AgentConfig } from '../config/agent-config';

export interface RestoreOutcome extends SnapshotResult {
  /** Where the replaced database went (`<db>.replaced-<time>`); undefined when there was none. */
  replaced?: string;
}

/** How long the "is the agent running?" probe waits for a connection. */
const PROBE_TIMEOUT_MS = 1000;

/**
 * `mcp-agent restore FILE`: replaces the registry with a snapshot. Refused while the agent
 * runs — detected by connecting to `server.grpc_addr`: something listening there is taken to
 * be the agent (a restore under a live agent would be overwritten or corrupted). The snapshot
 * is verified (`PRAGMA integrity_check`) before anything is touched; the current database and
 * its -wal/-shm files are moved aside to `<db>.replaced-<UTC time>[-wal|-shm]`; the copy is 0600.
 */
export async function runRestore(input: { config: AgentConfig; file: string; now?: Date; print?: (line: string) => void }): Promise<RestoreOutcome> {
  const print = input.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const address = input.config.server.grpcAddr;
  if (await isListening(address)) {
    throw new FailedPreconditionError(`the agent is running (something listens on ${address}); stop it before restoring`);
  }
  if (!fs.existsSync(input.file)) throw new NotFoundError(`snapshot ${input.file} does not exist`);
  verifyDatabaseFile(input.file);

  const db = input.config.database.path;
  let replaced: string | undefined;
  if (fs.existsSync(db)) {
    const stamp = (input.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
    replaced = `${db}.replaced-${stamp}`;
    for (const suffix of ['', '-wal', '-shm']) {
      if (fs.existsSync(db + suffix)) fs.renameSync(db + suffix, replaced + suffix);
    }
  }
  const result = restoreDatabase({ source: input.file, dest: db });
  if (replaced) print(`previous registry moved to ${replaced}`);
  print(`restored ${input.file} to ${result.path}`);
  return { ...result, replaced };
}

/** `host:port`, `[v6]:port` or `:port`; a wildcard host is probed on loopback. */
export function probeTarget(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  let host = address.slice(0, colon);
  const port = Number(address.slice(colon + 1));
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '' || host === '0.0.0.0') host = '127.0.0.1';
  if (host === '::') host = '::1';
  return { host, port };
}

function isListening(address: string): Promise<boolean> {
  const { host, port } = probeTarget(address);
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (listening: boolean): void => {
      socket.destroy();
      resolve(listening);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
