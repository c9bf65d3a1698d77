import type { Metadata, sendUnaryData, ServerReadableStream, ServerWritableStream } from '@grpc/grpc-js';
import { Controller } from '@nestjs/common';
import type { mcpv1 } from '@mcp/proto';
import { Rpc, StreamCallRpc } from '../auth/rpc.decorator';
import type { Observable } from 'rxjs';
import type { MalformedRequest } from '../errors/malformed-request';
import { AuditLog, noteAuditTarget } from '../logging/audit';
import { cancelSignal, serverStream } from '../streaming/stream-call';
import { TransferCancelledError, transferCancelled, TransferService, type FilePushPart } from './transfer.service';
import type { TreeEntry } from './service-tree';

/**
 * PushFile, PullFile, Logs. PushFile uses @GrpcStreamCall (the raw grpc-js stream) rather than
 * @GrpcStreamMethod, whose Subject buffers without limit; its errors reach the client through
 * the global filter, which calls the callback for this handler shape. TransferService sees
 * domain values only: the messages' fields are its parts (a push's header and chunks, a pull's
 * info and chunks, log chunks) as they are.
 */
@Controller()
export class TransferController {
  constructor(
    private readonly transfer: TransferService,
    private readonly audit: AuditLog,
  ) {}

  @StreamCallRpc()
  async pushFile(call: ServerReadableStream<mcpv1.PushFileRequest, mcpv1.PushFileResponse>, callback: sendUnaryData<mcpv1.PushFileResponse>): Promise<void> {
    const cancelled = cancelSignal(call, undefined, transferCancelled);
    try {
      const messages = call[Symbol.asyncIterator]() as AsyncIterator<FilePushPart | MalformedRequest>;
      callback(null, await this.transfer.push({ messages, signal: cancelled.signal, onHeader: (header) => noteAuditTarget(call, { service: header.service }) }));
    } catch (error) {
      // A client that went away is not an agent failure: audit it as CANCELLED (audited once
      // per call, so the interceptor's line is skipped) and send nothing.
      if (error instanceof TransferCancelledError) return this.audit.record({ call, code: 'CANCELLED' });
      throw error;
    } finally {
      cancelled.dispose();
    }
  }

  @Rpc()
  pullFile(request: mcpv1.PullFileRequest, _metadata?: Metadata, call?: ServerWritableStream<mcpv1.PullFileRequest, mcpv1.PullFileResponse>): Observable<mcpv1.PullFileResponse> {
    return serverStream(call, (part) => part, (sink) => this.transfer.pull({ request: { service: request.service, path: request.path }, sink }), transferCancelled);
  }

  @Rpc()
  async listServiceFiles(request: mcpv1.ListServiceFilesRequest): Promise<mcpv1.ListServiceFilesResponse> {
    return this.transfer.listFiles({ service: request.service, checksums: request.checksums, checksumPaths: request.checksumPaths });
  }

  @Rpc()
  async applyServiceTree(request: mcpv1.ApplyServiceTreeRequest): Promise<mcpv1.ApplyServiceTreeResponse> {
    return this.transfer.applyTree({ service: request.service, entries: request.entries.map(fromProtoEntry), finish: request.finish });
  }

  @Rpc()
  async removeServiceData(request: mcpv1.RemoveServiceDataRequest): Promise<mcpv1.RemoveServiceDataResponse> {
    return this.transfer.removeData({ service: request.service });
  }

  @Rpc()
  logs(request: mcpv1.LogsRequest, _metadata?: Metadata, call?: ServerWritableStream<mcpv1.LogsRequest, mcpv1.LogsResponse>): Observable<mcpv1.LogsResponse> {
    const query = { service: request.service, component: request.component, follow: request.follow, tail: request.tail > 0 ? request.tail : undefined, since: request.since || undefined, timestamps: request.timestamps };
    return serverStream(call, (chunk) => chunk, (sink) => this.transfer.logs({ query, sink }), transferCancelled);
  }
}

function fromProtoEntry(entry: mcpv1.ServiceFileEntry): TreeEntry {
  return {
    path: entry.path,
    type: entry.type as TreeEntry['type'],
    mode: entry.mode,
    size: Number(entry.size),
    sha256: entry.sha256,
    linkTarget: entry.linkTarget,
    leavesServiceDir: entry.leavesServiceDir,
    uid: entry.uid,
    gid: entry.gid,
    mtimeMs: Number(entry.mtimeMs),
  };
}
