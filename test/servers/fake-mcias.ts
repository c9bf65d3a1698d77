/**
 * A fake MCIAS (SPEC §6) for tests: a real HTTPS server (TLS 1.3, its own throw-away CA, SAN
 * localhost + 127.0.0.1) on 127.0.0.1:<random port> issuing real Ed25519-signed JWTs.
 *
 *   const mcias = await startFakeMcias({
 *     users: [
 *       { username: 'alice', password: 'pw', roles: ['admin'] },
 *       { username: 'bob', password: 'pw', roles: ['admin'], totpSecret: 'JBSWY3DPEHPK3PXP' },
 *       { username: 'carol', password: 'pw', roles: ['admin'], totpCode: '123456' },
 *       { username: 'gus', password: 'pw', roles: ['guest'] },
 *       { username: 'dave', password: 'pw', roles: ['admin'], loginDenied: 'not allowed on mcp' },
 *     ],
 *   });
 *   // client config: server_url = mcias.url, ca_cert = mcias.caCertPath
 *   const token = mcias.tokenFor('alice', { ttlSeconds: 60 });  // no HTTP round trip
 *   mcias.setDown(true);            // every request → 503 (or setDown(true, 'close'): drop connections)
 *   mcias.setGarbage(true);         // every request → 200 with a non-JSON body
 *   mcias.setLatency(2000);         // answer after 2 s (for client timeouts)
 *   mcias.expireAll();              // every token issued so far now validates as expired
 *   mcias.calls.validate;           // requests per endpoint: login, validate, other
 *   mcias.loginRequests;            // [{ username, serviceName, totpSupplied }] — never passwords
 *   await mcias.close();            // in afterAll: stops the server, deletes the temp CA
 *
 * Endpoints: POST /v1/auth/login {username, password, totp_code?, service_name}
 *   → 200 {token, expires_at} | 401 {error, code: "unauthorized" | "totp_required"} | 403 {error}
 * POST /v1/token/validate {token} → 200 {valid: true, sub, username, roles, expires_at}
 *   | 200 {valid: false, reason}.
 * `totpCode(secret)` computes the current RFC 6238 code for a base32 secret.
 */
import { createHmac, generateKeyPairSync, KeyObject, randomUUID, sign, verify } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createTestPki } from './test-pki';

export interface FakeMciasUser {
  username: string;
  password: string;
  roles: string[];
  /** JWT `sub`; a UUID by default (MCIAS subjects are not usernames). */
  sub?: string;
  /** Base32 TOTP secret (RFC 6238, SHA-1, 6 digits, 30 s; ±1 step accepted). */
  totpSecret?: string;
  /** A fixed second-factor code, for tests that should not compute TOTP. */
  totpCode?: string;
  /** When set, a correct login is refused with 403 and this policy message. */
  loginDenied?: string;
}

export interface FakeMciasOptions {
  users?: FakeMciasUser[];
  /** JWT `iss`; default "fake-mcias". */
  issuer?: string;
  /** Lifetime of tokens issued by login; default 3600 s. */
  tokenTtlSeconds?: number;
  /** The server's notion of now; default the real clock. */
  now?: () => Date;
}

export interface FakeMciasCalls {
  login: number;
  validate: number;
  other: number;
}

export interface FakeMciasLoginRequest {
  username: string;
  serviceName: string | undefined;
  totpSupplied: boolean;
}

export interface FakeMcias {
  /** e.g. https://127.0.0.1:40123 */
  readonly url: string;
  readonly port: number;
  /** PEM of the CA that signed the server certificate. */
  readonly caCertPath: string;
  readonly calls: FakeMciasCalls;
  readonly loginRequests: FakeMciasLoginRequest[];
  addUser(user: FakeMciasUser): void;
  /** Signs a token for a known user without HTTP; negative ttlSeconds gives an expired one. */
  tokenFor(username: string, options?: { ttlSeconds?: number; roles?: string[] }): string;
  setDown(down: boolean, how?: 'status' | 'close'): void;
  setGarbage(garbage: boolean): void;
  setLatency(ms: number): void;
  /** Every token issued until now validates as expired from now on. */
  expireAll(): void;
  resetCalls(): void;
  close(): Promise<void>;
}

