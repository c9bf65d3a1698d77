/**
 * Throw-away PKI for tests: a CA and server certificates signed by it, made with the real
 * `openssl` binary (argv arrays, no shell) in a temp directory.
 *
 *   const pki = await createTestPki();                       // CA only, in a fresh temp dir
 *   const cert = await pki.issue({ name: 'agent' });         // SAN localhost + 127.0.0.1
 *   // cert.certPath, cert.keyPath, pki.caCertPath; await pki.cleanup() in afterAll
 *
 * Keys are EC P-256 (fast to generate). Certificates are valid for two days.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface IssuedCert {
  certPath: string;
  keyPath: string;
}

export interface IssueOptions {
  /** File stem: `<name>.pem` / `<name>.key`. */
  name: string;
  /** Subject common name; default the first DNS name. */
  commonName?: string;
  /** Default ['localhost']. */
  dnsNames?: string[];
  /** Default ['127.0.0.1']. */
  ipAddresses?: string[];
  /** 'server' (default) or 'client' extended key usage. */
  usage?: 'server' | 'client';
}

export interface TestPki {
  dir: string;
  caCertPath: string;
  caKeyPath: string;
  issue(options: IssueOptions): Promise<IssuedCert>;
  /** Removes the directory (only when createTestPki made it). */
  cleanup(): Promise<void>;
}

export async function createTestPki(options: { dir?: string; caName?: string } = {}): Promise<TestPki> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'mcp-test-pki-')));
  await fs.mkdir(dir, { recursive: true });
  const caCertPath = path.join(dir, 'ca.pem');
  const caKeyPath = path.join(dir, 'ca.key');
  await openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', caKeyPath, '-out', caCertPath, '-days', '2',
    '-subj', `/CN=${options.caName ?? 'mcp-test-ca'}`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  let serial = 1;
  return {
    dir,
    caCertPath,
    caKeyPath,
    async issue(issue: IssueOptions): Promise<IssuedCert> {
      const dnsNames = issue.dnsNames ?? ['localhost'];
      const ips = issue.ipAddresses ?? ['127.0.0.1'];
      const certPath = path.join(dir, `${issue.name}.pem`);
      const keyPath = path.join(dir, `${issue.name}.key`);
      const csrPath = path.join(dir, `${issue.name}.csr`);
      const extPath = path.join(dir, `${issue.name}.ext`);
      const san = [...dnsNames.map((name) => `DNS:${name}`), ...ips.map((ip) => `IP:${ip}`)].join(',');
      const ext = [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        `extendedKeyUsage=${issue.usage === 'client' ? 'clientAuth' : 'serverAuth'}`,
        ...(san ? [`subjectAltName=${san}`] : []),
      ].join('\n');
      await fs.writeFile(extPath, `${ext}\n`);
      await openssl([
        'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', keyPath, '-out', csrPath,
        '-subj', `/CN=${issue.commonName ?? dnsNames[0] ?? issue.name}`,
      ]);
      await openssl([
        'x509', '-req', '-in', csrPath, '-CA', caCertPath, '-CAkey', caKeyPath,
        '-set_serial', String(Date.now() * 100 + serial++), '-days', '2', '-sha256',
        '-extfile', extPath, '-out', certPath,
      ]);
      await fs.chmod(keyPath, 0o600);
      return { certPath, keyPath };
    },
    async cleanup(): Promise<void> {
      if (ownDir) await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

async function openssl(args: string[]): Promise<void> {
  try {
    await execFileAsync('openssl', args, { timeout: 30_000 });
  } catch (error) {
    const stderr = error && typeof error === 'object' && 'stderr' in error ? String(error.stderr) : '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || String(error)}`, { cause: error });
  }
}
