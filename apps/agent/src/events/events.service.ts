import type { ServerWritableStream } from '@grpc/grpc-js';
import { Injectable } from '@nestjs/common';
import { fromTimestamp, type mcpv1 } from '@mcp/proto';
import { type EventRecord, ServiceRegistry } from '@mcp/registry';
import { toProtoEvent } from '../event.mapper';
import { StreamCancelledError, writeMessage } from '../streaming/stream-call';

type EventsCall = ServerWritableStream<mcpv1.EventsRequest, mcpv1.EventsResponse>;

/** Most recent events sent first when no `since` is given. */
export const DEFAULT_EVENT_COUNT = 50;
/** At most this many events since a time (30 days of a busy node stay well below). */
export const SINCE_CAP = 10_000;
/** Events read from the registry per query while catching up. */
const PAGE = 200;

/**
 * `Events` (SPEC §10): the registry's events, oldest first, then with `follow` each new one.
 * A follower is told that something was recorded (ServiceRegistry.onEventAdded) and then
 * reads from the registry by id, in pages, awaiting the call's drain between writes: a slow
 * client holds back only its own reads, and the agent buffers nothing for it.
 */
@Injectable()
export class EventsService {
  constructor(private readonly registry: ServiceRegistry) {}

  async stream(input: { request: mcpv1.EventsRequest; call: EventsCall; signal: AbortSignal }): Promise<void> {
    const { request, call } = input;
    const service = request.service || undefined;
    const signal = cancelSignal(call, input.signal);
    let recorded = false;
    /** The first event recorded after the subscription; a follower without history starts there. */
    let firstNew: number | undefined;
    let wake: (() => void) | undefined;
    const unsubscribe = this.registry.onEventAdded((event) => {
      if (service !== undefined && event.service !== service) return;
      firstNew ??= event.id;
      recorded = true;
      wake?.();
    });
    const onAbort = () => wake?.();
    signal.signal.addEventListener('abort', onAbort);
    try {
      const since = fromTimestamp(request.since);
      const history = since
        ? await this.registry.listEvents({ service, since, limit: request.limit > 0 ? request.limit : SINCE_CAP })
        : await this.registry.listEvents({ service, limit: request.limit > 0 ? request.limit : DEFAULT_EVENT_COUNT });
      let lastId = 0;
      for (const event of history.reverse()) {
        await writeMessage(call, toResponse(event), signal.signal);
        lastId = Math.max(lastId, event.id);
      }
      if (!request.follow) return;
      for (;;) {
        if (signal.signal.aborted) return;
        recorded = false;
        const after = lastId || (firstNew !== undefined ? firstNew - 1 : undefined);
        if (after !== undefined) {
          const page = await this.registry.eventsAfter({ afterId: after, service, limit: PAGE });
          for (const event of page) {
            await writeMessage(call, toResponse(event), signal.signal);
            lastId = event.id;
          }
          if (page.length === PAGE) continue;
        }
        if (!recorded && !signal.signal.aborted) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } catch (error) {
      if (error instanceof StreamCancelledError || signal.signal.aborted) return;
      throw error;
    } finally {
      unsubscribe();
      signal.signal.removeEventListener('abort', onAbort);
      signal.dispose();
    }
  }
}

function toResponse(event: EventRecord): mcpv1.EventsResponse {
  return { id: event.id, event: toProtoEvent(event) };
}

/** Aborts when the client cancels the call or `parent` aborts (the agent shuts down). */
function cancelSignal(call: EventsCall, parent: AbortSignal): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const abort = (): void => controller.abort(new StreamCancelledError());
  if (call.cancelled || parent.aborted) abort();
  call.on('cancelled', abort);
  parent.addEventListener('abort', abort, { once: true });
  return {
    signal: controller.signal,
    dispose: () => {
      call.off('cancelled', abort);
      parent.removeEventListener('abort', abort);
    },
  };
}
