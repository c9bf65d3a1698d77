import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { agentServiceDefinition } from '@mcp/proto';
import { createTestPki, type IssuedCert, type TestPki } from '../servers/test-pki';

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'mcp.js');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * The real `mcp` binary against peers that misbehave at the network level: one that accepts
 * the TCP connection and never answers, one that refuses, one that offers only TLS 1.2, and
 * plain TLS servers that record the server name the client sent.
 */
describe('mcp against misbehaving peers (real binary)', () => {
  let home: string;
  let pki: TestPki;
  let cert: IssuedCert;
  const servers: net.Server[] = [];
  const sockets: net.Socket[] = [];

  beforeAll(async () => {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'mcp.js'))) throw new Error('dist/mcp.js is missing: run npm run build before these tests');
    pki = await createTestPki();
    cert = await pki.issue({ name: 'agent', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  });

  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'i12-mcp-net-'));
    fs.mkdirSync(path.join(home, '.config', 'mcp'), { recursive: true });
    fs.writeFileSync(path.join(home, '.config', 'mcp', 'token'), 'some-token\n', { mode: 0o600 });
  });

  const grpcServers: grpc.Server[] = [];

  afterEach(async () => {
    for (const server of grpcServers.splice(0)) server.forceShutdown();
    for (const socket of sockets.splice(0)) socket.destroy();
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
    fs.rmSync(home, { recursive: true, force: true });
  });

  afterAll(async () => {
    await pki?.cleanup();
  });

  function writeConfig(nodes: Array<{ name: string; address: string; serverName?: string; timeout?: string }>): void {
    const lines = [`[tls]`, `ca_cert = ${JSON.stringify(pki.caCertPath)}`];
    for (const node of nodes) {
      lines.push('', '[[nodes]]', `name = ${JSON.stringify(node.name)}`, `address = ${JSON.stringify(node.address)}`);
      if (node.serverName) lines.push(`server_name = ${JSON.stringify(node.serverName)}`);
      if (node.timeout) lines.push(`timeout = ${JSON.stringify(node.timeout)}`);
    }
    fs.writeFileSync(path.join(home, '.config', 'mcp', 'mcp.toml'), `${lines.join('\n')}\n`);
  }

  /** Runs mcp; kills it only after `killAfterMs` (a safety net the assertions then catch). */
  function mcp(args: string[], killAfterMs = 60_000): Promise<Run> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      child.on('close', (code, signal) => {
        clearTimeout(killer);
        resolve({ code, signal, stdout, stderr });
      });
    });
  }

  async function listen(server: net.Server): Promise<number> {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as net.AddressInfo).port;
  }

  /** Accepts TCP connections and never sends a byte, never closes. */
  function hungPeer(): Promise<number> {
    return listen(net.createServer((socket) => sockets.push(socket)));
  }

  /** A TLS server that records each handshake's server name, then hangs up. */
  async function tlsPeer(options: tls.TlsOptions): Promise<{ port: number; handshakes: Array<string | false> }> {
    const handshakes: Array<string | false> = [];
    const server = tls.createServer({ key: fs.readFileSync(cert.keyPath), cert: fs.readFileSync(cert.certPath), ALPNProtocols: ['h2'], ...options }, (socket) => {
      handshakes.push((socket as tls.TLSSocket & { servername: string | false }).servername);
      socket.destroy();
    });
    return { port: await listen(server), handshakes };
  }

  /**
   * A real gRPC server (TLS 1.3, HTTP/2, the agent's service) that accepts every call and never
   * answers it: no response, no message, no status. With `headers`, server streams send their
   * response headers first (what a real agent does), then nothing: a quiet `logs -f`.
   */
  async function silentAgent(options: { headers?: boolean } = {}): Promise<number> {
    const server = new grpc.Server();
    grpcServers.push(server);
    const definition = agentServiceDefinition(protoLoader);
    const never: grpc.UntypedServiceImplementation = {};
    for (const [name, method] of Object.entries(definition)) {
      never[name] = (call: grpc.ServerWritableStream<unknown, unknown>) => {
        if (options.headers && method.responseStream) call.sendMetadata(new grpc.Metadata());
      };
    }
    server.addService(definition, never);
    const credentials = grpc.ServerCredentials.createSsl(null, [{ private_key: fs.readFileSync(cert.keyPath), cert_chain: fs.readFileSync(cert.certPath) }]);
    return new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0', credentials, (error, port) => (error ? reject(error) : resolve(port))));
  }

  /** Every streaming RPC the CLI makes (issue #12: a deadline on each kind), as commands. */
  const STREAMING: Array<[string, (dir: string) => string[]]> = [
    ['push (client stream)', (dir) => ['push', path.join(dir, 'small.txt'), 'svc', '--node', 'n']],
    ['pull (server stream)', (dir) => ['pull', 'svc', 'small.txt', path.join(dir, 'pulled.txt'), '--node', 'n']],
    ['logs (server stream)', () => ['logs', 'svc', '--node', 'n']],
    ['logs -f (follow)', () => ['logs', '-f', 'svc', '--node', 'n']],
    ['events (server stream)', () => ['events', '--node', 'n']],
    ['events -f (follow)', () => ['events', '-f', '--node', 'n']],
  ];

  function streamingArgs(argsOf: (dir: string) => string[]): string[] {
    fs.writeFileSync(path.join(home, 'small.txt'), 'hello\n');
    return argsOf(home);
  }

  describe('streaming RPCs against a peer that accepts the connection and never answers', () => {
    it.each(STREAMING)('should exit promptly with 3 and one clear line: %s', async (_what, argsOf) => {
      const port = await hungPeer();
      writeConfig([{ name: 'n', address: `localhost:${port}`, timeout: '1s' }]);

      const run = await mcp(streamingArgs(argsOf), 15_000);

      // Killed by the safety net (signal set) = it waited on the hung peer past its deadline.
      expect([run.signal, run.code, run.stderr]).toEqual([null, 3, `mcp: agent n (localhost:${port}) unreachable: no answer within 1s\n`]);
    });
  });

  describe('streaming RPCs against an agent that takes the call and never answers it', () => {
    it.each(STREAMING)('should exit promptly with 1 and one clear line: %s', async (what, argsOf) => {
      const port = await silentAgent();
      writeConfig([{ name: 'n', address: `localhost:${port}`, timeout: '1s' }]);

      const run = await mcp(streamingArgs(argsOf), 15_000);

      // A finished push waits for the agent's answer 3 node timeouts (it flushes to disk).
      const within = what.startsWith('push') ? '3s' : '1s';
      expect([run.signal, run.code, run.stderr]).toEqual([null, 1, `mcp: agent n (localhost:${port}): no answer within ${within}\n`]);
    });

    it('should bound each chunk of a push that the agent stops taking by the node timeout', async () => {
      const big = path.join(home, 'big.bin');
      fs.writeFileSync(big, Buffer.alloc(16 * 1024 * 1024, 7));
      const port = await silentAgent();
      writeConfig([{ name: 'n', address: `localhost:${port}`, timeout: '1s' }]);

      const run = await mcp(['push', big, 'svc', '--node', 'n'], 15_000);

      expect([run.signal, run.code, run.stderr]).toEqual([null, 1, `mcp: agent n (localhost:${port}): no answer within 1s\n`]);
    });
  });

  describe('follow streams of an agent that opened them and stays quiet', () => {
    for (const args of [['logs', '-f', 'svc', '--node', 'n'], ['events', '-f', '--node', 'n']]) {
      it(`should keep following past the node timeout (no idle deadline): ${args.join(' ')}`, async () => {
        const port = await silentAgent({ headers: true });
        writeConfig([{ name: 'n', address: `localhost:${port}`, timeout: '1s' }]);

        // Still running after 4 node timeouts: the safety net kills it.
        const run = await mcp(args, 4_000);

        expect([run.signal, run.stderr]).toEqual(['SIGKILL', '']);
      });
    }
  });

  it('should exit promptly with 3 and one clear line when a node accepts the connection and never answers', async () => {
    const port = await hungPeer();
    writeConfig([{ name: 'hung', address: `localhost:${port}`, timeout: '2s' }]);

    const run = await mcp(['ps']);

    // Killed by the safety net = it waited on the hung peer past its deadline.
    expect(run.signal).toBeNull();
    expect(run.code).toBe(3);
    expect(run.stderr).toBe(`mcp: agent hung (localhost:${port}) unreachable: no answer within 2s\n`);
    expect(sockets.length).toBeGreaterThan(0);
  });

  it('should exit promptly from a long call (deploy-like) against a hung peer', async () => {
    const port = await hungPeer();
    writeConfig([{ name: 'hung', address: `localhost:${port}`, timeout: '2s' }]);

    const run = await mcp(['node', 'status']);

    expect(run.signal).toBeNull();
    expect(run.code).toBe(3);
    expect(run.stderr).not.toMatch(/Deadline exceeded after|LB pick|name resolution/);
  });

  /**
   * A real gRPC agent whose deploying RPCs answer, successfully, only after `delayMs`: a
   * start-first rollback behind an HTTP health gate takes longer than the node timeout.
   */
  async function slowAgent(delayMs: number): Promise<number> {
    const server = new grpc.Server();
    grpcServers.push(server);
    const definition = agentServiceDefinition(protoLoader);
    const ok = { component: 'web', ok: true, error: '', container: 'svc-web', release: 3 };
    const answers: Record<string, unknown> = {
      Rollback: { service: 'svc', results: [ok], to: 2, specs: [] },
      Deploy: { results: [ok] },
      PurgeComponent: {},
      ListBackups: { snapshots: [{ id: 'ab'.repeat(32), shortId: 'abababab', time: { seconds: 1796688000, nanos: 0 }, size: 42, files: 3, host: 'old-node' }], runs: [] },
    };
    const impl: grpc.UntypedServiceImplementation = {};
    for (const name of Object.keys(definition)) {
      impl[name] = (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
        if (!(name in answers)) return;
        setTimeout(() => callback(null, answers[name]), delayMs);
      };
    }
    server.addService(definition, impl);
    const credentials = grpc.ServerCredentials.createSsl(null, [{ private_key: fs.readFileSync(cert.keyPath), cert_chain: fs.readFileSync(cert.certPath) }]);
    return new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0', credentials, (error, port) => (error ? reject(error) : resolve(port))));
  }

  it('should wait for a rollback that outlasts the node timeout, with the deploy deadline (issue #20.1)', async () => {
    const port = await slowAgent(3_000);
    writeConfig([{ name: 'n', address: `localhost:${port}`, timeout: '1s' }]);

    const run = await mcp(['rollback', 'svc', '--node', 'n'], 30_000);

    expect([run.signal, run.code, run.stderr]).toEqual([null, 0, '']);
    expect(run.stdout).toMatch(/rolled back to release 2/);
  });

  it('should wait for a listing of snapshots that outlasts the node timeout: restic counts each snapshot another node made (RUNBOOK, restoring onto a new node)', async () => {
    const port = await slowAgent(3_000);
    writeConfig([{ name: 'n', address: `localhost:${port}`, timeout: '1s' }]);

    const run = await mcp(['backups', 'svc', '--node', 'n', '--json'], 30_000);

    expect([run.signal, run.code, run.stderr]).toEqual([null, 0, '']);
    expect(JSON.parse(run.stdout)).toEqual([{ id: 'abababab', fullId: 'ab'.repeat(32), time: '2026-12-08T00:00:00.000Z', size: 42, files: 3, host: 'old-node' }]);
  });

  it('should say "connection refused" and nothing of grpc-js', async () => {
    const port = await listen(net.createServer());
    await new Promise((resolve) => servers.pop()!.close(resolve));
    writeConfig([{ name: 'local', address: `localhost:${port}` }]);

    const run = await mcp(['ps']);

    expect(run.code).toBe(3);
    expect(run.stderr).toBe(`mcp: agent local (localhost:${port}) unreachable: connection refused\n`);
  });

  it('should refuse an agent that offers only TLS 1.2, before any handshake completes', async () => {
    const peer = await tlsPeer({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    writeConfig([{ name: 'old', address: `localhost:${peer.port}`, timeout: '5s' }]);

    const run = await mcp(['ps']);

    expect(run.code).toBe(3);
    expect(run.stderr).toBe(`mcp: agent old (localhost:${peer.port}) unreachable: TLS handshake failed: the agent does not offer TLS 1.3\n`);
    expect(peer.handshakes).toEqual([]);
  });

  it('should send no IP as server name: verify an IP address against the certificate, or server_name when set', async () => {
    const peer = await tlsPeer({ minVersion: 'TLSv1.3' });
    writeConfig([{ name: 'byip', address: `127.0.0.1:${peer.port}`, timeout: '3s' }]);

    const byIp = await mcp(['ps']);

    expect(byIp.stderr).not.toContain('Warning');
    expect(peer.handshakes.length).toBeGreaterThan(0);
    expect(new Set(peer.handshakes)).toEqual(new Set([false]));

    peer.handshakes.length = 0;
    writeConfig([{ name: 'byname', address: `127.0.0.1:${peer.port}`, serverName: 'localhost', timeout: '3s' }]);

    const byName = await mcp(['ps']);

    expect(byName.stderr).not.toContain('Warning');
    expect(peer.handshakes.length).toBeGreaterThan(0);
    expect(new Set(peer.handshakes)).toEqual(new Set(['localhost']));
  });

  it('should name a server_name the certificate does not carry', async () => {
    const peer = await tlsPeer({ minVersion: 'TLSv1.3' });
    writeConfig([{ name: 'wrong', address: `127.0.0.1:${peer.port}`, serverName: 'other.example.net', timeout: '3s' }]);

    const run = await mcp(['ps']);

    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^mcp: agent wrong \(127\.0\.0\.1:\d+\) unreachable: TLS certificate is not for other\.example\.net \(it names DNS:localhost, IP Address:127\.0\.0\.1\): set the node's server_name to one of those\n$/);
  });
});
