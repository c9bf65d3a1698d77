import { Observable } from 'rxjs';
import { InternalError } from './transfer-errors';

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

/** Nest passes the call as the third argument of a server-streaming handler. */
export function requireCall<T>(call: T | undefined): T {
  if (!call) throw new InternalError('streaming handler called without its gRPC call');
  return call;
}
