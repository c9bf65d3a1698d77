import { LogDemuxer } from './log-demux';

function frame(type: number, text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

function asText(chunks: ReturnType<LogDemuxer['push']>): Array<[string, string]> {
  return chunks.map((chunk) => [chunk.stream, chunk.data.toString('utf8')]);
}

describe(LogDemuxer.name, () => {
  describe('push', () => {
    it('should split frames packed into one chunk by stream', () => {
      const sut = new LogDemuxer();

      const chunks = sut.push(Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n'), frame(1, 'more\n')]));

      expect(asText(chunks)).toEqual([
        ['stdout', 'out\n'],
        ['stderr', 'err\n'],
        ['stdout', 'more\n'],
      ]);
      expect(sut.pendingBytes).toBe(0);
    });

    it('should reassemble frames split inside the header and inside the payload', () => {
      const sut = new LogDemuxer();
      const bytes = Buffer.concat([frame(2, 'hello stderr\n'), frame(1, 'x')]);

      const results = [bytes.subarray(0, 3), bytes.subarray(3, 10), bytes.subarray(10, 22), bytes.subarray(22)].map(
        (part) => asText(sut.push(part)),
      );

      expect(results).toEqual([[], [], [['stderr', 'hello stderr\n']], [['stdout', 'x']]]);
      expect(sut.pendingBytes).toBe(0);
    });

    it('should keep an unfinished frame pending', () => {
      const sut = new LogDemuxer();

      const chunks = sut.push(frame(1, 'abcdef').subarray(0, 11));

      expect(chunks).toEqual([]);
      expect(sut.pendingBytes).toBe(11);
    });

    it('should skip empty frames and treat stdin frames as stdout', () => {
      const sut = new LogDemuxer();

      const chunks = sut.push(Buffer.concat([frame(1, ''), frame(0, 'in')]));

      expect(asText(chunks)).toEqual([['stdout', 'in']]);
    });

    it('should not share memory with the buffers it was given', () => {
      const sut = new LogDemuxer();
      const bytes = frame(1, 'abc');

      const [chunk] = sut.push(bytes);
      bytes.fill(0);

      expect(chunk.data.toString('utf8')).toBe('abc');
    });
  });
});
