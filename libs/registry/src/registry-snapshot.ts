import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { InvalidArgumentError, NotFoundError } from '@mcp/common';
import type { SnapshotResult } from './service-registry';
import { RegistryCorruptError } from './registry-errors';

/** Registry files hold deployment details: owner-only. */
export const DATABASE_FILE_MODE = 0o600;
const DIRECTORY_MODE = 0o700;
const SQLITE_SIDE_FILES = ['-wal', '-shm', '-journal'];
export const SNAPSHOT_NAME = /^mcp-registry-.*\.db$/;

/**
 * Creates the database's parent directory and an empty database file with mode 0600 when
 * they do not exist yet. SQLite gives its -wal and -shm files the mode of the main file.
 */
export function ensureDatabaseFile(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: DIRECTORY_MODE });
  try {
    fs.closeSync(fs.openSync(file, 'wx', DATABASE_FILE_MODE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  restrictDatabaseFiles(file);
}

/** Sets mode 0600 on the database file and whichever of its side files exist. */
export function restrictDatabaseFiles(file: string): void {
  for (const candidate of [file, ...SQLITE_SIDE_FILES.map((suffix) => file + suffix)]) {
    try {
      fs.chmodSync(candidate, DATABASE_FILE_MODE);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

/** `mcp-registry-20261123T225434Z.db`: names sort in time order. */
export function snapshotFileName(date: Date): string {
  const stamp = date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
  return `mcp-registry-${stamp}.db`;
}

/** Runs `PRAGMA integrity_check` on a database file opened read-only; throws unless 'ok'. */
export function verifyDatabaseFile(file: string): void {
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const rows = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
    const problems = rows.map((row) => row.integrity_check).filter((result) => result !== 'ok');
    if (rows.length === 0 || problems.length > 0) {
      throw new RegistryCorruptError(file, problems.length > 0 ? problems : ['no result']);
    }
  } catch (error) {
    if (error instanceof RegistryCorruptError) throw error;
    throw new RegistryCorruptError(file, [(error as Error).message], { cause: error });
  } finally {
    db?.close();
  }
}

/**
 * Writes a consistent copy of an open database to `dest` with `VACUUM INTO` (one read
 * transaction, so concurrent writers are neither blocked nor half-copied), verifies it and
 * renames it into place. `db` may be the live connection of a running registry.
 */
export function vacuumInto(db: Database.Database, dest: string): SnapshotResult {
  const target = path.resolve(dest);
  fs.mkdirSync(path.dirname(target), { recursive: true, mode: DIRECTORY_MODE });
  const temp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  // VACUUM INTO accepts an existing empty file, so the copy is 0600 from its first byte.
  fs.closeSync(fs.openSync(temp, 'wx', DATABASE_FILE_MODE));
  try {
    db.prepare('VACUUM INTO ?').run(temp);
    fs.chmodSync(temp, DATABASE_FILE_MODE);
    verifyDatabaseFile(temp);
    fs.renameSync(temp, target);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
  return { path: target, bytes: fs.statSync(target).size };
}

/**
 * A verified, consistent copy of the registry at `source`, for `mcp-agent snapshot`. Works
 * while the agent is running (SQLite's locking makes the copy one point in time) and needs no
 * Nest application.
 */
export function snapshotDatabase(input: { source: string; dest: string }): SnapshotResult {
  if (!fs.existsSync(input.source)) {
    throw new NotFoundError(`registry database ${input.source} does not exist`);
  }
  const db = new Database(input.source, { fileMustExist: true, timeout: 5000 });
  try {
    return vacuumInto(db, input.dest);
  } finally {
    db.close();
  }
}

/**
 * Replaces the registry at `dest` with the snapshot at `source` after verifying it, for
 * `mcp-agent restore`. The agent must be stopped: stale -wal/-shm files are removed.
 */
export function restoreDatabase(input: { source: string; dest: string }): SnapshotResult {
  if (!fs.existsSync(input.source)) {
    throw new NotFoundError(`snapshot ${input.source} does not exist`);
  }
  verifyDatabaseFile(input.source);
  const target = path.resolve(input.dest);
  fs.mkdirSync(path.dirname(target), { recursive: true, mode: DIRECTORY_MODE });
  const temp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    fs.copyFileSync(input.source, temp, fs.constants.COPYFILE_EXCL);
    fs.chmodSync(temp, DATABASE_FILE_MODE);
    for (const suffix of SQLITE_SIDE_FILES) fs.rmSync(target + suffix, { force: true });
    fs.renameSync(temp, target);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
  return { path: target, bytes: fs.statSync(target).size };
}

/**
 * Keeps the newest `keep` files named `mcp-registry-*.db` in `dir` (newest by modification
 * time, then by name) and deletes the rest. Returns the deleted paths.
 */
export function pruneSnapshots(input: { dir: string; keep: number }): string[] {
  if (!Number.isInteger(input.keep) || input.keep < 1) {
    throw new InvalidArgumentError(`snapshots to keep must be a whole number of at least 1, got ${input.keep}`);
  }
  const snapshots = fs
    .readdirSync(input.dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && SNAPSHOT_NAME.test(entry.name))
    .map((entry) => {
      const file = path.join(input.dir, entry.name);
      return { file, name: entry.name, mtime: fs.statSync(file).mtimeMs };
    })
    .sort((a, b) => b.mtime - a.mtime || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
  const doomed = snapshots.slice(input.keep).map((snapshot) => snapshot.file);
  for (const file of doomed) fs.rmSync(file, { force: true });
  return doomed;
}
