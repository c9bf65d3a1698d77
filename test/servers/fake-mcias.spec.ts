import { promises as fs } from 'node:fs';
import * as https from 'node:https';
import { FakeMcias, startFakeMcias, totpCode } from './fake-mcias';

/** One raw HTTPS POST, trusting the fake's CA; resolves status and parsed body. */
function post(mcias: FakeMcias, ca: Buffer, path: string, body: object): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const request = https.request(`${mcias.url}${path}`, { method: 'POST', ca, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: response.statusCode ?? 0, body: text ? (JSON.parse(text) as unknown) : undefined });
      });
    });
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}

function decodePart(token: string, index: number): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[index] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe(startFakeMcias.name, () => {
  let sut: FakeMcias;
  let ca: Buffer;

  beforeAll(async () => {
    sut = await startFakeMcias({
      issuer: 'test-issuer',
      users: [
        { username: 'alice', password: 'pw', roles: ['admin'], sub: 'sub-1' },
        { username: 'carol', password: 'pw', roles: ['admin'], totpCode: '123456' },
      ],
    });
    ca = await fs.readFile(sut.caCertPath);
  });

  afterAll(async () => {
    await sut.close();
  });

  beforeEach(() => {
    sut.setDown(false);
    sut.resetCalls();
  });

  it('should issue EdDSA JWTs with the SPEC claims', async () => {
    const answer = await post(sut, ca, '/v1/auth/login', { username: 'alice', password: 'pw', service_name: 'mcp' });

    expect(answer.status).toBe(200);
    const token = (answer.body as { token: string }).token;
    expect(decodePart(token, 0)).toEqual({ alg: 'EdDSA', typ: 'JWT' });
    const claims = decodePart(token, 1);
    expect(claims).toMatchObject({ sub: 'sub-1', roles: ['admin'], iss: 'test-issuer' });
    expect(Object.keys(claims).sort()).toEqual(['exp', 'iat', 'iss', 'jti', 'roles', 'sub']);
    expect(claims.exp).toBe((claims.iat as number) + 3600);
    expect(sut.calls).toEqual({ login: 1, validate: 0, other: 0 });
  });

  it('should validate its own tokens with username and expiry', async () => {
    const answer = await post(sut, ca, '/v1/token/validate', { token: sut.tokenFor('alice', { roles: ['guest'] }) });

    expect(answer).toEqual({
      status: 200,
      body: { valid: true, sub: 'sub-1', username: 'alice', roles: ['guest'], expires_at: expect.any(String) },
    });
  });

  it('should accept a fixed TOTP code and ask for it when missing', async () => {
    const missing = await post(sut, ca, '/v1/auth/login', { username: 'carol', password: 'pw' });
    const given = await post(sut, ca, '/v1/auth/login', { username: 'carol', password: 'pw', totp_code: '123456' });

    expect(missing).toEqual({ status: 401, body: { error: 'TOTP code required', code: 'totp_required' } });
    expect(given.status).toBe(200);
    expect(sut.loginRequests.map((request) => request.totpSupplied)).toEqual([false, true]);
  });

  it('should answer 503 while down', async () => {
    sut.setDown(true);

    await expect(post(sut, ca, '/v1/token/validate', { token: 'x' })).resolves.toEqual({
      status: 503,
      body: { error: 'service unavailable' },
    });
  });

  it('should answer 404 for unknown paths and count them', async () => {
    await expect(post(sut, ca, '/v1/nope', {})).resolves.toMatchObject({ status: 404 });
    expect(sut.calls.other).toBe(1);
  });

  it('should refuse to sign for an unknown user', () => {
    expect(() => sut.tokenFor('nobody')).toThrow('unknown user');
  });
});

describe(totpCode.name, () => {
  it('should match the RFC 6238 SHA-1 test vector', () => {
    // RFC 6238 appendix B: secret "12345678901234567890" (base32 below), T = 59 s → 94287082 (8 digits).
    const secret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

    expect(totpCode(secret, new Date(59_000))).toBe('287082');
    expect(totpCode(secret, new Date(1_111_111_109_000))).toBe('081804');
  });
});
