import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * A tiny OCI token server (the "realm" of the docker registry token flow): checks HTTP basic
 * credentials and answers with an RS256 JWT the registry trusts. docker-registry 2.8 accepts
 * a token whose header carries the signing certificate in `x5c` when that certificate chains
 * to its `rootcertbundle`; the certificate here is self-signed and is the bundle itself.
 */
export interface TokenIssuer {
  /** The realm URL for the registry's `auth.token.realm`. */
  realm: string;
  /** PEM bundle for the registry's `auth.token.rootcertbundle`. */
  rootCertBundle: string;
  service: string;
  issuer: string;
  /** Replace a user's password (credential rotation). */
  setPassword(username: string, password: string): void;
  /** Basic-auth usernames the issuer saw, in order (to prove the exchange happened). */
  readonly requests: Array<{ username?: string; scopes: string[] }>;
  close(): Promise<void>;
}

export interface StartTokenIssuerOptions {
  dir: string;
  users: Record<string, string>;
  service?: string;
  issuer?: string;
}

function base64url(input: Buffer | string): string {
  return Buffer.from(input).toString('base64url');
}

function parseBasic(header: string | undefined): { username: string; password: string } | undefined {
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function accessFor(scopes: string[]): Array<{ type: string; name: string; actions: string[] }> {
  return scopes.flatMap((scope) => {
    // repository:name/with/slashes:pull,push — the name may not contain ':' but the actions follow the last one.
    const first = scope.indexOf(':');
    const last = scope.lastIndexOf(':');
    if (first < 0 || last === first) return [];
    return [{ type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(',') }];
  });
}

export async function startTokenIssuer(options: StartTokenIssuerOptions): Promise<TokenIssuer> {
  const service = options.service ?? 'mcp-test-registry';
  const issuer = options.issuer ?? 'mcp-test-token-issuer';
  const keyPath = path.join(options.dir, 'token-signer.key');
  const certPath = path.join(options.dir, 'token-signer.pem');
  await execFileAsync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2',
    '-subj', '/CN=mcp-test-token-issuer', '-keyout', keyPath, '-out', certPath,
  ]);
  const key = crypto.createPrivateKey(fs.readFileSync(keyPath));
  const certDer = new crypto.X509Certificate(fs.readFileSync(certPath)).raw;
  const users = new Map(Object.entries(options.users));
  const requests: TokenIssuer['requests'] = [];

  const sign = (subject: string, scopes: string[]): string => {
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', x5c: [certDer.toString('base64')] };
    const claims = {
      iss: issuer,
      sub: subject,
      aud: service,
      iat: now,
      nbf: now - 10,
      exp: now + 300,
      jti: crypto.randomUUID(),
      access: accessFor(scopes),
    };
    const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    return `${input}.${base64url(crypto.sign('sha256', Buffer.from(input), key))}`;
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const basic = parseBasic(req.headers.authorization);
    const scopes = url.searchParams.getAll('scope').flatMap((scope) => scope.split(' ')).filter((s) => s);
    requests.push({ username: basic?.username, scopes });
    if (url.pathname !== '/token' || !basic || users.get(basic.username) !== basic.password) {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="mcp-test"' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'invalid credentials' }] }));
      return;
    }
    const token = sign(basic.username, scopes);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    realm: `http://127.0.0.1:${port}/token`,
    rootCertBundle: certPath,
    service,
    issuer,
    requests,
    setPassword(username, password) {
      users.set(username, password);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
