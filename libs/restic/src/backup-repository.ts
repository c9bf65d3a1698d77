import { McpError } from '@mcp/common';

/**
 * Port: the node's backup repository (SPEC §14). The real adapter is `ResticRepository`
 * (restic's CLI, driven through its `--json` output); nothing outside this lib knows restic.
 * Snapshots are found by tags: the agent tags each one `mcp-service=<svc>` (and
 * `mcp-component=<comp>` per component whose volumes it holds), so retention, listings and
 * checks apply to one service and never to another's snapshots.
 */

/** One restic JSON status line of a running backup. */
export interface BackupProgress {
  percentDone: number;
  totalFiles: number;
  filesDone: number;
  totalBytes: number;
  bytesDone: number;
  secondsElapsed: number;
}

/** restic's summary line of a finished backup. */
export interface BackupSummary {
  snapshotId: string;
  filesNew: number;
  filesChanged: number;
  filesUnmodified: number;
  /** Files processed (the snapshot's file count). */
  totalFiles: number;
  /** Bytes processed (the snapshot's size). */
  totalBytes: number;
  /** New bytes stored in the repository. */
  dataAdded: number;
  durationSeconds: number;
}

export interface SnapshotInfo {
  /** The full id. */
  id: string;
  shortId: string;
  time: Date;
  hostname: string;
  paths: string[];
  tags: string[];
}

/** restic forget's policy; absent keys are not passed. */
export interface RetentionPolicy {
  keepLast?: number;
  keepDaily?: number;
  keepWeekly?: number;
}

export abstract class BackupRepository {
  /** The password file exists (0600, generated when missing) and the repository is initialised. Idempotent. */
  abstract ensureReady(): Promise<void>;
  /** Backs up `paths` (absolute) as one snapshot tagged `tags`. */
  abstract backup(input: { paths: string[]; tags: string[]; onProgress?: (progress: BackupProgress) => void }): Promise<BackupSummary>;
  /** Snapshots carrying every one of `tags`, oldest first. */
  abstract snapshots(input: { tags: string[] }): Promise<SnapshotInfo[]>;
  /** A snapshot's restore size and entry count (`restic stats`). */
  abstract stats(input: { snapshotId: string }): Promise<{ files: number; bytes: number }>;
  /** Applies `policy` to the snapshots carrying `tags` (grouped by host) and prunes; returns the ids removed. */
  abstract forget(input: { tags: string[]; policy: RetentionPolicy }): Promise<string[]>;
  /** Extracts the part of `snapshotId` under the absolute `include` into `target` (as `target/<include>`). */
  abstract restore(input: { snapshotId: string; include: string; target: string }): Promise<void>;
  /** The repository's own consistency check (`restic check`). */
  abstract check(): Promise<void>;
  /** Every path in a snapshot (loads all of its trees). */
  abstract list(input: { snapshotId: string }): Promise<string[]>;
}

/** restic refused or failed; the message is one line naming the cause. */
export class BackupFailedError extends McpError {
  readonly kind = 'failed_precondition' as const;
}

/** The repository cannot be reached (missing path, network). */
export class BackupRepositoryUnavailableError extends McpError {
  readonly kind = 'unavailable' as const;
}

/** The repository's disk (or the restore target's) is full. */
export class BackupDiskFullError extends McpError {
  readonly kind = 'resource_exhausted' as const;
}

/** The tag that names a snapshot's service. */
export function serviceTag(service: string): string {
  return `mcp-service=${service}`;
}

/** The tag that names a component whose volumes a snapshot holds. */
export function componentTag(component: string): string {
  return `mcp-component=${component}`;
}
