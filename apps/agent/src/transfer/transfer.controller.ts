import type { Metadata, sendUnaryData, ServerReadableStream, ServerWritableStream } from '@grpc/grpc-js';
import { Controller } from '@nestjs/common';
import type { mcpv1 } from '@mcp/proto';
import { Rpc, StreamCallRpc } from '../auth/rpc.decorator';
import type { Observable } from 'rxjs';
import { AuditLog } from '../logging/audit';
import { requireCall, streamWork } from '../streaming/stream-call';
import { TransferCancelledError, TransferService } from './transfer.service';

/**
 * PushFile, PullFile, Logs. PushFile uses @GrpcStreamCall (the raw grpc-js stream) rather than
 * @GrpcStreamMethod, whose Subject buffers without limit; its errors reach the client through
 * the global filter, which calls the callback for this handler shape.
 */
@Controller()
export class TransferController {
  constructor(
    private readonly transfer: TransferService,
    private readonly audit: AuditLog,
  ) {}

  @StreamCallRpc()
  async pushFile(call: ServerReadableStream<mcpv1.PushFileRequest, mcpv1.PushFileResponse>, callback: sendUnaryData<mcpv1.PushFileResponse>): Promise<void> {
    try {
      callback(null, await this.transfer.push(call));
    } catch (error) {
      // A client that went away is not an agent failure: audit it as CANCELLED (audited once
      // per call, so the interceptor's line is skipped) and send nothing.
      if (error instanceof TransferCancelledError) return this.audit.record({ call, code: 'CANCELLED' });
      throw error;
    }
  }

  @Rpc()
  pullFile(request: mcpv1.PullFileRequest, _metadata?: Metadata, call?: ServerWritableStream<mcpv1.PullFileRequest, mcpv1.PullFileResponse>): Observable<mcpv1.PullFileResponse> {
    return streamWork((signal) => this.transfer.pull({ request, call: requireCall(call), signal }));
  }

  @Rpc()
  logs(request: mcpv1.LogsRequest, _metadata?: Metadata, call?: ServerWritableStream<mcpv1.LogsRequest, mcpv1.LogsResponse>): Observable<mcpv1.LogsResponse> {
    return streamWork((signal) => this.transfer.logs({ request, call: requireCall(call), signal }));
  }
}
