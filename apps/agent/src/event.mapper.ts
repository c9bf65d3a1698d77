import { toTimestamp, type mcpv1 } from '@mcp/proto';
import type { EventRecord } from '@mcp/registry';

/**
 * The one mapping of a recorded event to its proto message, shared by GetServiceStatus's event
 * list and the Events stream (feature modules do not import each other, so it lives here).
 */
export function toProtoEvent(event: EventRecord): mcpv1.Event {
  return {
    time: toTimestamp(event.time),
    service: event.service,
    component: event.component,
    kind: event.kind,
    message: event.message,
    fromState: event.fromState,
    toState: event.toState,
  };
}

/** One message of the Events stream. */
export function toEventsResponse(event: EventRecord): mcpv1.EventsResponse {
  return { id: event.id, event: toProtoEvent(event) };
}
