import { promises as fs } from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  IdentityUnavailableError,
  InvalidArgumentError,
  PermissionDeniedError,
  UnauthenticatedError,
} from '@mcp/common';
import { FakeMcias, startFakeMcias, totpCode } from '../../../test/servers/fake-mcias';
import { createTestPki, TestPki } from '../../../test/servers/test-pki';
import { TotpRequiredError } from './auth-errors';
import { MciasHttpClient } from './mcias-http.client';

const TOTP_SECRET = 'JBSWY3DPEHPK3PXP';

describe(MciasHttpClient.name, () => {
  let mcias: FakeMcias;
  let sut: MciasHttpClient;

  beforeAll(async () => {
    mcias = await startFakeMcias({
      users: [
        { username: 'alice', password: 'correct horse', roles: ['admin'], sub: 'sub-alice' },
        { username: 'bob', password: 'battery staple', roles: ['admin'], totpSecret: TOTP_SECRET },
        { username: 'dave', password: 'pw', roles: ['admin'], loginDenied: 'mcp is closed to dave' },
      ],
    });
  });

  afterAll(async () => {
    await mcias.close();
  });

  beforeEach(() => {
    mcias.setDown(false);
    mcias.setGarbage(false);
    mcias.setLatency(0);
    mcias.resetCalls();
    sut = new MciasHttpClient({ serverUrl: mcias.url, caCertPath: mcias.caCertPath, serviceName: 'mcp' });
  });

  describe('constructor', () => {
    it('should refuse a plain-http server URL', () => {
      expect(() => new MciasHttpClient({ serverUrl: 'http://127.0.0.1:1', serviceName: 'mcp' })).toThrow(
        InvalidArgumentError,
      );
    });

    it('should refuse an unreadable CA file', () => {
      expect(
        () => new MciasHttpClient({ serverUrl: mcias.url, caCertPath: '/nonexistent/ca.pem', serviceName: 'mcp' }),
      ).toThrow(InvalidArgumentError);
    });
  });

  describe('login', () => {
    it('should return a token that then validates, sending the service name', async () => {
      const result = await sut.login({ username: 'alice', password: 'correct horse' });

      expect(result.token.split('.')).toHaveLength(3);
      expect(result.expiresAt).toBeInstanceOf(Date);
      expect(mcias.loginRequests).toEqual([{ username: 'alice', serviceName: 'mcp', totpSupplied: false }]);
      await expect(sut.validate(result.token)).resolves.toMatchObject({
        valid: true,
        caller: { subject: 'sub-alice', username: 'alice', roles: ['admin'] },
      });
    });

    it('should reject a wrong password as unauthenticated', async () => {
      const error = await sut.login({ username: 'alice', password: 'wrong' }).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(UnauthenticatedError);
      expect(error).not.toBeInstanceOf(TotpRequiredError);
      expect((error as Error).message).toBe('invalid username or password');
    });

    it('should reject an unknown user as unauthenticated', async () => {
      await expect(sut.login({ username: 'mallory', password: 'x' })).rejects.toBeInstanceOf(UnauthenticatedError);
    });

    it('should ask for a TOTP code with TotpRequiredError', async () => {
      await expect(sut.login({ username: 'bob', password: 'battery staple' })).rejects.toBeInstanceOf(
        TotpRequiredError,
      );
    });

    it('should log in with the right TOTP code', async () => {
      const result = await sut.login({ username: 'bob', password: 'battery staple', totpCode: totpCode(TOTP_SECRET) });

      await expect(sut.validate(result.token)).resolves.toMatchObject({ valid: true, caller: { username: 'bob' } });
    });

    it('should reject a wrong TOTP code as unauthenticated, not as "code required"', async () => {
      const wrong = totpCode(TOTP_SECRET) === '000000' ? '111111' : '000000';
      const error = await sut
        .login({ username: 'bob', password: 'battery staple', totpCode: wrong })
        .catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(UnauthenticatedError);
      expect(error).not.toBeInstanceOf(TotpRequiredError);
    });

    it('should report a policy denial as permission denied with the policy message', async () => {
      const error = await sut.login({ username: 'dave', password: 'pw' }).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(PermissionDeniedError);
      expect((error as Error).message).toContain('mcp is closed to dave');
    });

    it('should report a down server as unavailable', async () => {
      mcias.setDown(true);

      await expect(sut.login({ username: 'alice', password: 'correct horse' })).rejects.toBeInstanceOf(
        IdentityUnavailableError,
      );
    });
  });

  describe('validate', () => {
    it('should report an expired token as invalid', async () => {
      const token = mcias.tokenFor('alice', { ttlSeconds: -10 });

      await expect(sut.validate(token)).resolves.toEqual({ valid: false, reason: 'token expired' });
    });

    it('should report a token invalid after the server expires it', async () => {
      const token = mcias.tokenFor('alice');
      await expect(sut.validate(token)).resolves.toMatchObject({ valid: true });

      mcias.expireAll();

      await expect(sut.validate(token)).resolves.toMatchObject({ valid: false });
    });

    it('should report a garbage token as invalid', async () => {
      await expect(sut.validate('not-a-jwt')).resolves.toMatchObject({ valid: false });
    });

    it('should report a token with a signature from another token as invalid', async () => {
      const [header, payload] = mcias.tokenFor('alice').split('.');
      const signature = mcias.tokenFor('alice').split('.')[2];

      await expect(sut.validate(`${header}.${payload}.${signature}`)).resolves.toMatchObject({ valid: false });
    });

    it('should carry the expiry time from MCIAS', async () => {
      const before = Date.now();
      const token = mcias.tokenFor('alice', { ttlSeconds: 120 });

      const result = await sut.validate(token);

      expect(result.valid && result.caller.expiresAt!.getTime()).toBeGreaterThanOrEqual(before + 118_000);
    });

    it('should fail closed when MCIAS answers 503', async () => {
      mcias.setDown(true);

      await expect(sut.validate(mcias.tokenFor('alice'))).rejects.toBeInstanceOf(IdentityUnavailableError);
      expect(mcias.calls.validate).toBe(0);
    });

    it('should fail closed when MCIAS drops the connection', async () => {
      mcias.setDown(true, 'close');

      await expect(sut.validate(mcias.tokenFor('alice'))).rejects.toBeInstanceOf(IdentityUnavailableError);
    });

    it('should fail closed when MCIAS answers with something that is not JSON', async () => {
      mcias.setGarbage(true);

      await expect(sut.validate(mcias.tokenFor('alice'))).rejects.toBeInstanceOf(IdentityUnavailableError);
    });

    it('should fail closed when MCIAS does not answer in time', async () => {
      mcias.setLatency(1_000);
      sut = new MciasHttpClient({
        serverUrl: mcias.url,
        caCertPath: mcias.caCertPath,
        serviceName: 'mcp',
        timeoutMs: 100,
      });

      const error = await sut.validate(mcias.tokenFor('alice')).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(IdentityUnavailableError);
      expect((error as Error).message).toContain('did not answer within 100 ms');
    });

    it('should fail closed when nothing listens', async () => {
      sut = new MciasHttpClient({ serverUrl: 'https://127.0.0.1:1', caCertPath: mcias.caCertPath, serviceName: 'mcp' });

      await expect(sut.validate('anything')).rejects.toBeInstanceOf(IdentityUnavailableError);
    });
  });

  describe('TLS', () => {
    let otherPki: TestPki;

    beforeAll(async () => {
      otherPki = await createTestPki({ caName: 'someone-else' });
    });

    afterAll(async () => {
      await otherPki.cleanup();
    });

    it('should refuse the server without its CA', async () => {
      sut = new MciasHttpClient({ serverUrl: mcias.url, serviceName: 'mcp' });

      const error = await sut.validate(mcias.tokenFor('alice')).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(IdentityUnavailableError);
      expect((error as Error).message).toContain('TLS verification failed');
      expect(mcias.calls.validate).toBe(0);
    });

    it('should refuse the server when trusting a different CA', async () => {
      sut = new MciasHttpClient({ serverUrl: mcias.url, caCertPath: otherPki.caCertPath, serviceName: 'mcp' });

      await expect(sut.validate(mcias.tokenFor('alice'))).rejects.toBeInstanceOf(IdentityUnavailableError);
      expect(mcias.calls.validate).toBe(0);
    });

    it('should verify the name localhost as well as 127.0.0.1', async () => {
      sut = new MciasHttpClient({
        serverUrl: `https://localhost:${mcias.port}`,
        caCertPath: mcias.caCertPath,
        serviceName: 'mcp',
      });

      await expect(sut.validate(mcias.tokenFor('alice'))).resolves.toMatchObject({ valid: true });
    });

    it('should keep a path prefix of the server URL', async () => {
      sut = new MciasHttpClient({ serverUrl: `${mcias.url}/prefix/`, caCertPath: mcias.caCertPath, serviceName: 'mcp' });

      // The fake serves only the root paths, so a kept prefix shows up as a 404 → unavailable.
      await expect(sut.validate('x')).rejects.toThrow(/HTTP 404/);
      expect(mcias.calls.other).toBe(1);
    });

    it('should refuse a server that offers only TLS 1.2', async () => {
      const cert = await otherPki.issue({ name: 'tls12' });
      const server = https.createServer(
        { key: await fs.readFile(cert.keyPath), cert: await fs.readFile(cert.certPath), maxVersion: 'TLSv1.2' },
        (_req, res) => res.end('{"valid":true,"sub":"x","roles":["admin"]}'),
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const port = (server.address() as AddressInfo).port;
        sut = new MciasHttpClient({
          serverUrl: `https://127.0.0.1:${port}`,
          caCertPath: otherPki.caCertPath,
          serviceName: 'mcp',
        });

        await expect(sut.validate('x')).rejects.toBeInstanceOf(IdentityUnavailableError);
      } finally {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  });
});
