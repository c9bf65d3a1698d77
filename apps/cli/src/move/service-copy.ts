import type { AgentClient } from '../client/agent-client';
import { AgentCallError, CommandFailedError } from '../errors';
import { filesToHash, mtimeForCopy, outsideLinksProblem, planCopy, type CopyPlan } from './move-plan';

/** A pass's result: what was sent, and (live pass) what changed under it and waits for the final pass. */
export interface CopyPassResult {
  files: number;
  bytes: number;
  ms: number;
  /** Files whose content was hashed on both nodes (live: all; final: those the quick check could not decide). */
  hashed: number;
  /** Live pass only: files that changed or vanished while being read; the final pass sends them. */
  changed: string[];
  plan: CopyPlan;
}

export interface CopyPassInput {
  from: AgentClient;
  to: AgentClient;
  service: string;
  /** The final pass (the service is stopped): every failure counts, and modes, owners and mtimes are set. */
  final: boolean;
  onProgress?: (done: { files: number; bytes: number }, plan: CopyPlan) => void;
}

/** A link out of the service's directory on the source: nothing was copied. */
export class LinkOutsideServiceError extends CommandFailedError {}

/**
 * One copy pass of `<srv_root>/<svc>/` (SPEC §15): the source lists its tree, the target
 * shapes its own after it (removes what the source lacks, makes directories and symlinks),
 * then each file the target lacks or holds with other content streams source → this process
 * → target (PullFile into PushFile, chunk by chunk: never on disk here, never whole in memory;
 * the target checks size and SHA-256 before renaming it into place, with the source's mtime
 * when that is settled). The live pass compares every file by SHA-256. The final pass (the
 * service stopped, inside the unavailability window) first compares size and mtime, as rsync
 * does by default, and hashes on both nodes only the files of equal size whose mtimes differ
 * (or are too recent to tell, `filesToHash`); then it sets modes, owners and mtimes. A symlink
 * leading out of the directory is refused before anything is sent.
 */
export async function copyServicePass(input: CopyPassInput): Promise<CopyPassResult> {
  const started = Date.now();
  const list = (client: AgentClient, checksumPaths: string[] = []) => client.call('listServiceFiles', { service: input.service, checksums: !input.final, checksumPaths });
  let [source, target] = await Promise.all([list(input.from), list(input.to)]);
  const problem = outsideLinksProblem(input.service, source.srvRoot, planCopy(source.entries, []).outside);
  if (problem) throw new LinkOutsideServiceError(`${input.from.node.name}: ${problem}`);
  let hashed = input.final ? 0 : planCopy(source.entries, []).totalFiles;
  if (input.final) {
    const undecided = filesToHash(source.entries, target.entries, Number(source.startedAtMs));
    hashed = undecided.length;
    if (undecided.length) [source, target] = await Promise.all([list(input.from, undecided), list(input.to, undecided)]);
  }
  const sourceListedAtMs = Number(source.startedAtMs);
  const plan = planCopy(source.entries, target.entries, input.final ? { sourceListedAtMs } : undefined);
  const entries = source.entries.filter((entry) => entry.type !== 'other');
  await input.to.call('applyServiceTree', { service: input.service, entries, finish: false });
  const done = { files: 0, bytes: 0 };
  const changed: string[] = [];
  for (const entry of plan.files) {
    try {
      done.bytes += await copyFile({ from: input.from, to: input.to, service: input.service, path: entry.path, mtimeMs: mtimeForCopy(entry, sourceListedAtMs) });
    } catch (error) {
      // Live, a file may change or vanish while it is read: the final pass sends it. Anything
      // else (a node gone, a disk full) ends the move here, with the source still serving.
      if (input.final || !changedWhileRead(error)) throw error;
      changed.push(entry.path);
    }
    done.files++;
    input.onProgress?.(done, plan);
  }
  if (input.final) await input.to.call('applyServiceTree', { service: input.service, entries, finish: true });
  return { files: done.files - changed.length, bytes: done.bytes, ms: Date.now() - started, hashed, changed, plan };
}

/**
 * The errors of a file that changed under its copy: the target found other bytes than the
 * source's checksum or size said (INVALID_ARGUMENT), or the source no longer has it (NOT_FOUND).
 */
function changedWhileRead(error: unknown): boolean {
  return error instanceof AgentCallError && (error.code === 'INVALID_ARGUMENT' || error.code === 'NOT_FOUND');
}

/** Streams one file from `from` to `to`; resolves to its size. */
export async function copyFile(input: { from: AgentClient; to: AgentClient; service: string; path: string; mtimeMs: number }): Promise<number> {
  const abort = new AbortController();
  const messages = input.from.stream('pullFile', { service: input.service, path: input.path }, { signal: abort.signal })[Symbol.asyncIterator]();
  try {
    const first = await messages.next();
    const info = first.done ? undefined : first.value.info;
    if (!info) throw new CommandFailedError(`${input.from.node.name} sent no file information for ${input.path}`);
    async function* chunks(): AsyncIterable<Buffer> {
      for (;;) {
        const next = await messages.next();
        if (next.done) return;
        const chunk = next.value.chunk;
        if (chunk && chunk.length) yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      }
    }
    const pushed = await input.to.pushFile({ header: { service: input.service, path: input.path, mode: info.mode, size: info.size, sha256: info.sha256, mtimeMs: input.mtimeMs }, chunks: chunks() });
    return pushed.size;
  } finally {
    abort.abort();
  }
}
