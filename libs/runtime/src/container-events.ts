import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { RuntimeUnavailableError } from '@mcp/common';
import type { ContainerEvent, ContainerEventStream, ContainerSummary } from './container-runtime';

/**
 * podman's container events in both of its JSON shapes, and what an event does to a
 * container as a listing would show it. Pure functions; the adapters own the transport.
 */

/** One line of libpod's `GET /events?stream=true` (the Docker-compatible shape). */
export interface LibpodEventEntry {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  from?: string;
  time?: number;
  timeNano?: number;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/** One line of `podman events --format json`. */
export interface PodmanCliEventEntry {
  Type?: string;
  Status?: string;
  ID?: string;
  Name?: string;
  Image?: string;
  Time?: string;
  ContainerExitCode?: number;
  Attributes?: Record<string, string> | null;
}

/** Attributes libpod adds beside the labels. */
const NON_LABEL_ATTRIBUTES = new Set(['containerExitCode', 'image', 'name', 'podId']);

export function parseLibpodEvent(entry: LibpodEventEntry): ContainerEvent | undefined {
  if (entry.Type !== 'container') return undefined;
  const attributes = entry.Actor?.Attributes ?? {};
  const action = entry.Action ?? entry.status ?? '';
  const id = entry.Actor?.ID ?? entry.id ?? '';
  if (!action || !id) return undefined;
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes)) if (!NON_LABEL_ATTRIBUTES.has(key)) labels[key] = value;
  const exit = Number(attributes.containerExitCode);
  return {
    time: entry.timeNano ? new Date(Math.floor(entry.timeNano / 1e6)) : new Date((entry.time ?? 0) * 1000),
    id,
    name: attributes.name ?? '',
    image: attributes.image ?? entry.from ?? '',
    action,
    exitCode: action === 'died' && Number.isFinite(exit) ? exit : undefined,
    labels,
  };
}

export function parsePodmanCliEvent(entry: PodmanCliEventEntry): ContainerEvent | undefined {
  if (entry.Type !== 'container' || !entry.Status || !entry.ID) return undefined;
  const time = entry.Time ? new Date(entry.Time) : new Date();
  return {
    time: Number.isNaN(time.getTime()) ? new Date() : time,
    id: entry.ID,
    name: entry.Name ?? '',
    image: entry.Image ?? '',
    action: entry.Status,
    exitCode: entry.Status === 'died' ? (entry.ContainerExitCode ?? 0) : undefined,
    labels: { ...(entry.Attributes ?? {}) },
  };
}

/** The state a listing would show after `action`, or undefined when the action changes none (kill, exec, cleanup...). */
export function stateAfter(action: string): string | undefined {
  switch (action) {
    case 'create':
      return 'created';
    case 'start':
    case 'restart':
    case 'unpause':
      return 'running';
    case 'died':
    case 'stop':
      return 'exited';
    case 'pause':
      return 'paused';
    default:
      return undefined;
  }
}

/**
 * What `event` makes of the container as last seen (`before`, matched by id): the new
 * summary, `null` when it was removed, or `before` itself when nothing a listing shows
 * changed. Ports and the command are not in events: they are kept from the last listing
 * (a container created since shows none until the next reconciliation).
 */
export function applyContainerEvent(before: ContainerSummary | undefined, event: ContainerEvent): ContainerSummary | null | undefined {
  // A stream may replay history (podman re-sends past events after its service restarts):
  // a container is created once, and nothing older than its current run changes it.
  if (before && (event.action === 'create' || (before.startedAt && event.time.getTime() < before.startedAt.getTime()))) return before;
  if (event.action === 'remove') return null;
  const state = stateAfter(event.action);
  const renamed = event.action === 'rename' && before !== undefined && event.name !== '' && event.name !== before.name;
  if (state === undefined && !renamed) return before;
  const base: ContainerSummary = before ?? {
    id: event.id,
    name: event.name,
    image: event.image,
    state: 'created',
    status: '',
    command: [],
    labels: { ...event.labels },
    ports: [],
    createdAt: event.time,
  };
  const next: ContainerSummary = { ...base, name: event.name || base.name, image: event.image || base.image };
  if (state !== undefined) {
    next.state = state;
    next.status = state;
    if (state === 'running' && base.state !== 'running') {
      next.startedAt = event.time;
      next.exitCode = undefined;
    }
    if (state === 'exited') next.exitCode = event.exitCode ?? base.exitCode ?? 0;
  }
  if (Object.keys(event.labels).length) next.labels = { ...event.labels };
  return next;
}

/**
 * A ContainerEventStream over newline-delimited JSON: `parse` maps one decoded line (or
 * skips it with undefined); `dispose` releases the source (destroys the request, kills the
 * process). A line that is not JSON is skipped. `failure()` is consulted when the source
 * ends, so an adapter can turn an abnormal end into RuntimeUnavailableError.
 */
export function ndjsonEventStream<T>(input: {
  source: Readable;
  parse: (entry: T) => ContainerEvent | undefined;
  dispose: () => void;
  failure?: () => RuntimeUnavailableError | undefined;
}): ContainerEventStream {
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    input.dispose();
  };
  let endFailure: RuntimeUnavailableError | undefined;
  async function* iterate(): AsyncGenerator<ContainerEvent> {
    const lines = createInterface({ input: input.source, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        if (closed) return;
        if (!line.trim()) continue;
        let entry: T;
        try {
          entry = JSON.parse(line) as T;
        } catch {
          continue;
        }
        const event = input.parse(entry);
        if (event) yield event;
      }
    } catch (error) {
      if (closed) return;
      throw error instanceof RuntimeUnavailableError
        ? error
        : new RuntimeUnavailableError(`podman event stream broke off: ${(error as Error).message}`, { cause: error });
    } finally {
      lines.close();
      endFailure = closed ? undefined : input.failure?.();
      close();
    }
    if (endFailure) throw endFailure;
  }
  const iterator = iterate();
  return { close, [Symbol.asyncIterator]: () => iterator };
}
