import { IdentityUnavailableError, PermissionDeniedError, UnauthenticatedError } from '@mcp/common';
import { FakeClock } from '../../../test/fakes/fake-clock';
import { FakeIdentity } from '../../../test/fakes/fake-identity';
import { IdentityClient, TokenValidation } from './identity-client';
import { TokenAuthenticator } from './token-authenticator';

describe(TokenAuthenticator.name, () => {
  let clock: FakeClock;
  let identity: FakeIdentity;
  let sut: TokenAuthenticator;

  beforeEach(() => {
    clock = new FakeClock();
    identity = new FakeIdentity()
      .withToken('tok-admin', { username: 'alice', roles: ['admin'] })
      .withToken('tok-viewer', { username: 'vic', roles: ['viewer'] })
      .withToken('tok-guest', { username: 'gus', roles: ['guest'] })
      .withToken('tok-expired', { username: 'old', roles: ['admin'], expiresAt: new Date('2025-12-31T23:59:59Z') });
    sut = new TokenAuthenticator({ identity, allowedRoles: ['admin'], clock });
  });

  describe('authenticate', () => {
    it('should return the caller for a valid admin token', async () => {
      await expect(sut.authenticate('Bearer tok-admin')).resolves.toEqual({
        subject: 'alice',
        username: 'alice',
        roles: ['admin'],
      });
    });

    it('should accept the scheme in any case', async () => {
      await expect(sut.authenticate('bearer tok-admin')).resolves.toMatchObject({ username: 'alice' });
    });

    it.each([
      ['missing', undefined, 'missing bearer token'],
      ['empty', '', 'missing bearer token'],
      ['another scheme', 'Basic dXNlcjpwYXNz', 'malformed authorization header'],
      ['no token', 'Bearer', 'malformed authorization header'],
      ['blank token', 'Bearer   ', 'malformed authorization header'],
      ['two tokens', 'Bearer a b', 'malformed authorization header'],
      ['a bare token', 'tok-admin', 'malformed authorization header'],
    ])('should reject a %s header as unauthenticated', async (_case, header, message) => {
      const error = await sut.authenticate(header).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(UnauthenticatedError);
      expect((error as Error).message).toBe(message);
      expect(identity.validatedTokens).toEqual([]);
    });

    it('should reject an unknown token as unauthenticated', async () => {
      await expect(sut.authenticate('Bearer tok-nobody')).rejects.toBeInstanceOf(UnauthenticatedError);
    });

    it('should reject an expired token as unauthenticated even when the identity service says valid', async () => {
      const error = await sut.authenticate('Bearer tok-expired').catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(UnauthenticatedError);
      expect((error as Error).message).toContain('expired');
    });

    it('should deny a valid caller without an allowed role', async () => {
      await expect(sut.authenticate('Bearer tok-viewer')).rejects.toBeInstanceOf(PermissionDeniedError);
    });

    it('should deny a guest even when guest is listed as allowed', async () => {
      sut = new TokenAuthenticator({ identity, allowedRoles: ['admin', 'guest'], clock });

      await expect(sut.authenticate('Bearer tok-guest')).rejects.toBeInstanceOf(PermissionDeniedError);
      expect(sut.allowedRoles).toEqual(['admin']);
    });

    it('should allow a configured non-default role', async () => {
      sut = new TokenAuthenticator({ identity, allowedRoles: ['viewer'], clock });

      await expect(sut.authenticate('Bearer tok-viewer')).resolves.toMatchObject({ username: 'vic' });
      await expect(sut.authenticate('Bearer tok-admin')).rejects.toBeInstanceOf(PermissionDeniedError);
    });

    it('should default to the admin role when the list is empty', async () => {
      sut = new TokenAuthenticator({ identity, allowedRoles: [], clock });

      await expect(sut.authenticate('Bearer tok-admin')).resolves.toMatchObject({ username: 'alice' });
      await expect(sut.authenticate('Bearer tok-viewer')).rejects.toBeInstanceOf(PermissionDeniedError);
    });

    it('should fail closed with IdentityUnavailableError when the identity service is down', async () => {
      identity.down = true;

      await expect(sut.authenticate('Bearer tok-admin')).rejects.toBeInstanceOf(IdentityUnavailableError);
    });

    it('should turn an unexpected adapter failure into IdentityUnavailableError, never a caller', async () => {
      class BrokenIdentity extends IdentityClient {
        validate(): Promise<TokenValidation> {
          return Promise.reject(new TypeError('boom'));
        }
      }
      sut = new TokenAuthenticator({ identity: new BrokenIdentity(), allowedRoles: ['admin'], clock });

      await expect(sut.authenticate('Bearer tok-admin')).rejects.toBeInstanceOf(IdentityUnavailableError);
    });

    it('should pass only the token, not the scheme, to the identity service', async () => {
      await sut.authenticate('Bearer tok-admin');

      expect(identity.validatedTokens).toEqual(['tok-admin']);
    });
  });
});
