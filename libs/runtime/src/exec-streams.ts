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

/** Bytes an exec session's socket may have queued unread before it is paused; also the largest chunk handed on. */
export const BATCH_BYTES = 256 * 1024;

/**
 * A hijacked exec socket's output as a pulled stream of chunks, batched: podman frames an
 * exec's output in 8 KiB pieces, and handing each on as its own gRPC message made the message
 * overhead the limit of exec throughput (bench E2). Whatever arrived while the consumer was
 * busy is handed on at once — consecutive bytes of one stream joined, up to BATCH_BYTES — so a
 * fast consumer still gets each piece as soon as it comes (an interactive shell's echo is not
 * held back), and a slow one gets fewer, larger chunks. The socket is paused while
 * BATCH_BYTES wait unread, so memory stays bounded and a slow client slows the command.
 * `split` turns the socket's bytes into chunks (the demuxer, or all stdout for a TTY); its
 * chunks may share the socket's buffers: every chunk handed on is a fresh copy. A socket
 * error is thrown by the iteration, unless `ignoreError()` says it was ours (closed by us).
 */
export async function* batchedOutput(
  socket: Readable,
  split: (data: Buffer) => LogChunk[],
  options: { head?: Buffer; ignoreError?: () => boolean } = {},
): AsyncGenerator<LogChunk> {
  const queue: LogChunk[] = options.head?.length ? split(options.head) : [];
  let queued = queue.reduce((total, chunk) => total + chunk.data.length, 0);
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  const onData = (data: Buffer): void => {
    for (const chunk of split(data)) {
      queue.push(chunk);
      queued += chunk.data.length;
    }
    if (queued >= BATCH_BYTES) socket.pause();
    notify();
  };
  const onEnd = (): void => {
    ended = true;
    notify();
  };
  const onError = (error: Error): void => {
    failure ??= error;
    ended = true;
    notify();
  };
  socket.on('data', onData);
  socket.once('end', onEnd);
  socket.once('close', onEnd);
  socket.once('error', onError);
  try {
    for (;;) {
      if (queue.length) {
        const stream = queue[0].stream;
        const parts: Buffer[] = [];
        let bytes = 0;
        while (queue.length && queue[0].stream === stream && bytes + queue[0].data.length <= BATCH_BYTES) {
          const chunk = queue.shift()!;
          parts.push(chunk.data);
          bytes += chunk.data.length;
        }
        if (parts.length === 0) {
          // One piece larger than a batch: on its own.
          const chunk = queue.shift()!;
          parts.push(chunk.data);
          bytes = chunk.data.length;
        }
        queued -= bytes;
        if (queued < BATCH_BYTES && socket.isPaused()) socket.resume();
        yield { stream, data: Buffer.concat(parts, bytes) };
        continue;
      }
      if (ended) break;
      await new Promise<void>((resolve) => (wake = resolve));
    }
    if (failure && !options.ignoreError?.()) throw failure;
  } finally {
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.off('close', onEnd);
    socket.off('error', onError);
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
