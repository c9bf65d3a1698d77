import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { InvalidArgumentError, InvalidPathError, NAME_PATTERN, PathOutsideServiceError } from '@mcp/common';

/**
 * Where a transferred file may live: under `<srvRoot>/<service>/`, symlinks included
 * (SPEC §2 File transfer). Lexical problems (absolute, `..`, NUL, empty) are the caller's
 * mistake → InvalidPathError (INVALID_ARGUMENT); anything that resolves outside the service's
 * directory → PathOutsideServiceError (PERMISSION_DENIED).
 */
export interface ServicePath {
  /** `<srvRoot>/<service>` as configured. */
  serviceDir: string;
  /** The service directory with symlinks resolved; every file must resolve under it. */
  realServiceDir: string;
  /** The normalised relative path (`a/b.txt`), as reported back to the client. */
  relative: string;
  /** `<serviceDir>/<relative>`, lexically. */
  target: string;
}

/** Checks the service name and the path's form; touches no file. */
export function parseServicePath(input: { srvRoot: string; service: string; path: string }): Omit<ServicePath, 'realServiceDir'> {
  if (!NAME_PATTERN.test(input.service)) {
    throw new InvalidArgumentError(`service name "${input.service}" must match ${NAME_PATTERN.source}`);
  }
  const raw = input.path;
  if (raw === '') throw new InvalidPathError('path is empty');
  if (raw.includes('\0')) throw new InvalidPathError('path contains a NUL byte');
  if (path.isAbsolute(raw)) throw new InvalidPathError(`path "${raw}" must be relative to the service directory`);
  const segments = raw.split('/');
  if (segments.includes('..')) throw new InvalidPathError(`path "${raw}" must not contain ".." segments`);
  const kept = segments.filter((segment) => segment !== '' && segment !== '.');
  if (kept.length === 0) throw new InvalidPathError(`path "${raw}" names the service directory, not a file`);
  const relative = kept.join('/');
  const serviceDir = path.join(input.srvRoot, input.service);
  return { serviceDir, relative, target: path.join(serviceDir, relative) };
}

function isInside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * The deepest existing ancestor of `target` (or `target` itself), resolved; it must lie
 * inside the service directory. A dangling symlink on the way is followed as far as it goes
 * by resolving its parent, so a link to a missing file outside is still refused.
 */
async function assertInside(real: ServicePath, target: string): Promise<void> {
  let current = target;
  for (;;) {
    try {
      const resolved = await fs.realpath(current);
      if (!isInside(real.realServiceDir, resolved)) {
        throw new PathOutsideServiceError(`path "${real.relative}" resolves outside the directory of the service`);
      }
      return;
    } catch (error) {
      if (error instanceof PathOutsideServiceError) throw error;
      if (errnoCode(error) !== 'ENOENT' && errnoCode(error) !== 'ENOTDIR') throw error;
    }
    // A missing service directory holds nothing yet; there is nothing above it to check.
    if (current === real.serviceDir) return;
    // A dangling symlink: where does it point?
    const link = await fs.lstat(current).catch(() => undefined);
    if (link?.isSymbolicLink()) {
      const pointsTo = path.resolve(path.dirname(current), await fs.readlink(current));
      if (pointsTo === current) throw new PathOutsideServiceError(`path "${real.relative}" is a symlink loop`);
      current = pointsTo;
      continue;
    }
    const parent = path.dirname(current);
    if (parent === current) return;
    current = parent;
  }
}

/** Resolves the service directory (created when `create`), and checks `target` against it. */
export async function resolveServicePath(input: {
  srvRoot: string;
  service: string;
  path: string;
  /** Create the service directory when missing (push); else a missing one is a missing file. */
  create: boolean;
}): Promise<ServicePath> {
  const parsed = parseServicePath(input);
  if (input.create) await fs.mkdir(parsed.serviceDir, { recursive: true, mode: 0o755 });
  let realServiceDir: string;
  try {
    realServiceDir = await fs.realpath(parsed.serviceDir);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') realServiceDir = path.resolve(parsed.serviceDir);
    else throw error;
  }
  const result: ServicePath = { ...parsed, realServiceDir };
  await assertInside(result, result.target);
  return result;
}

/**
 * Creates the missing parent directories of the target one level at a time, checking each
 * existing level resolves inside the service directory before descending into it. Returns
 * the parent directory, resolved.
 */
export async function ensureParentDirectory(servicePath: ServicePath): Promise<string> {
  const parent = path.dirname(servicePath.target);
  const levels = path.relative(servicePath.serviceDir, parent).split(path.sep).filter(Boolean);
  let current = servicePath.serviceDir;
  for (const level of levels) {
    current = path.join(current, level);
    try {
      await fs.mkdir(current, { mode: 0o755 });
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
    }
    const resolved = await fs.realpath(current);
    if (!isInside(servicePath.realServiceDir, resolved)) {
      throw new PathOutsideServiceError(`path "${servicePath.relative}" resolves outside the directory of the service`);
    }
    const stat = await fs.stat(resolved);
    if (!stat.isDirectory()) throw new InvalidPathError(`"${path.relative(servicePath.serviceDir, current)}" is not a directory`);
  }
  const resolvedParent = await fs.realpath(parent);
  if (!isInside(servicePath.realServiceDir, resolvedParent)) {
    throw new PathOutsideServiceError(`path "${servicePath.relative}" resolves outside the directory of the service`);
  }
  return resolvedParent;
}

/** Re-checks the target right before it is used (it may have changed since the first check). */
export async function recheckServicePath(servicePath: ServicePath): Promise<void> {
  await assertInside(servicePath, servicePath.target);
}
