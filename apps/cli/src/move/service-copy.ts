import type { AgentClient } from '../client/agent-client';
import { CommandFailedError } from '../errors';
import { outsideLinksProblem, planCopy, type CopyPlan } from './move-plan';

/** A pass's result: what was sent, and (live pass) what changed under it and waits for the final pass. */
export interface CopyPassResult {
  files: number;
  bytes: number;
  ms: number;
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
 * One copy pass of `<srv_root>/<svc>/` (SPEC §15): the source lists its tree with SHA-256s,
 * the target shapes its own after it (removes what the source lacks, makes directories and
 * symlinks), then each file the target lacks or holds with other content streams source →
 * this process → target (PullFile into PushFile, chunk by chunk: never on disk here, never
 * whole in memory; the target checks size and SHA-256 before renaming it into place). The
 * final pass then sets modes, owners and mtimes. A symlink leading out of the directory is
 * refused before anything is sent.
 */
export async function copyServicePass(input: CopyPassInput): Promise<CopyPassResult> {
  const started = Date.now();
  const source = await input.from.call('listServiceFiles', { service: input.service, checksums: true });
  const problem = outsideLinksProblem(input.service, source.srvRoot, planCopy(source.entries, []).outside);
  if (problem) throw new LinkOutsideServiceError(`${input.from.node.name}: ${problem}`);
  const target = await input.to.call('listServiceFiles', { service: input.service, checksums: true });
  const plan = planCopy(source.entries, target.entries);
  const entries = source.entries.filter((entry) => entry.type !== 'other');
  await input.to.call('applyServiceTree', { service: input.service, entries, finish: false });
  const done = { files: 0, bytes: 0 };
  const changed: string[] = [];
  for (const entry of plan.files) {
    try {
      done.bytes += await copyFile({ from: input.from, to: input.to, service: input.service, path: entry.path });
    } catch (error) {
      // Live, a file may change or vanish while it is read: the final pass sends it.
      if (input.final) throw error;
      changed.push(entry.path);
    }
    done.files++;
    input.onProgress?.(done, plan);
  }
  if (input.final) await input.to.call('applyServiceTree', { service: input.service, entries, finish: true });
  return { files: done.files - changed.length, bytes: done.bytes, ms: Date.now() - started, changed, plan };
}

/** Streams one file from `from` to `to`; resolves to its size. */
export async function copyFile(input: { from: AgentClient; to: AgentClient; service: string; path: string }): Promise<number> {
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
    const pushed = await input.to.pushFile({ header: { service: input.service, path: input.path, mode: info.mode, size: info.size, sha256: info.sha256 }, chunks: chunks() });
    return pushed.size;
  } finally {
    abort.abort();
  }
}
