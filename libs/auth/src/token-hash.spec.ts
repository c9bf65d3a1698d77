import { generateToken, hashesEqual, hashToken } from './token-hash';

describe('token-hash', () => {
  describe(hashToken.name, () => {
    it('should return the lower-case hex SHA-256 of the token', () => {
      expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    });
  });

  describe(generateToken.name, () => {
    it('should return 32 random bytes as base64url', () => {
      const token = generateToken();

      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(token, 'base64url')).toHaveLength(32);
      expect(generateToken()).not.toBe(token);
    });
  });

  describe(hashesEqual.name, () => {
    it('should compare digests regardless of case', () => {
      expect(hashesEqual(hashToken('a'), hashToken('a').toUpperCase())).toBe(true);
      expect(hashesEqual(hashToken('a'), hashToken('b'))).toBe(false);
    });

    it('should be false for malformed digests', () => {
      expect(hashesEqual('abc', 'abc')).toBe(false);
    });
  });
});
