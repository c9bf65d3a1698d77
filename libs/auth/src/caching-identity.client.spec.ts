import { IdentityUnavailableError } from '@mcp/common';
import { FakeClock } from '../../../test/fakes/fake-clock';
import { FakeIdentity } from '../../../test/fakes/fake-identity';
import { CachingIdentityClient } from './caching-identity.client';
import { hashToken } from './token-hash';

describe(CachingIdentityClient.name, () => {
  let clock: FakeClock;
  let inner: FakeIdentity;
  let sut: CachingIdentityClient;

  beforeEach(() => {
    clock = new FakeClock();
    inner = new FakeIdentity().withToken('tok-alice', { username: 'alice', roles: ['admin'] });
    sut = new CachingIdentityClient({ inner, clock });
  });

  describe('validate', () => {
    it('should answer a repeated token from the cache within 30 s', async () => {
      const first = await sut.validate('tok-alice');
      clock.advance(29_999);
      const second = await sut.validate('tok-alice');

      expect(first).toEqual({ valid: true, caller: { subject: 'alice', username: 'alice', roles: ['admin'] } });
      expect(second).toEqual(first);
      expect(inner.validatedTokens).toEqual(['tok-alice']);
    });

    it('should ask the identity service again once the entry is 30 s old', async () => {
      await sut.validate('tok-alice');
      clock.advance(30_000);
      await sut.validate('tok-alice');

      expect(inner.validatedTokens).toEqual(['tok-alice', 'tok-alice']);
    });

    it('should notice a revocation after the cache entry expires', async () => {
      await sut.validate('tok-alice');
      inner.revoke('tok-alice');
      clock.advance(30_000);

      await expect(sut.validate('tok-alice')).resolves.toEqual({ valid: false, reason: 'unknown token' });
    });

    it('should not cache an invalid answer', async () => {
      await sut.validate('tok-unknown');
      await sut.validate('tok-unknown');

      expect(inner.validatedTokens).toEqual(['tok-unknown', 'tok-unknown']);
      expect(sut.size).toBe(0);
    });

    it('should not cache unavailability and never answer valid while the service is down', async () => {
      inner.down = true;
      await expect(sut.validate('tok-alice')).rejects.toBeInstanceOf(IdentityUnavailableError);
      await expect(sut.validate('tok-alice')).rejects.toBeInstanceOf(IdentityUnavailableError);

      inner.down = false;
      await expect(sut.validate('tok-alice')).resolves.toMatchObject({ valid: true });
      expect(inner.validatedTokens).toHaveLength(3);
    });

    it('should not serve an entry older than 30 s while the service is down (fail closed)', async () => {
      await sut.validate('tok-alice');
      clock.advance(30_000);
      inner.down = true;

      await expect(sut.validate('tok-alice')).rejects.toBeInstanceOf(IdentityUnavailableError);
      await expect(sut.validate('tok-alice')).rejects.toBeInstanceOf(IdentityUnavailableError);
      expect(sut.size).toBe(0);
    });

    it('should keep the SHA-256 of a token as its key, never the token itself', async () => {
      await sut.validate('tok-alice');

      // White-box on purpose: nothing else can tell where the raw token would sit in memory.
      const keys = [...(sut as unknown as { cache: Map<string, unknown> }).cache.keys()];
      expect(keys).toEqual([hashToken('tok-alice')]);
      expect(keys.join('')).not.toContain('tok-alice');
    });

    it('should reject a cached caller whose token expiry has passed, without asking again', async () => {
      inner.withToken('tok-short', { username: 'bob', roles: ['admin'], expiresAt: new Date(clock.now().getTime() + 60_000) });
      sut = new CachingIdentityClient({ inner, clock, ttlMs: 120_000 });
      await expect(sut.validate('tok-short')).resolves.toMatchObject({ valid: true });

      clock.advance(60_000);

      await expect(sut.validate('tok-short')).resolves.toEqual({ valid: false, reason: 'token expired' });
      expect(inner.validatedTokens).toEqual(['tok-short']);
    });

    it('should reject a fresh answer whose expiry is already past', async () => {
      inner.withToken('tok-old', { username: 'bob', roles: ['admin'], expiresAt: new Date(clock.now().getTime() - 1) });

      await expect(sut.validate('tok-old')).resolves.toEqual({ valid: false, reason: 'token expired' });
      expect(sut.size).toBe(0);
    });

    it('should key entries by token so different tokens do not share an answer', async () => {
      inner.withToken('tok-bob', { username: 'bob', roles: ['viewer'] });

      const alice = await sut.validate('tok-alice');
      const bob = await sut.validate('tok-bob');

      expect(alice).toMatchObject({ caller: { username: 'alice' } });
      expect(bob).toMatchObject({ caller: { username: 'bob', roles: ['viewer'] } });
    });

    it('should not let a caller mutate the cached answer', async () => {
      const first = await sut.validate('tok-alice');
      if (first.valid) first.caller.roles.push('root');

      await expect(sut.validate('tok-alice')).resolves.toMatchObject({ caller: { roles: ['admin'] } });
    });

    it('should drop the oldest entry when full', async () => {
      inner.withToken('tok-bob', { username: 'bob', roles: ['admin'] });
      sut = new CachingIdentityClient({ inner, clock, maxEntries: 1 });

      await sut.validate('tok-alice');
      await sut.validate('tok-bob');
      await sut.validate('tok-alice');

      expect(sut.size).toBe(1);
      expect(inner.validatedTokens).toEqual(['tok-alice', 'tok-bob', 'tok-alice']);
    });
  });
});
