import type { sendUnaryData, ServerReadableStream } from '@grpc/grpc-js';
import { Controller } from '@nestjs/common';
import type { mcpv1 } from '@mcp/proto';
import { Rpc, StreamCallRpc } from '../auth/rpc.decorator';
import type { MalformedRequest } from '../errors/malformed-request';
import { AuditLog, noteAuditTarget } from '../logging/audit';
import { cancelSignal, StreamCancelledError } from '../streaming/stream-call';
import { ImagesService, type ImagePushPart } from './images.service';

/** ImageBlobs, PushImage (SPEC §13). PushImage takes the raw call, like PushFile (see TransferController). */
@Controller()
export class ImagesController {
  constructor(
    private readonly images: ImagesService,
    private readonly audit: AuditLog,
  ) {}

  @Rpc()
  imageBlobs(request: mcpv1.ImageBlobsRequest): Promise<mcpv1.ImageBlobsResponse> {
    return this.images.imageBlobs({ digests: request.digests, imageId: request.imageId });
  }

  @StreamCallRpc()
  async pushImage(call: ServerReadableStream<mcpv1.PushImageRequest, mcpv1.PushImageResponse>, callback: sendUnaryData<mcpv1.PushImageResponse>): Promise<void> {
    const cancelled = cancelSignal(call);
    try {
      const messages = call[Symbol.asyncIterator]() as AsyncIterator<ImagePushPart | MalformedRequest>;
      callback(null, await this.images.push({ messages, signal: cancelled.signal, onHeader: (header) => noteAuditTarget(call, { image: header.reference }) }));
    } catch (error) {
      // A client that went away: audited as CANCELLED, nothing sent (as PushFile).
      if (error instanceof StreamCancelledError) return this.audit.record({ call, code: 'CANCELLED' });
      throw error;
    } finally {
      cancelled.dispose();
    }
  }
}