interface JwtClaims {
  sub: string;
  roles: string[];
  iss: string;
  iat: number;
  exp: number;
  jti: string;
}

const MAX_BODY_BYTES = 64 * 1024;

export async function startFakeMcias(options: FakeMciasOptions = {}): Promise<FakeMcias> {
  const pki = await createTestPki({ caName: 'fake-mcias-ca' });
  const serverCert = await pki.issue({ name: 'mcias', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const [key, cert] = await Promise.all([fs.readFile(serverCert.keyPath), fs.readFile(serverCert.certPath)]);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const issuer = options.issuer ?? 'fake-mcias';
  const ttlSeconds = options.tokenTtlSeconds ?? 3600;
  const now = options.now ?? (() => new Date());
  const users = new Map<string, FakeMciasUser & { sub: string }>();
  const issued = new Set<string>();
  const expired = new Set<string>();
  const calls: FakeMciasCalls = { login: 0, validate: 0, other: 0 };
  const loginRequests: FakeMciasLoginRequest[] = [];
  let down: false | 'status' | 'close' = false;
  let garbage = false;
  let latencyMs = 0;

  const addUser = (user: FakeMciasUser): void => {
    users.set(user.username, { ...user, roles: [...user.roles], sub: user.sub ?? randomUUID() });
  };
  (options.users ?? []).forEach(addUser);

  const issue = (username: string, ttl: number, roles?: string[]): { token: string; claims: JwtClaims } => {
    const user = users.get(username);
    if (!user) throw new Error(`fake MCIAS: unknown user ${username}`);
    const iat = Math.floor(now().getTime() / 1000);
    const claims: JwtClaims = {
      sub: user.sub,
      roles: roles ? [...roles] : [...user.roles],
      iss: issuer,
      iat,
      exp: iat + ttl,
      jti: randomUUID(),
    };
    issued.add(claims.jti);
    return { token: signJwt(claims, privateKey), claims };
  };

  const handleLogin = (body: Record<string, unknown>): [number, object] => {
    calls.login++;
    const username = typeof body.username === 'string' ? body.username : '';
    const totp = typeof body.totp_code === 'string' && body.totp_code !== '' ? body.totp_code : undefined;
    loginRequests.push({
      username,
      serviceName: typeof body.service_name === 'string' ? body.service_name : undefined,
      totpSupplied: totp !== undefined,
    });
    const user = users.get(username);
    if (!user || typeof body.password !== 'string' || body.password !== user.password) {
      return [401, { error: 'invalid username or password', code: 'unauthorized' }];
    }
    if (user.totpSecret !== undefined || user.totpCode !== undefined) {
      if (totp === undefined) return [401, { error: 'TOTP code required', code: 'totp_required' }];
      if (!totpMatches(user, totp, now())) return [401, { error: 'invalid TOTP code', code: 'unauthorized' }];
    }
    if (user.loginDenied !== undefined) return [403, { error: user.loginDenied, code: 'forbidden' }];
    const { token, claims } = issue(username, ttlSeconds);
    return [200, { token, expires_at: new Date(claims.exp * 1000).toISOString() }];
  };

  const handleValidate = (body: Record<string, unknown>): [number, object] => {
    calls.validate++;
    if (typeof body.token !== 'string') return [400, { error: 'token required' }];
    const claims = verifyJwt(body.token, publicKey);
    if (!claims || claims.iss !== issuer || !issued.has(claims.jti)) {
      return [200, { valid: false, reason: 'invalid token' }];
    }
    if (expired.has(claims.jti) || claims.exp * 1000 <= now().getTime()) {
      return [200, { valid: false, reason: 'token expired' }];
    }
    const user = [...users.values()].find((candidate) => candidate.sub === claims.sub);
    return [
      200,
      {
        valid: true,
        sub: claims.sub,
        username: user?.username,
        roles: claims.roles,
        expires_at: new Date(claims.exp * 1000).toISOString(),
      },
    ];
  };

  const sockets = new Set<Socket>();
  const server = https.createServer({ key, cert, minVersion: 'TLSv1.3' }, (req, res) => {
    void handle(req, res);
  });
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const raw = await readBody(req).catch(() => undefined);
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    if (res.destroyed) return;
    if (down === 'close') {
      req.socket.destroy();
      return;
    }
    if (down === 'status') return reply(res, 503, { error: 'service unavailable' });
    if (garbage) {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>this is not MCIAS</html>');
      return;
    }
    if (raw === undefined) return reply(res, 413, { error: 'body too large' });
    const path = (req.url ?? '').split('?')[0];
    const known = path === '/v1/auth/login' || path === '/v1/token/validate';
    if (!known) {
      calls.other++;
      return reply(res, 404, { error: 'not found' });
    }
    if (req.method !== 'POST') {
      calls.other++;
      return reply(res, 405, { error: 'method not allowed' });
    }
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      calls.other++;
      return reply(res, 400, { error: 'body is not JSON' });
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      calls.other++;
      return reply(res, 400, { error: 'body must be a JSON object' });
    }
    const record = body as Record<string, unknown>;
    const [status, answer] = path === '/v1/auth/login' ? handleLogin(record) : handleValidate(record);
    reply(res, status, answer);
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `https://127.0.0.1:${port}`,
    port,
    caCertPath: pki.caCertPath,
    calls,
    loginRequests,
    addUser,
    tokenFor: (username, tokenOptions = {}) => issue(username, tokenOptions.ttlSeconds ?? ttlSeconds, tokenOptions.roles).token,
    setDown: (value, how = 'status') => {
      down = value ? how : false;
    },
    setGarbage: (value) => {
      garbage = value;
    },
    setLatency: (ms) => {
      latencyMs = ms;
    },
    expireAll: () => {
      for (const jti of issued) expired.add(jti);
    },
    resetCalls: () => {
      calls.login = 0;
      calls.validate = 0;
      calls.other = 0;
      loginRequests.length = 0;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pki.cleanup();
    },
  };
}

