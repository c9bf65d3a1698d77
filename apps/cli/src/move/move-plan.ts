import type { ComponentSpec, ServiceSpec } from '@mcp/common';
import type { AgentAnswer } from '../client/agent-client';

/** One entry of a node's ListServiceFiles answer. */
type FileEntry = AgentAnswer<'listServiceFiles'>['entries'][number];

/**
 * Pure parts of `mcp move` and `mcp node drain` (SPEC §15): which files a copy pass sends,
 * how much memory a service asks for, and where drain places a service.
 */

export interface CopyPlan {
  /** Files the target lacks or holds with other content (by SHA-256 and size). */
  files: FileEntry[];
  bytes: number;
  /** Every file of the source, and their bytes. */
  totalFiles: number;
  totalBytes: number;
  /** Sockets, fifos, devices: never copied. */
  skipped: string[];
  /** Symlinks that lead out of the service's directory: a move refuses them. */
  outside: FileEntry[];
}

/**
 * A file whose mtime is this much older than the start of its listing is "settled": a later
 * write gets a later mtime (file times come from a clock that ticks every few milliseconds,
 * 1–2 s on some filesystems). A younger one could be written again within the same tick and
 * keep its mtime, so size + mtime say nothing about it (git's "racy" files).
 */
export const MTIME_SETTLED_MS = 2000;

/**
 * The mtime a copy pushed to the target gets: the source's when settled, else 1 ms after the
 * epoch — a time no later write on the source can give the file, so that the final pass's
 * quick check sees it differ and compares the content.
 */
export const UNSETTLED_MTIME_MS = 1;

export function mtimeForCopy(entry: Pick<FileEntry, 'mtimeMs'>, listedAtMs: number): number {
  return isSettled(entry, listedAtMs) ? Number(entry.mtimeMs) : UNSETTLED_MTIME_MS;
}

function isSettled(entry: Pick<FileEntry, 'mtimeMs'>, listedAtMs: number): boolean {
  return Number(entry.mtimeMs) + MTIME_SETTLED_MS <= listedAtMs;
}

/**
 * The final pass's quick check (rsync's default: size and mtime): the source's files whose
 * content must be compared by SHA-256 because the target has a file of that path and size but
 * another mtime — or the same one on a source file that is not settled. A file of another size
 * (or absent, or not a file there) is sent without hashing; one of the same size and mtime is
 * taken as equal.
 */
export function filesToHash(source: FileEntry[], target: FileEntry[], sourceListedAtMs: number): string[] {
  const there = new Map(target.map((entry) => [entry.path, entry]));
  return source
    .filter((entry) => {
      const other = there.get(entry.path);
      if (entry.type !== 'file' || !other || other.type !== 'file' || Number(other.size) !== Number(entry.size)) return false;
      return Number(other.mtimeMs) !== Number(entry.mtimeMs) || !isSettled(entry, sourceListedAtMs);
    })
    .map((entry) => entry.path);
}

/**
 * What one pass must send so that the target's tree equals the source's: files the target
 * lacks, holds as something else, or with another size or SHA-256. With `quick` (the final
 * pass), a settled file of the same size and mtime on both nodes is taken as equal unhashed.
 */
export function planCopy(source: FileEntry[], target: FileEntry[], quick?: { sourceListedAtMs: number }): CopyPlan {
  const there = new Map(target.map((entry) => [entry.path, entry]));
  const sourceFiles = source.filter((entry) => entry.type === 'file');
  const files = sourceFiles.filter((entry) => {
    const other = there.get(entry.path);
    if (!other || other.type !== 'file' || Number(other.size) !== Number(entry.size)) return true;
    if (quick && Number(other.mtimeMs) === Number(entry.mtimeMs) && isSettled(entry, quick.sourceListedAtMs)) return false;
    return !entry.sha256 || other.sha256 !== entry.sha256;
  });
  return {
    files,
    bytes: files.reduce((sum, entry) => sum + entry.size, 0),
    totalFiles: sourceFiles.length,
    totalBytes: sourceFiles.reduce((sum, entry) => sum + entry.size, 0),
    skipped: source.filter((entry) => entry.type === 'other').map((entry) => entry.path),
    outside: source.filter((entry) => entry.type === 'symlink' && entry.leavesServiceDir),
  };
}

/** The refusal for links out of the service's directory, naming each (at most 5). */
export function outsideLinksProblem(service: string, srvRoot: string, outside: FileEntry[]): string | undefined {
  if (outside.length === 0) return undefined;
  const shown = outside.slice(0, 5).map((entry) => `${entry.path} -> ${entry.linkTarget}`);
  const more = outside.length > shown.length ? ` and ${outside.length - shown.length} more` : '';
  return (
    `${srvRoot}/${service} has symlink(s) leading out of it: ${shown.join(', ')}${more}; ` +
    'a move copies only what is inside the service directory and never follows such a link: replace each with what it points to (or remove it), then move again'
  );
}

const MEMORY = /^(\d+(?:\.\d+)?)([bkmg])?$/i;

/** podman's `--memory` text (`512m`, `2g`) in bytes; undefined when not set or not understood. */
export function memoryBytes(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const match = MEMORY.exec(text.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * 1024 ** 'bkmg'.indexOf((match[2] ?? 'b').toLowerCase()));
}

/** The sum of the components' memory limits (components without one count 0). */
export function serviceMemoryBytes(spec: Pick<ServiceSpec, 'components'>): number {
  return spec.components.reduce((sum, component: ComponentSpec) => sum + (memoryBytes(component.memory) ?? 0), 0);
}

export interface Candidate {
  node: string;
  up: boolean;
  cordoned: boolean;
  freeBytes: number;
}

export type Placement = { node: string; reason?: undefined } | { node?: undefined; reason: string };

/**
 * Drain's placement (SPEC §15): the up, uncordoned candidate with the most free memory that
 * fits `needBytes`; ties go to the first listed. Says why none fits.
 */
export function placeService(input: { needBytes: number; candidates: Candidate[]; exclude?: string }): Placement {
  const pool = input.candidates.filter((candidate) => candidate.node !== input.exclude);
  if (pool.length === 0) return { reason: 'no other node to move to' };
  const usable = pool.filter((candidate) => candidate.up && !candidate.cordoned);
  if (usable.length === 0) {
    return { reason: `no node is up and uncordoned (${pool.map((c) => `${c.node}: ${!c.up ? 'down' : 'cordoned'}`).join(', ')})` };
  }
  const fitting = usable.filter((candidate) => candidate.freeBytes >= input.needBytes);
  if (fitting.length === 0) {
    return { reason: `no node has ${formatMiB(input.needBytes)} free for its memory limits (${usable.map((c) => `${c.node}: ${formatMiB(c.freeBytes)}`).join(', ')})` };
  }
  let best = fitting[0];
  for (const candidate of fitting) if (candidate.freeBytes > best.freeBytes) best = candidate;
  return { node: best.node };
}

export function formatMiB(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(bytes < 10 * 1024 ** 2 ? 1 : 0)} MiB`;
}

/** Secret names the components use (files and variables), sorted. */
export function secretsUsed(spec: Pick<ServiceSpec, 'components'>): string[] {
  const names = new Set<string>();
  for (const component of spec.components) {
    for (const name of component.secrets ?? []) names.add(name);
    for (const name of Object.values(component.env_secrets ?? {})) names.add(name);
  }
  return [...names].sort();
}

/** `1.234 s` under a minute, `2m03s` above. */
export function formatWindow(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(3)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}
