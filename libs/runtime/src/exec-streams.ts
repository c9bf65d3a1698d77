import type { Readable, Writable } from 'node:stream';
import type { LogChunk } from './container-runtime';

/** Chunks queued before the sources are paused: what an exec session may hold unread. */
const QUEUE_HIGH_WATER = 16;

/**
 * stdout and stderr of one process as one pulled stream of chunks, in arrival order. Both
 * pipes are paused while QUEUE_HIGH_WATER chunks wait unread, so a slow consumer slows the
 * command instead of filling memory. Ends when both pipes ended.
 */
export async function* mergeOutput(sources: { stream: LogChunk['stream']; readable: Readable }[]): AsyncGenerator<LogChunk> {
  const queue: LogChunk[] = [];
  let open = sources.length;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  for (const { stream, readable } of sources) {
    readable.on('data', (data: Buffer) => {
      queue.push({ stream, data });
      if (queue.length >= QUEUE_HIGH_WATER) for (const source of sources) source.readable.pause();
      notify();
    });
    readable.once('end', () => {
      open--;
      notify();
    });
    readable.once('error', (error: Error) => {
      failure ??= error;
      open--;
      notify();
    });
  }
  try {
    for (;;) {
      const chunk = queue.shift();
      if (chunk) {
        if (queue.length < QUEUE_HIGH_WATER / 2) for (const source of sources) source.readable.resume();
        yield chunk;
        continue;
      }
      if (open <= 0) break;
      await new Promise<void>((resolve) => (wake = resolve));
    }
    if (failure) throw failure;
  } finally {
    for (const { readable } of sources) readable.removeAllListeners('data').resume();
  }
}

/** Writes to a stream and waits for 'drain' when its buffer is full; a closed stream drops the bytes. */
export async function writeWithBackpressure(writable: Writable, data: Buffer): Promise<void> {
  if (writable.destroyed || writable.writableEnded) return;
  if (writable.write(data)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      writable.off('drain', done);
      writable.off('close', done);
      writable.off('error', done);
      resolve();
    };
    writable.on('drain', done);
    writable.on('close', done);
    writable.on('error', done);
  });
}
