import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { ServerReadableStream, ServerWritableStream } from '@grpc/grpc-js';
import { Injectable, Logger } from '@nestjs/common';
import {
  ChecksumMismatchError,
  DiskFullError,
  FileTooLargeError,
  InvalidArgumentError,
  InvalidPathError,
  NotFoundError,
  ServiceNotFoundError,
} from '@mcp/common';
import type { mcpv1 } from '@mcp/proto';
import { ServiceRegistry } from '@mcp/registry';
import { componentContainerName, ContainerRuntime } from '@mcp/runtime';
import { AgentConfig } from '../config/agent-config';
import { MalformedRequest, malformedRequestError } from '../errors/malformed-request';
import { noteAuditTarget } from '../logging/audit';
import { cancelSignal as streamCancelSignal, nextMessage as streamNextMessage } from '../streaming/stream-call';
import { ensureParentDirectory, recheckServicePath, resolveServicePath } from './service-path';

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

type PushCall = ServerReadableStream<mcpv1.PushFileRequest, mcpv1.PushFileResponse>;
type PullCall = ServerWritableStream<mcpv1.PullFileRequest, mcpv1.PullFileResponse>;
type LogsCall = ServerWritableStream<mcpv1.LogsRequest, mcpv1.LogsResponse>;

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
  ) {}

  /**
   * Reads the header, then the chunks into a temp file next to the target; renames it into
   * place only when size and SHA-256 match. Any failure or a client cancel removes the temp.
   */
  async push(call: PushCall): Promise<mcpv1.PushFileResponse> {
    const cancelled = cancelSignal(call);
    const messages = call[Symbol.asyncIterator]() as AsyncIterator<mcpv1.PushFileRequest>;
    const first = await nextMessage(messages, cancelled.signal);
    if (first instanceof MalformedRequest) throw malformedRequestError(first.reason);
    const header = first?.header;
    if (!header) throw new InvalidArgumentError('the first message of a push must be its header');
    noteAuditTarget(call, { service: header.service });
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
        const message = await nextMessage(messages, cancelled.signal);
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
      await file.sync();
      await file.close();
      closed = true;
      if (cancelled.signal.aborted) throw new TransferCancelledError();
      await recheckServicePath(target);
      await fs.rename(temp, target.target);
      await syncDirectory(parent);
      return { path: target.relative, size, sha256: actualSha };
    } catch (error) {
      if (!closed) await file.close().catch(() => undefined);
      await fs.rm(temp, { force: true });
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') {
        throw new DiskFullError(`no space left on the node for "${target.relative}" of service "${header.service}" (under ${this.config.agent.srvRoot}): nothing was written`, { cause: error });
      }
      throw error;
    } finally {
      cancelled.dispose();
    }
  }

  /** Sends `info` (size, mode, SHA-256 from a first read pass), then 64 KiB chunks. */
  async pull(input: { request: mcpv1.PullFileRequest; call: PullCall; signal: AbortSignal }): Promise<void> {
    const cancelled = cancelSignal(input.call, input.signal);
    try {
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
        for await (const chunk of file.createReadStream({ start: 0, autoClose: false, highWaterMark: PULL_CHUNK_BYTES, signal: cancelled.signal })) {
          hash.update(chunk as Buffer);
        }
        await writeMessage(input.call, { info: { size: stat.size, mode: stat.mode & PERMISSION_BITS, sha256: hash.digest('hex') } }, cancelled.signal);
        for await (const chunk of file.createReadStream({ start: 0, end: Math.max(0, stat.size - 1), autoClose: false, highWaterMark: PULL_CHUNK_BYTES, signal: cancelled.signal })) {
          if (stat.size === 0) break;
          await writeMessage(input.call, { chunk: chunk as Buffer }, cancelled.signal);
        }
      } finally {
        await file.close();
      }
    } finally {
      cancelled.dispose();
    }
  }

  /** Streams a component's container logs until they end or the client cancels. */
  async logs(input: { request: mcpv1.LogsRequest; call: LogsCall; signal: AbortSignal }): Promise<void> {
    const { request } = input;
    const container = await this.logContainer(request.service, request.component);
    const cancelled = cancelSignal(input.call, input.signal);
    try {
      const chunks = this.runtime.logs({
        name: container,
        follow: request.follow,
        tail: request.tail > 0 ? request.tail : undefined,
        since: request.since || undefined,
        timestamps: request.timestamps,
        signal: cancelled.signal,
      });
      for await (const chunk of chunks) {
        if (cancelled.signal.aborted) break;
        await writeMessage(input.call, { data: chunk.data, stream: chunk.stream }, cancelled.signal);
      }
    } finally {
      cancelled.dispose();
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

const cancelled = (): Error => new TransferCancelledError();

function cancelSignal(call: Parameters<typeof streamCancelSignal>[0], parent?: AbortSignal): ReturnType<typeof streamCancelSignal> {
  return streamCancelSignal(call, parent, cancelled);
}

function nextMessage(messages: AsyncIterator<mcpv1.PushFileRequest>, signal: AbortSignal): Promise<mcpv1.PushFileRequest | undefined> {
  return streamNextMessage(messages, signal, cancelled);
}

/** Writes one message, waiting for 'drain' when grpc-js's buffer is full. */
async function writeMessage<T>(call: ServerWritableStream<unknown, T>, message: T, signal: AbortSignal): Promise<void> {
  if (signal.aborted) throw new TransferCancelledError();
  if (!call.write(message)) {
    await once(call, 'drain', { signal });
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, fs.constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
