import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TlsFiles {
  caCertPath: string;
  certPath: string;
  keyPath: string;
}

/**
 * Makes a throwaway CA and a server certificate signed by it (P-256, SAN localhost and
 * 127.0.0.1 plus any extra names) with openssl, argv only. For `serve --dev-tls` and tests;
 * never for production, where the operator provides the agent's certificate.
 */
export async function makeTlsFiles(input: { dir: string; extraNames?: string[] }): Promise<TlsFiles> {
  const dir = input.dir;
  await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
  const file = (name: string) => path.join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '3650', '-subj', '/CN=mcp-agent dev CA']);
  await run('openssl', ['req', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=localhost']);
  const names = ['DNS:localhost', 'IP:127.0.0.1', ...(input.extraNames ?? []).map((n) => (/^[\d.]+$/.test(n) ? `IP:${n}` : `DNS:${n}`))];
  await fs.promises.writeFile(
    file('server.ext'),
    `subjectAltName=${names.join(',')}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`,
  );
  await run('openssl', [
    'x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial',
    '-out', file('server.crt'), '-days', '825', '-extfile', file('server.ext'),
  ]);
  for (const name of ['ca.key', 'server.key']) await fs.promises.chmod(file(name), 0o600);
  await fs.promises.rm(file('server.csr'), { force: true });
  await fs.promises.rm(file('server.ext'), { force: true });
  return { caCertPath: file('ca.crt'), certPath: file('server.crt'), keyPath: file('server.key') };
}

/** Where `serve --dev-tls` keeps its generated files: next to the database. */
export function devTlsDir(databasePath: string): string {
  return path.join(path.dirname(databasePath), 'dev-tls');
}
