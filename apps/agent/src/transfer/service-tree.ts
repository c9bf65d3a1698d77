import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { InvalidArgumentError, InvalidPathError, PathOutsideServiceError } from '@mcp/common';

/**
 * The service directory as a list of entries, and the shaping of one directory after a list
 * made on another node (SPEC §15 `mcp move`). Never follows a symlink: links are listed with
 * their text, and one that leads out of the directory is marked (the CLI refuses to move it).
 */
export type TreeEntryType = 'dir' | 'file' | 'symlink' | 'other';

export interface TreeEntry {
  path: string;
  type: TreeEntryType;
  mode: number;
  size: number;
  sha256: string;
  linkTarget: string;
  leavesServiceDir: boolean;
  uid: number;
  gid: number;
  mtimeMs: number;
}

const PERMISSION_BITS = 0o7777;
const TYPES: ReadonlySet<string> = new Set(['dir', 'file', 'symlink', 'other']);

function isInside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  const handle = await fs.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    for await (const chunk of handle.createReadStream({ autoClose: false, highWaterMark: 256 * 1024 })) hash.update(chunk as Buffer);
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/**
 * Where a path ends as the kernel would resolve it, component by component: a symlink on
 * the way is followed (its own text resolved the same way, at most 40 deep), `..` after it
 * goes up from where it led, and the missing rest is appended as it stands. So a dangling
 * link is judged by where it would lead once its target existed.
 */
async function resolvePath(start: string, text: string, depth = 0): Promise<string> {
  if (depth > 40) return '/'; // a loop: treat as leading out
  let current = path.isAbsolute(text) ? '/' : start;
  for (const part of text.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      current = path.dirname(current);
      continue;
    }
    const next = path.join(current, part);
    const stat = await fs.lstat(next).catch(() => undefined);
    current = stat?.isSymbolicLink() ? await resolvePath(path.dirname(next), await fs.readlink(next), depth + 1) : next;
  }
  return current;
}

/**
 * Whether a symlink at `abs` (under `root`) with text `text` leads out of `root`: lexically
 * (`../x`, `/etc`), or as the kernel resolves it (`s/../x` with `s -> .`), dangling or not.
 */
export async function linkLeaves(root: string, abs: string, text: string): Promise<boolean> {
  if (!isInside(root, path.resolve(path.dirname(abs), text))) return true;
  return !isInside(root, await resolvePath(path.dirname(abs), text));
}

/**
 * Lists `<dir>` depth-first, parents before children, names sorted; `exists` false when missing.
 * Files get a SHA-256 with `checksums`, or, without, those named in `checksumPaths`.
 * `startedAtMs`: this node's clock before the first entry was read.
 */
