import { PassThrough } from 'node:stream';
import type { LogChunk } from './container-runtime';
import { BATCH_BYTES, batchedOutput } from './exec-streams';
import { LogDemuxer } from './log-demux';

function frame(stream: 1 | 2, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** The exec socket's output batching (bench E2): fewer, larger chunks; bounded; in order; streams apart. */
describe(batchedOutput.name, () => {
  it('should join what waited into one chunk per stream run, in order, copying the bytes', async () => {
    const socket = new PassThrough();
    const demuxer = new LogDemuxer({ copy: false });
    const wire = Buffer.concat([frame(1, Buffer.from('ab')), frame(1, Buffer.from('cd')), frame(2, Buffer.from('oops')), frame(1, Buffer.from('ef'))]);
    const output = batchedOutput(socket, (data) => demuxer.push(data), { head: wire.subarray(0, 5) });
    socket.end(wire.subarray(5));
    const chunks: LogChunk[] = [];
    for await (const chunk of output) chunks.push(chunk);
    expect(chunks.map((c) => [c.stream, c.data.toString()])).toEqual([
      ['stdout', 'abcd'],
      ['stderr', 'oops'],
      ['stdout', 'ef'],
    ]);
    // Fresh copies: rewriting the wire bytes changes nothing handed on.
    wire.fill(0);
    expect(chunks[0].data.toString()).toBe('abcd');
  });

  it('should hand a piece on as soon as it comes to a consumer that waits', async () => {
    const socket = new PassThrough();
    const output = batchedOutput(socket, (data) => [{ stream: 'stdout', data }]);
    const first = output.next();
    socket.write('$ ');
    await expect(first).resolves.toEqual({ done: false, value: { stream: 'stdout', data: Buffer.from('$ ') } });
    socket.end();
    await expect(output.next()).resolves.toEqual({ done: true, value: undefined });
  });

  it('should pause the socket while a batch waits unread and never hand on more than a batch', async () => {
    const socket = new PassThrough({ highWaterMark: 16 * 1024 });
    const output = batchedOutput(socket, (data) => [{ stream: 'stdout', data }]);
    const piece = Buffer.alloc(64 * 1024, 1);
    const started = output.next();
    socket.write(piece);
    expect((await started).value!.data.length).toBe(piece.length);
    // The consumer is away: the producer writes until the socket stops taking bytes.
    let accepted = 1;
    for (let i = 0; i < 64; i++) {
      accepted++;
      // false: taken, but the socket is full: the producer waits for 'drain' now.
      if (!socket.write(piece)) break;
    }
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(socket.isPaused()).toBe(true);
    const first = await output.next();
    expect(first.value!.data.length).toBeLessThanOrEqual(BATCH_BYTES);
    expect(first.value!.data.length).toBeGreaterThan(piece.length);
    expect(accepted * piece.length).toBeLessThan(BATCH_BYTES + 4 * piece.length);
    socket.end();
    let total = piece.length + first.value!.data.length;
    for await (const chunk of output) {
      expect(chunk.data.length).toBeLessThanOrEqual(BATCH_BYTES);
      total += chunk.data.length;
    }
    expect(total).toBe(accepted * piece.length);
  });

  it('should throw a socket error unless it was ours', async () => {
    const broken = new PassThrough();
    const failing = batchedOutput(broken, (data) => [{ stream: 'stdout', data }]);
    const next = failing.next();
    broken.destroy(new Error('ECONNRESET'));
    await expect(next).rejects.toThrow('ECONNRESET');

    const closed = new PassThrough();
    const quiet = batchedOutput(closed, (data) => [{ stream: 'stdout', data }], { ignoreError: () => true });
    const end = quiet.next();
    closed.destroy(new Error('ECONNRESET'));
    await expect(end).resolves.toEqual({ done: true, value: undefined });
  });
});
