import type { sendUnaryData, ServerReadableStream } from '@grpc/grpc-js';
import { Controller } from '@nestjs/common';
import type { mcpv1 } from '@mcp/proto';
import { Rpc, StreamCallRpc } from '../auth/rpc.decorator';
import { AuditLog } from '../logging/audit';
import { StreamCancelledError } from '../streaming/stream-call';
import { ImagesService } from './images.service';

/** ImageBlobs, PushImage (SPEC §13). PushImage takes the raw call, like PushFile (see TransferController). */
@Controller()
export class ImagesController {
  constructor(
    private readonly images: ImagesService,
    private readonly audit: AuditLog,
  ) {}

  @Rpc()
  imageBlobs(request: mcpv1.ImageBlobsRequest): Promise<mcpv1.ImageBlobsResponse> {
    return this.images.imageBlobs(request);
  }

  @StreamCallRpc()
  async pushImage(call: ServerReadableStream<mcpv1.PushImageRequest, mcpv1.PushImageResponse>, callback: sendUnaryData<mcpv1.PushImageResponse>): Promise<void> {
    try {
      callback(null, await this.images.push(call));
    } catch (error) {
      // A client that went away: audited as CANCELLED, nothing sent (as PushFile).
      if (error instanceof StreamCancelledError) return this.audit.record({ call, code: 'CANCELLED' });
      throw error;
    }
  }
}
