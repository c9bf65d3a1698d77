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

/** What one pass must send so that the target's tree equals the source's. */
export function planCopy(source: FileEntry[], target: FileEntry[]): CopyPlan {
  const there = new Map(target.map((entry) => [entry.path, entry]));
  const sourceFiles = source.filter((entry) => entry.type === 'file');
  const files = sourceFiles.filter((entry) => {
    const other = there.get(entry.path);
    return !other || other.type !== 'file' || other.size !== entry.size || !entry.sha256 || other.sha256 !== entry.sha256;
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
