import type { Metadata, ServerWritableStream } from '@grpc/grpc-js';
import { Controller } from '@nestjs/common';
import { fromTimestamp, type mcpv1 } from '@mcp/proto';
import type { Observable } from 'rxjs';
import { Rpc } from '../auth/rpc.decorator';
import { toEventsResponse } from '../event.mapper';
import { serverStream } from '../streaming/stream-call';
import { EventsService } from './events.service';

@Controller()
export class EventsController {
  constructor(private readonly service: EventsService) {}

  @Rpc()
  events(request: mcpv1.EventsRequest, _metadata?: Metadata, call?: ServerWritableStream<mcpv1.EventsRequest, mcpv1.EventsResponse>): Observable<mcpv1.EventsResponse> {
    const query = { service: request.service || undefined, since: fromTimestamp(request.since), limit: request.limit, follow: request.follow };
    return serverStream(call, toEventsResponse, (sink) => this.service.stream({ query, sink }));
  }
}
