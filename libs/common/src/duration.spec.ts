import { formatUptime, parseDuration } from './duration';

describe('duration', () => {
  describe(parseDuration.name, () => {
    it.each([
      ['5s', 5000],
      ['10m', 600000],
      ['24h', 86400000],
      ['30d', 2592000000],
      ['500ms', 500],
      ['1h30m', 5400000],
    ])('should parse %s', (text, ms) => {
      expect(parseDuration(text)).toBe(ms);
    });

    it.each(['', '5', 's', '5x', '-5s', '5 s', '1.5h'])('should reject %p', (text) => {
      expect(parseDuration(text)).toBeUndefined();
    });
  });

  describe(formatUptime.name, () => {
    it.each([
      [12_000, '12s'],
      [(23 * 3600 + 57 * 60) * 1000, '23h57m'],
      [(2 * 86400 + 16 * 3600 + 5) * 1000, '2d16h'],
      [(5 * 60 + 3) * 1000, '5m3s'],
      [-5, '0s'],
    ])('should format %d ms as %s', (ms, text) => {
      expect(formatUptime(ms)).toBe(text);
    });
  });
});