export async function listServiceTree(input: { dir: string; checksums: boolean; checksumPaths?: ReadonlySet<string> }): Promise<{ exists: boolean; entries: TreeEntry[]; startedAtMs: number }> {
  const startedAtMs = Date.now();
  let root: string;
  try {
    root = await fs.realpath(input.dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { exists: false, entries: [], startedAtMs };
    throw error;
  }
  const entries: TreeEntry[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    const names = (await fs.readdir(dir)).sort();
    for (const name of names) {
      const abs = path.join(dir, name);
      const relative = prefix ? `${prefix}/${name}` : name;
      const stat = await fs.lstat(abs).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      if (!stat) continue;
      const base = { path: relative, mode: stat.mode & PERMISSION_BITS, size: 0, sha256: '', linkTarget: '', leavesServiceDir: false, uid: stat.uid, gid: stat.gid, mtimeMs: Math.floor(stat.mtimeMs) };
      if (stat.isDirectory()) {
        entries.push({ ...base, type: 'dir' });
        await walk(abs, relative);
      } else if (stat.isFile()) {
        entries.push({ ...base, type: 'file', size: stat.size, sha256: input.checksums || input.checksumPaths?.has(relative) ? await sha256Of(abs) : '' });
      } else if (stat.isSymbolicLink()) {
        const text = await fs.readlink(abs);
        entries.push({ ...base, type: 'symlink', linkTarget: text, leavesServiceDir: await linkLeaves(root, abs, text) });
      } else {
        entries.push({ ...base, type: 'other' });
      }
    }
  };
  await walk(root, '');
  return { exists: true, entries, startedAtMs };
}

/** Checks a listing from the caller: relative paths without `..`, known types, parents listed before children. */
export function checkTreeEntries(entries: TreeEntry[]): void {
  const dirs = new Set<string>();
  const seen = new Set<string>();
  for (const entry of entries) {
    const p = entry.path;
    if (!p || p.includes('\0') || p.startsWith('/') || p.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) {
      throw new InvalidPathError(`entry path "${p}" must be relative, without "." or ".." segments`);
    }
    if (!TYPES.has(entry.type)) throw new InvalidArgumentError(`entry "${p}": unknown type "${entry.type}"`);
    if (seen.has(p)) throw new InvalidArgumentError(`entry "${p}" is listed twice`);
    seen.add(p);
    const parent = path.posix.dirname(p);
    if (parent !== '.' && !dirs.has(parent)) throw new InvalidArgumentError(`entry "${p}" comes before its directory "${parent}" (or that is not a directory)`);
    if (entry.type === 'dir') dirs.add(p);
    if (entry.type === 'symlink' && (entry.linkTarget === '' || entry.linkTarget.includes('\0'))) throw new InvalidArgumentError(`symlink "${p}" has no target`);
  }
}

/**
 * Shapes `<dir>` after `entries` (a listing made on another node), never following a link.
 * First call (`finish` false): removes every entry the listing lacks or has as another type
 * (or a symlink with other text), makes the missing directories (owner-writable for now) and
 * symlinks — a symlink that would lead out of `<dir>` here is refused. Files then arrive by
 * PushFile. Second call (`finish`): every listed file must be there; sets modes, mtimes and,
 * when `chown` (the agent runs as root), owners, children before their directories.
 */
export async function applyServiceTree(input: { dir: string; entries: TreeEntry[]; finish: boolean; chown: boolean }): Promise<{ removed: number; created: number }> {
  checkTreeEntries(input.entries);
  await fs.mkdir(input.dir, { recursive: true, mode: 0o755 });
  const root = await fs.realpath(input.dir);
  const wanted = new Map(input.entries.map((entry) => [entry.path, entry]));
  if (input.finish) {
    for (const entry of [...input.entries].reverse()) {
      const abs = path.join(root, entry.path);
      const stat = await fs.lstat(abs).catch(() => undefined);
      const type = !stat ? 'missing' : stat.isDirectory() ? 'dir' : stat.isFile() ? 'file' : stat.isSymbolicLink() ? 'symlink' : 'other';
      if (entry.type === 'other') continue;
      if (type !== entry.type) throw new InvalidArgumentError(`"${entry.path}" should be a ${entry.type} but is ${type === 'missing' ? 'missing' : `a ${type}`}`);
      if (entry.type === 'file' && stat!.size !== entry.size) throw new InvalidArgumentError(`file "${entry.path}" has ${stat!.size} bytes, the listing ${entry.size}`);
      if (input.chown) await fs.lchown(abs, entry.uid, entry.gid);
      if (entry.type !== 'symlink') await fs.chmod(abs, entry.mode);
      // Half a millisecond more: seconds as a double lose the last digit (…652 ms would come back as …651.999).
      const when = (entry.mtimeMs + 0.5) / 1000;
      await fs.lutimes(abs, when, when);
    }
    return { removed: 0, created: 0 };
  }
  let removed = 0;
  let created = 0;
  const existing = await listServiceTree({ dir: root, checksums: false });
  let removedUnder: string | undefined;
  for (const entry of existing.entries) {
    if (removedUnder && entry.path.startsWith(`${removedUnder}/`)) continue;
    const want = wanted.get(entry.path);
    const keep = want && want.type === entry.type && (entry.type !== 'symlink' || want.linkTarget === entry.linkTarget) && entry.type !== 'other';
    if (keep) continue;
    // fs.rm never follows a symlink: a link is removed, not what it points to.
    await fs.rm(path.join(root, entry.path), { recursive: true, force: true });
    removed++;
    removedUnder = entry.path;
  }
  for (const entry of input.entries) {
    const abs = path.join(root, entry.path);
    if (entry.type === 'dir') {
      try {
        await fs.mkdir(abs, { mode: 0o700 });
        created++;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      // Writable by the agent until finish sets the listed mode.
      await fs.chmod(abs, (entry.mode | 0o700) & PERMISSION_BITS);
    } else if (entry.type === 'symlink') {
      if (await linkLeaves(root, abs, entry.linkTarget)) {
        throw new PathOutsideServiceError(`symlink "${entry.path}" -> "${entry.linkTarget}" would lead out of the service's directory on this node`);
      }
      const present = await fs.lstat(abs).catch(() => undefined);
      if (!present) {
        await fs.symlink(entry.linkTarget, abs);
        created++;
      }
    }
  }
  // Links lexically inside can still chain out together (`x -> s/../..` with `s -> .`): check where each ends now.
  for (const entry of input.entries) {
    if (entry.type !== 'symlink') continue;
    const abs = path.join(root, entry.path);
    if (await linkLeaves(root, abs, entry.linkTarget)) {
      await fs.rm(abs, { force: true });
      throw new PathOutsideServiceError(`symlink "${entry.path}" -> "${entry.linkTarget}" leads out of the service's directory on this node`);
    }
  }
  return { removed, created };
}
