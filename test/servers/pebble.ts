import { type ChildProcess, execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { freePort, stopProcess, waitUntil } from './registry';

const execFileAsync = promisify(execFile);

/**
 * A real pebble (Let's Encrypt's test ACME server) on 127.0.0.1:<free port>, with its own TLS
 * certificate made by openssl. Challenges always validate (`PEBBLE_VA_ALWAYS_VALID=1`), so no
 * host needs to be reachable; nonces are never rejected at random, to keep tests deterministic.
 */
export interface TestPebble {
  /** `https://127.0.0.1:<port>/dir` */
  directoryUrl: string;
  /** PEM of the certificate pebble's HTTPS listener uses (the ACME client must trust it). */
  caCertPath: string;
  /** Management API (`/roots/0`, `/intermediates/0`), same TLS. */
  managementUrl: string;
  dir: string;
  /** Stops the server (files stay until close). */
  stop(): Promise<void>;
  close(): Promise<void>;
}

export interface StartPebbleOptions {
  /** When set, external account binding is required and this key is the only one known. */
  eab?: { kid: string; hmac: string };
}

function httpsStatus(url: string, ca: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.setTimeout(2000, () => req.destroy(new Error('timeout')));
  });
}

export async function startPebble(options: StartPebbleOptions = {}): Promise<TestPebble> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-test-pebble-'));
  const certPath = path.join(dir, 'pebble-tls.pem');
  const keyPath = path.join(dir, 'pebble-tls.key');
  await execFileAsync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-sha256', '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', keyPath, '-out', certPath,
  ]);
  const [port, managementPort, httpPort, tlsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${port}`,
      managementListenAddress: `127.0.0.1:${managementPort}`,
      certificate: certPath,
      privateKey: keyPath,
      httpPort,
      tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: options.eab !== undefined,
      ...(options.eab ? { externalAccountMACKeys: { [options.eab.kid]: options.eab.hmac } } : {}),
    },
  };
  const configPath = path.join(dir, 'pebble-config.json');
  fs.writeFileSync(configPath, JSON.stringify(config, null, 2));
  const ca = fs.readFileSync(certPath);
  const directoryUrl = `https://127.0.0.1:${port}/dir`;

  const child: ChildProcess = spawn('pebble', ['-config', configPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      PEBBLE_VA_ALWAYS_VALID: '1',
      PEBBLE_VA_NOSLEEP: '1',
      PEBBLE_WFE_NONCEREJECT: '0',
    },
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  try {
    await waitUntil(`pebble on 127.0.0.1:${port}`, async () => {
      if (child.exitCode !== null) throw new Error(`pebble exited: ${output}`);
      return (await httpsStatus(directoryUrl, ca)) === 200;
    });
  } catch (error) {
    await stopProcess(child);
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(error as Error).message}\n${output}`);
  }

  return {
    directoryUrl,
    caCertPath: certPath,
    managementUrl: `https://127.0.0.1:${managementPort}`,
    dir,
    stop: () => stopProcess(child),
    async close() {
      await stopProcess(child);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
