import type { Metadata, ServerWritableStream } from '@grpc/grpc-js';
import { Controller } from '@nestjs/common';
import type { mcpv1 } from '@mcp/proto';
import type { Observable } from 'rxjs';
import { Rpc } from '../auth/rpc.decorator';
import { requireCall, streamWork } from '../streaming/stream-call';
import { EventsService } from './events.service';

@Controller()
export class EventsController {
  constructor(private readonly service: EventsService) {}

  @Rpc()
  events(request: mcpv1.EventsRequest, _metadata?: Metadata, call?: ServerWritableStream<mcpv1.EventsRequest, mcpv1.EventsResponse>): Observable<mcpv1.EventsResponse> {
    return streamWork((signal) => this.service.stream({ request, call: requireCall(call), signal }));
  }
}
