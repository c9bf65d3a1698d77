import type { LogChunk } from './container-runtime';

const HEADER_BYTES = 8;
const STDERR = 2;

/**
 * Splits the multiplexed log stream the libpod (and Docker) API sends for a container without
 * a TTY: frames of an 8-byte header (stream type: 0 stdin, 1 stdout, 2 stderr; three zero
 * bytes; big-endian payload length) followed by the payload. Frames may arrive split across
 * or packed into network chunks in any way; `push` returns every frame completed so far.
 */
export class LogDemuxer {
  private pending: Buffer = Buffer.alloc(0);

  /** `copy: false`: payloads share the pushed buffers (for a caller that copies them on, e.g. batchedOutput). */
  constructor(private readonly options: { copy?: boolean } = {}) {}

  push(data: Buffer): LogChunk[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, data]) : data;
    const chunks: LogChunk[] = [];
    while (this.pending.length >= HEADER_BYTES) {
      const length = this.pending.readUInt32BE(4);
      if (this.pending.length < HEADER_BYTES + length) break;
      const payload = this.pending.subarray(HEADER_BYTES, HEADER_BYTES + length);
      if (length > 0) {
        chunks.push({ stream: this.pending[0] === STDERR ? 'stderr' : 'stdout', data: this.options.copy === false ? payload : Buffer.from(payload) });
      }
      this.pending = this.pending.subarray(HEADER_BYTES + length);
    }
    return chunks;
  }

  /** Bytes of an unfinished frame; non-zero at the end of a stream means it was cut off. */
  get pendingBytes(): number {
    return this.pending.length;
  }
}
