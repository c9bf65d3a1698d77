import { Injectable } from '@nestjs/common';
import { type EventRecord, ServiceRegistry } from '@mcp/registry';
import { StreamCancelledError, type StreamSink } from '../streaming/stream-call';

/** What an Events call asks for. */
export interface EventsQuery {
  service?: string;
  since?: Date;
  /** 0: the default (DEFAULT_EVENT_COUNT, or SINCE_CAP with `since`). */
  limit: number;
  follow: boolean;
}

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

  async stream(input: { query: EventsQuery; sink: StreamSink<EventRecord> }): Promise<void> {
    const { query: request, sink } = input;
    const { service } = request;
    const { signal } = sink;
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
    signal.addEventListener('abort', onAbort);
    try {
      const since = request.since;
      const history = since
        ? await this.registry.listEvents({ service, since, limit: request.limit > 0 ? request.limit : SINCE_CAP })
        : await this.registry.listEvents({ service, limit: request.limit > 0 ? request.limit : DEFAULT_EVENT_COUNT });
      let lastId = 0;
      for (const event of history.reverse()) {
        await sink.send(event);
        lastId = Math.max(lastId, event.id);
      }
      if (!request.follow) return;
      for (;;) {
        if (signal.aborted) return;
        recorded = false;
        const after = lastId || (firstNew !== undefined ? firstNew - 1 : undefined);
        if (after !== undefined) {
          const page = await this.registry.eventsAfter({ afterId: after, service, limit: PAGE });
          for (const event of page) {
            await sink.send(event);
            lastId = event.id;
          }
          if (page.length === PAGE) continue;
        }
        if (!recorded && !signal.aborted) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } catch (error) {
      if (error instanceof StreamCancelledError || signal.aborted) return;
      throw error;
    } finally {
      unsubscribe();
      signal.removeEventListener('abort', onAbort);
    }
  }
}
