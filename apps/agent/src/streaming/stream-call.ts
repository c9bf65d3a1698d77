import { once } from 'node:events';
import { Metadata, type ServerWritableStream } from '@grpc/grpc-js';
import { Observable } from 'rxjs';

/**
 * Server-streaming handlers write to the grpc-js call themselves (awaiting 'drain'), because
 * Nest's Observable path does not pause for backpressure and would buffer a whole file.
 * Nest still needs an Observable back: this one emits nothing, completes when `work` is done
 * (Nest then ends the call) and errors with its failure (the global filter maps it). When the
 * client cancels, Nest unsubscribes and `work`'s signal aborts.
 */
export function streamWork(work: (signal: AbortSignal) => Promise<void>): Observable<never> {
  return new Observable<never>((subscriber) => {
    const controller = new AbortController();
    work(controller.signal).then(
      () => subscriber.complete(),
      (error: unknown) => subscriber.error(error),
    );
    return () => controller.abort();
  });
}

/**
 * Nest passes the call as the third argument of a server-streaming handler. Its response
 * headers go out at once (grpc-js would wait for the first message): a client following a
 * quiet stream (`logs -f`, `events -f`) knows the stream is open, and bounds only that wait.
 */
export function requireCall<T extends Pick<ServerWritableStream<unknown, unknown>, 'sendMetadata'>>(call: T | undefined): T {
  // An unknown error: the filter answers INTERNAL and logs this.
  if (!call) throw new Error('streaming handler called without its gRPC call');
  call.sendMetadata(new Metadata());
  return call;
}

/** The client cancelled (or the agent is shutting down): nothing more is sent. */
export class StreamCancelledError extends Error {
  constructor() {
    super('the client cancelled the call');
    this.name = StreamCancelledError.name;
  }
}

/** Writes one message and, when the call's buffer is full, waits for it to drain (backpressure). */
export async function writeMessage<T>(call: ServerWritableStream<unknown, T>, message: T, signal: AbortSignal, cancelledError: () => Error = () => new StreamCancelledError()): Promise<void> {
  if (signal.aborted) throw cancelledError();
  if (!call.write(message)) {
    await once(call, 'drain', { signal });
  }
}

/**
 * What a server-streaming service writes to: domain values, which the controller's mapper turns
 * into the RPC's messages. `send` waits for the call to drain (backpressure) and throws the
 * cancelled error once `signal` aborted (the client cancelled, or the agent shuts down).
 */
export interface StreamSink<T> {
  readonly signal: AbortSignal;
  send(value: T): Promise<void>;
}

/**
 * A server-streaming handler's answer: `work` writes domain values to a sink over the call
 * (`map` makes each one a message), with `streamWork`'s completion and `requireCall`'s headers.
 */
export function serverStream<T, M>(
  call: ServerWritableStream<unknown, M> | undefined,
  map: (value: T) => M,
  work: (sink: StreamSink<T>) => Promise<void>,
  cancelledError: () => Error = () => new StreamCancelledError(),
): Observable<never> {
  return streamWork(async (parent) => {
    const ready = requireCall(call);
    const cancelled = cancelSignal(ready, parent, cancelledError);
    try {
      await work({ signal: cancelled.signal, send: (value) => writeMessage(ready, map(value), cancelled.signal, cancelledError) });
    } finally {
      cancelled.dispose();
    }
  });
}

type Cancellable = { on(event: 'cancelled', listener: () => void): unknown; off(event: 'cancelled', listener: () => void): unknown; cancelled?: boolean };

/**
 * An AbortSignal that fires when the client cancels the call (or `parent` aborts); its
 * reason is `cancelledError()` (StreamCancelledError by default).
 */
export function cancelSignal(call: Cancellable, parent?: AbortSignal, cancelledError: () => Error = () => new StreamCancelledError()): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const abort = (): void => controller.abort(cancelledError());
  if (call.cancelled || parent?.aborted) abort();
  call.on('cancelled', abort);
  parent?.addEventListener('abort', abort, { once: true });
  return {
    signal: controller.signal,
    dispose: () => {
      call.off('cancelled', abort);
      parent?.removeEventListener('abort', abort);
    },
  };
}

/** The next message of a client stream, or undefined at its end; rejects when the signal aborts. */
export async function nextMessage<T>(messages: AsyncIterator<T>, signal: AbortSignal, cancelledError: () => Error = () => new StreamCancelledError()): Promise<T | undefined> {
  if (signal.aborted) throw cancelledError();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(cancelledError());
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const result = await Promise.race([messages.next(), aborted]);
    return result.done ? undefined : result.value;
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}