/** The RFC 6238 code (SHA-1, 6 digits, 30 s steps) for a base32 secret at a time. */
export function totpCode(secretBase32: string, at: Date = new Date()): string {
  return hotp(base32Decode(secretBase32), Math.floor(at.getTime() / 1000 / 30));
}

function totpMatches(user: FakeMciasUser, code: string, at: Date): boolean {
  if (user.totpCode !== undefined && code === user.totpCode) return true;
  if (user.totpSecret === undefined) return false;
  const secret = base32Decode(user.totpSecret);
  const step = Math.floor(at.getTime() / 1000 / 30);
  return [step - 1, step, step + 1].some((candidate) => hotp(secret, candidate) === code);
}

function hotp(secret: Buffer, counter: number): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const digest = createHmac('sha1', secret).update(message).digest();
  const offset = (digest[digest.length - 1] ?? 0) & 0x0f;
  const binary = digest.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 1_000_000).padStart(6, '0');
}

function base32Decode(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = text.toUpperCase().replace(/[=\s]/g, '');
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const char of clean) {
    const index = alphabet.indexOf(char);
    if (index < 0) throw new Error('fake MCIAS: invalid base32 TOTP secret');
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

function signJwt(claims: JwtClaims, privateKey: KeyObject): string {
  const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', typ: 'JWT' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const signature = sign(null, Buffer.from(`${header}.${payload}`), privateKey).toString('base64url');
  return `${header}.${payload}.${signature}`;
}

/** The claims of a well-formed EdDSA JWT with a good signature; undefined otherwise. */
function verifyJwt(token: string, publicKey: KeyObject): JwtClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [header, payload, signature] = parts as [string, string, string];
  try {
    const head = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { alg?: unknown };
    if (head.alg !== 'EdDSA') return undefined;
    if (!verify(null, Buffer.from(`${header}.${payload}`), publicKey, Buffer.from(signature, 'base64url'))) {
      return undefined;
    }
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<JwtClaims>;
    if (
      typeof claims.sub !== 'string' ||
      !Array.isArray(claims.roles) ||
      typeof claims.iss !== 'string' ||
      typeof claims.iat !== 'number' ||
      typeof claims.exp !== 'number' ||
      typeof claims.jti !== 'string'
    ) {
      return undefined;
    }
    return claims as JwtClaims;
  } catch {
    return undefined;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('body too large'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function reply(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
