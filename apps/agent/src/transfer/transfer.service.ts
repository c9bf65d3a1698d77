import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Injectable, Logger } from '@nestjs/common';
import {
  ChecksumMismatchError,
  DiskFullError,
  FailedPreconditionError,
  Failpoints,
  FileTooLargeError,
  InvalidArgumentError,
  InvalidPathError,
  NotFoundError,
  ServiceNotFoundError,
} from '@mcp/common';
import { ServiceRegistry } from '@mcp/registry';
import { componentContainerName, ContainerRuntime } from '@mcp/runtime';
import { AgentConfig } from '../config/agent-config';
import { MalformedRequest, malformedRequestError } from '../errors/malformed-request';
import { nextMessage as streamNextMessage, type StreamSink } from '../streaming/stream-call';
import { ensureParentDirectory, parseServicePath, recheckServicePath, resolveServicePath } from './service-path';
import { applyServiceTree, listServiceTree, type TreeEntry } from './service-tree';

/** Size of one PullFile chunk. */
export const PULL_CHUNK_BYTES = 64 * 1024;
const DEFAULT_FILE_MODE = 0o644;
const PERMISSION_BITS = 0o7777;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The client went away; nothing is left behind and no status needs sending. */
export class TransferCancelledError extends Error {
  constructor() {
    super('cancelled by the client');
    this.name = TransferCancelledError.name;
  }
}

/** A push's messages: one header first, then chunks of the file (TransferMapper reads them off the call). */
export interface FilePushPart {
  /** `mtimeMs` (0 or absent: the time of the push) is given to the file before it is renamed into place. */
  header?: { service: string; path: string; mode: number; size: number; sha256: string; mtimeMs?: number };
  chunk?: Buffer;
}

/** What a push stored. */
export interface PushedFile {
  path: string;
  size: number;
  sha256: string;
}

/** A pull sends the file's info first, then its chunks. */
export type FilePullPart = { info: { size: number; mode: number; sha256: string } } | { chunk: Buffer };

export interface LogsQuery {
  service: string;
  /** '' for the default component. */
  component: string;
  follow: boolean;
  tail?: number;
  since?: string;
  timestamps: boolean;
}

export interface LogChunk {
  data: Buffer;
  stream: string;
}

/** The cancelled error of a pull or logs sink (TransferController's serverStream). */
export const transferCancelled = (): Error => new TransferCancelledError();

/**
 * PushFile, PullFile and Logs. Everything streams: reads are paced by the disk (push) and
 * writes wait for the call to drain (pull, logs), so memory stays flat whatever the size.
 */
@Injectable()
export class TransferService {
  private readonly logger = new Logger(TransferService.name);

  constructor(
    private readonly config: AgentConfig,
    private readonly registry: ServiceRegistry,
    private readonly runtime: ContainerRuntime,
    private readonly failpoints: Failpoints,
  ) {}

