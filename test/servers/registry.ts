import { type ChildProcess, execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { type TokenIssuer, startTokenIssuer } from './fake-token-issuer';

const execFileAsync = promisify(execFile);

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls `probe` until it resolves true, or fails after `timeoutMs` with `what` in the message. */
export async function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not become ready within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function httpStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.setTimeout(2000, () => req.destroy(new Error('timeout')));
  });
}

/** Stops a child process and waits for it to exit. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/**
 * A real docker-registry (distribution 2.8) on 127.0.0.1:<free port>, plain HTTP (podman
 * talks to it with --tls-verify=false), with htpasswd or token authentication.
 */
export interface TestRegistry {
  /** `127.0.0.1:<port>`: the registry host as it appears in image references. */
  host: string;
  dir: string;
  /** The token issuer, for auth 'token'. */
  tokenIssuer?: TokenIssuer;
  /** Change (or add) a user's password on the server side. */
  setPassword(username: string, password: string): Promise<void>;
  /** Stop and start the registry process on the same port and storage. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface StartRegistryOptions {
  auth: 'htpasswd' | 'token';
  users: Record<string, string>;
}

async function htpasswdLine(username: string, password: string): Promise<string> {
  // -i reads the password from stdin so it never shows in a process listing.
  return new Promise((resolve, reject) => {
    const child = execFile('htpasswd', ['-niB', username], (error, stdout) => (error ? reject(error) : resolve(stdout.trim())));
    child.stdin?.end(password);
  });
}

export async function startRegistry(options: StartRegistryOptions): Promise<TestRegistry> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-test-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const users = new Map(Object.entries(options.users));
  const htpasswdPath = path.join(dir, 'htpasswd');
  const writeHtpasswd = async (): Promise<void> => {
    const lines = await Promise.all([...users].map(([user, pass]) => htpasswdLine(user, pass)));
    fs.writeFileSync(htpasswdPath, `${lines.join('\n')}\n`);
  };
  let tokenIssuer: TokenIssuer | undefined;
  let authBlock: string;
  if (options.auth === 'htpasswd') {
    await writeHtpasswd();
    authBlock = `  htpasswd:\n    realm: mcp-test\n    path: ${htpasswdPath}\n`;
  } else {
    tokenIssuer = await startTokenIssuer({ dir, users: options.users });
    authBlock = [
      '  token:',
      `    realm: ${tokenIssuer.realm}`,
      `    service: ${tokenIssuer.service}`,
      `    issuer: ${tokenIssuer.issuer}`,
      `    rootcertbundle: ${tokenIssuer.rootCertBundle}`,
      '',
    ].join('\n');
  }
  const configPath = path.join(dir, 'config.yml');
  fs.writeFileSync(
    configPath,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(dir, 'data')}`,
      'http:',
      `  addr: ${host}`,
      '  secret: mcp-test-only-secret',
      'auth:',
      authBlock,
    ].join('\n'),
  );

  let child: ChildProcess | undefined;
  let output = '';
  const start = async (): Promise<void> => {
    output = '';
    const proc = spawn('docker-registry', ['serve', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    proc.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await waitUntil(`docker-registry on ${host}`, async () => {
        if (proc.exitCode !== null) throw new Error(`docker-registry exited: ${output.slice(-2000)}`);
        return (await httpStatus(`http://${host}/v2/`)) === 401;
      });
    } catch (error) {
      await stopProcess(proc);
      throw new Error(`${(error as Error).message}\n${output.slice(-2000)}`);
    }
  };
  await start();

  return {
    host,
    dir,
    tokenIssuer,
    async setPassword(username, password) {
      users.set(username, password);
      if (tokenIssuer) tokenIssuer.setPassword(username, password);
      else await writeHtpasswd();
    },
    async restart() {
      if (child) await stopProcess(child);
      await start();
    },
    async close() {
      if (child) await stopProcess(child);
      await tokenIssuer?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Pushes a local image into the registry as `<host>/<name>` using a throwaway auth file. */
export async function pushImage(input: { registry: TestRegistry; source: string; name: string; username: string; password: string }): Promise<string> {
  const authFile = path.join(input.registry.dir, `push-auth-${process.pid}.json`);
  const target = `${input.registry.host}/${input.name}`;
  await new Promise<void>((resolve, reject) => {
    const child = execFile(
      'podman',
      ['login', '--authfile', authFile, '--tls-verify=false', '--username', input.username, '--password-stdin', input.registry.host],
      (error) => (error ? reject(error) : resolve()),
    );
    child.stdin?.end(input.password);
  });
  await execFileAsync('podman', ['push', '--quiet', '--authfile', authFile, '--tls-verify=false', input.source, target]);
  fs.rmSync(authFile, { force: true });
  return target;
}

/** Removes every local image of this registry (what the tests pulled). */
export async function removeRegistryImages(registry: TestRegistry): Promise<void> {
  const { stdout } = await execFileAsync('podman', ['images', '--format', '{{.Repository}}:{{.Tag}}']);
  const mine = stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith(`${registry.host}/`));
  if (mine.length > 0) await execFileAsync('podman', ['rmi', '-f', ...mine]).catch(() => undefined);
}