  /**
   * Reads the header, then the chunks into a temp file next to the target; renames it into
   * place only when size and SHA-256 match. Any failure or a client cancel removes the temp.
   */
  async push(input: { messages: AsyncIterator<FilePushPart | MalformedRequest>; signal: AbortSignal; onHeader(header: NonNullable<FilePushPart['header']>): void }): Promise<PushedFile> {
    const { messages, signal } = input;
    const first = await nextMessage(messages, signal);
    if (first instanceof MalformedRequest) throw malformedRequestError(first.reason);
    const header = first?.header;
    if (!header) throw new InvalidArgumentError('the first message of a push must be its header');
    input.onHeader(header);
    const maxBytes = this.config.agent.maxFileBytes;
    const declared = Number(header.size);
    if (declared > maxBytes) throw new FileTooLargeError(`file of ${declared} bytes exceeds the limit of ${maxBytes} bytes`);
    const expectedSha = header.sha256.toLowerCase();
    if (!SHA256_HEX.test(expectedSha)) throw new InvalidArgumentError('sha256 must be 64 hex digits');

    const target = await resolveServicePath({ srvRoot: this.config.agent.srvRoot, service: header.service, path: header.path, create: true });
    const existing = await fs.stat(target.target).catch(() => undefined);
    if (existing && !existing.isFile()) throw new InvalidPathError(`"${target.relative}" exists and is not a regular file`);
    const parent = await ensureParentDirectory(target);
    const temp = path.join(parent, `.${path.basename(target.target)}.mcp-push-${randomBytes(6).toString('hex')}`);
    const file = await fs.open(temp, 'wx', 0o600);
    let closed = false;
    try {
      const hash = createHash('sha256');
      let size = 0;
      for (;;) {
        const message = await nextMessage(messages, signal);
        if (!message) break;
        if (message instanceof MalformedRequest) throw malformedRequestError(message.reason);
        if (message.header) throw new InvalidArgumentError('a push carries exactly one header');
        const chunk = message.chunk;
        if (!chunk || chunk.length === 0) continue;
        size += chunk.length;
        if (size > maxBytes) throw new FileTooLargeError(`file exceeds the limit of ${maxBytes} bytes`);
        if (size > declared) throw new InvalidArgumentError(`more bytes arrived than the declared size of ${declared}`);
        hash.update(chunk);
        // Awaiting the write before asking for the next message lets the disk pace the network.
        await file.write(chunk);
      }
      if (size !== declared) throw new InvalidArgumentError(`received ${size} bytes, the header declared ${declared}`);
      const actualSha = hash.digest('hex');
      if (actualSha !== expectedSha) {
        throw new ChecksumMismatchError(`SHA-256 of the received data (${actualSha}) does not match the header's (${expectedSha})`);
      }
      const mode = header.mode ? header.mode & PERMISSION_BITS : existing ? existing.mode & PERMISSION_BITS : DEFAULT_FILE_MODE;
      await file.chmod(mode);
      const mtimeMs = Number(header.mtimeMs ?? 0);
      if (mtimeMs > 0) {
        // Half a millisecond more, as applyServiceTree does: seconds as a double lose the last digit.
        const when = (mtimeMs + 0.5) / 1000;
        await file.utimes(when, when);
      }
      await file.sync();
      await file.close();
      closed = true;
      if (signal.aborted) throw new TransferCancelledError();
      await recheckServicePath(target);
      await fs.rename(temp, target.target);
      await syncDirectory(parent);
      // Test-only: the file is in place, the client has no answer yet (a move's target killed mid-copy).
      await this.failpoints.hit('push-file.after-rename');
      return { path: target.relative, size, sha256: actualSha };
    } catch (error) {
      if (!closed) await file.close().catch(() => undefined);
      await fs.rm(temp, { force: true });
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') {
        throw new DiskFullError(`no space left on the node for "${target.relative}" of service "${header.service}" (under ${this.config.agent.srvRoot}): nothing was written`, { cause: error });
      }
      throw error;
    }
  }

  /** Sends `info` (size, mode, SHA-256 from a first read pass), then 64 KiB chunks. */
  async pull(input: { request: { service: string; path: string }; sink: StreamSink<FilePullPart> }): Promise<void> {
    const { signal } = input.sink;
    const target = await resolveServicePath({ srvRoot: this.config.agent.srvRoot, service: input.request.service, path: input.request.path, create: false });
    const real = await fs.realpath(target.target).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') throw new NotFoundError(`file "${target.relative}" of service "${input.request.service}" not found`);
      throw error;
    });
    const file = await fs.open(real, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      const stat = await file.stat();
      if (!stat.isFile()) throw new InvalidPathError(`"${target.relative}" is not a regular file`);
      const hash = createHash('sha256');
      for await (const chunk of file.createReadStream({ start: 0, autoClose: false, highWaterMark: PULL_CHUNK_BYTES, signal })) {
        hash.update(chunk as Buffer);
      }
      await input.sink.send({ info: { size: stat.size, mode: stat.mode & PERMISSION_BITS, sha256: hash.digest('hex') } });
      for await (const chunk of file.createReadStream({ start: 0, end: Math.max(0, stat.size - 1), autoClose: false, highWaterMark: PULL_CHUNK_BYTES, signal })) {
        if (stat.size === 0) break;
        await input.sink.send({ chunk: chunk as Buffer });
      }
    } finally {
      await file.close();
    }
  }

  /** ListServiceFiles (SPEC §15 move): the service's directory, links never followed. */
  async listFiles(input: { service: string; checksums: boolean; checksumPaths?: string[] }): Promise<{ exists: boolean; entries: TreeEntry[]; srvRoot: string; startedAtMs: number }> {
    const dir = this.serviceDir(input.service);
    const checksumPaths = input.checksumPaths?.length ? new Set(input.checksumPaths) : undefined;
    return { ...(await listServiceTree({ dir, checksums: input.checksums, checksumPaths })), srvRoot: this.config.agent.srvRoot };
  }

  /** ApplyServiceTree (SPEC §15 move): only for a service this node does not run. */
  async applyTree(input: { service: string; entries: TreeEntry[]; finish: boolean }): Promise<{ removed: number; created: number }> {
    const dir = this.serviceDir(input.service);
    await this.refuseIfRunsHere(input.service, 'copy files into its directory');
    return applyServiceTree({ dir, entries: input.entries, finish: input.finish, chown: process.getuid?.() === 0 });
  }

  /** RemoveServiceData (SPEC §15 move): what a failed move copied; never the data of a service this node runs. */
  async removeData(input: { service: string }): Promise<{ removed: boolean }> {
    const dir = this.serviceDir(input.service);
    await this.refuseIfRunsHere(input.service, 'remove its directory');
    const present = await fs.lstat(dir).catch(() => undefined);
    if (!present) return { removed: false };
    this.logger.log(`removing ${dir} (data of ${input.service}, which this node does not run)`);
    await fs.rm(dir, { recursive: true, force: true });
    return { removed: true };
  }

  private serviceDir(service: string): string {
    // The name check of every transfer; "." as a path names the directory itself.
    return parseServicePath({ srvRoot: this.config.agent.srvRoot, service, path: 'x' }).serviceDir;
  }

  private async refuseIfRunsHere(service: string, what: string): Promise<void> {
    const record = await this.registry.getService(service);
    const live = (record?.components ?? []).filter((component) => component.observedState !== 'removed');
    if (live.length) {
      throw new FailedPreconditionError(
        `node ${this.config.agent.nodeName} runs ${service} (${live.map((c) => `${c.name}: ${c.observedState}`).join(', ')}): refusing to ${what}; undeploy it there first`,
      );
    }
  }

  /** Streams a component's container logs until they end or the client cancels. */
  async logs(input: { query: LogsQuery; sink: StreamSink<LogChunk> }): Promise<void> {
    const { query: request, sink } = input;
    const container = await this.logContainer(request.service, request.component);
    const chunks = this.runtime.logs({
      name: container,
      follow: request.follow,
      tail: request.tail,
      since: request.since,
      timestamps: request.timestamps,
      signal: sink.signal,
    });
    for await (const chunk of chunks) {
      if (sink.signal.aborted) break;
      await sink.send({ data: chunk.data, stream: chunk.stream });
    }
  }

  /** The named component, else the only one, else the one named like the service, else the first. */
  private async logContainer(service: string, component: string): Promise<string> {
    const record = await this.registry.getService(service);
    if (!record) throw new ServiceNotFoundError(service);
    const components = record.components;
    const chosen = component
      ? components.find((candidate) => candidate.name === component)
      : components.length === 1
        ? components[0]
        : (components.find((candidate) => candidate.name === service) ?? components[0]);
    if (!chosen) {
      throw new NotFoundError(component ? `component "${service}/${component}" not found` : `service "${service}" has no components`);
    }
    return componentContainerName(chosen);
  }
}

function nextMessage<T>(messages: AsyncIterator<T>, signal: AbortSignal): Promise<T | undefined> {
  return streamNextMessage(messages, signal, transferCancelled);
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, fs.constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
