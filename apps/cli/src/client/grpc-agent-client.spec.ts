import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as loader from '@grpc/proto-loader';
import { MCP_PROTO_FILE, PROTO_LOADER_OPTIONS, PROTO_ROOT, mcpv1 } from '@mcp/proto';
import { AgentCallError, AgentUnreachableError, TokenRejectedError } from '../errors';
import { GrpcAgentClient } from './grpc-agent-client';

type Handler = grpc.UntypedHandleCall;

/** A real TLS gRPC server on 127.0.0.1 with a certificate for "agent.test" only. */
describe(GrpcAgentClient.name, () => {
  let dir: string;
  let server: grpc.Server;
  let port: number;
  const seenAuth: string[] = [];
  let pushed: { header?: mcpv1.PushFileHeader; data: Buffer } = { data: Buffer.alloc(0) };
  let logsCancelled: Promise<void>;
  let resolveLogsCancelled: () => void;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-grpc-client-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=agent.test', '-addext', 'subjectAltName=DNS:agent.test',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    const definition = loader.loadSync(path.join(PROTO_ROOT, MCP_PROTO_FILE), { ...PROTO_LOADER_OPTIONS, includeDirs: [PROTO_ROOT] });
    const service = (grpc.loadPackageDefinition(definition) as unknown as Record<string, Record<string, Record<string, grpc.ServiceClientConstructor>>>)
      .mcp.v1.McpAgentService.service;
    const auth = (call: { metadata: grpc.Metadata }) => seenAuth.push(String(call.metadata.get('authorization')[0]));
    const handlers: Record<string, Handler> = {
      listServices: ((call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<mcpv1.ListServicesResponse>) => {
        auth(call);
        callback(null, { node: 'test', services: [], cordoned: false });
      }) as Handler,
      liveCheck: ((_call: unknown, callback: grpc.sendUnaryData<unknown>) =>
        callback({ code: grpc.status.UNAUTHENTICATED, details: 'token expired' })) as Handler,
      nodeStatus: ((_call: unknown, callback: grpc.sendUnaryData<unknown>) =>
        callback({ code: grpc.status.PERMISSION_DENIED, details: 'role guest is not allowed' })) as Handler,
      getServiceStatus: ((_call: unknown, callback: grpc.sendUnaryData<unknown>) =>
        callback({ code: grpc.status.UNAVAILABLE, details: 'podman is not answering' })) as Handler,
      pushFile: ((call: grpc.ServerReadableStream<mcpv1.PushFileRequest, unknown>, callback: grpc.sendUnaryData<mcpv1.PushFileResponse>) => {
        auth(call);
        const parts: Buffer[] = [];
        pushed = { data: Buffer.alloc(0) };
        call.on('data', (message: mcpv1.PushFileRequest) => {
          if (message.header) pushed.header = message.header;
          if (message.chunk) parts.push(message.chunk);
        });
        call.on('end', () => {
          pushed.data = Buffer.concat(parts);
          callback(null, { path: pushed.header?.path ?? '', size: pushed.data.length, sha256: createHash('sha256').update(pushed.data).digest('hex') });
        });
      }) as Handler,
      pullFile: ((call: grpc.ServerWritableStream<mcpv1.PullFileRequest, mcpv1.PullFileResponse>) => {
        call.write({ info: { size: 6, mode: 0o600, sha256: createHash('sha256').update('abcdef').digest('hex') } });
        call.write({ chunk: Buffer.from('abc') });
        call.write({ chunk: Buffer.from('def') });
        call.end();
      }) as Handler,
      logs: ((call: grpc.ServerWritableStream<mcpv1.LogsRequest, mcpv1.LogsResponse>) => {
        call.write({ data: Buffer.from('line 1\n'), stream: 'stdout' });
        call.on('cancelled', () => resolveLogsCancelled());
      }) as Handler,
    };
    server = new grpc.Server();
    server.addService(service, handlers);
    const credentials = grpc.ServerCredentials.createSsl(null, [
      { private_key: fs.readFileSync(path.join(dir, 'key.pem')), cert_chain: fs.readFileSync(path.join(dir, 'cert.pem')) },
    ]);
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', credentials, (error, bound) => (error ? reject(error) : resolve(bound))),
    );
  });

  afterAll(() => {
    server.forceShutdown();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    logsCancelled = new Promise((resolve) => (resolveLogsCancelled = resolve));
  });

  function client(overrides: { address?: string; serverName?: string; timeoutMs?: number } = {}) {
    return new GrpcAgentClient({
      node: { name: 'test', address: overrides.address ?? `127.0.0.1:${port}`, serverName: 'serverName' in overrides ? overrides.serverName : 'agent.test', timeoutMs: overrides.timeoutMs ?? 5000 },
      token: 'tok-abc',
      caCert: path.join(dir, 'cert.pem'),
    });
  }

  it('should dial an IP, verify the certificate as server_name and send the bearer token', async () => {
    const sut = client();
    try {
      await expect(sut.call('listServices', {})).resolves.toEqual({ node: 'test', services: [], cordoned: false });
      expect(seenAuth.at(-1)).toBe('Bearer tok-abc');
    } finally {
      sut.close();
    }
  });

  it('should refuse the agent when the certificate does not carry the dialled name', async () => {
    const sut = client({ address: `localhost:${port}`, serverName: undefined, timeoutMs: 2000 });
    try {
      await expect(sut.call('listServices', {})).rejects.toBeInstanceOf(AgentUnreachableError);
    } finally {
      sut.close();
    }
  });

  it('should map UNAUTHENTICATED, PERMISSION_DENIED and a connected UNAVAILABLE', async () => {
    const sut = client();
    try {
      await expect(sut.call('liveCheck', {})).rejects.toBeInstanceOf(TokenRejectedError);
      await expect(sut.call('nodeStatus', {})).rejects.toThrow('permission denied by test: role guest is not allowed');
      const unavailable = sut.call('getServiceStatus', { service: '', eventLimit: 0 });
      await expect(unavailable).rejects.toBeInstanceOf(AgentCallError);
      await expect(unavailable).rejects.toThrow('test: podman is not answering');
    } finally {
      sut.close();
    }
  });

  it('should report a closed port as unreachable, naming node and address', async () => {
    const closed = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(free));
      });
    });
    const sut = client({ address: `127.0.0.1:${closed}` });
    try {
      await expect(sut.call('listServices', {})).rejects.toThrow(new RegExp(`^agent test \\(127\\.0\\.0\\.1:${closed}\\) unreachable: `));
      await expect(sut.call('deploy', { service: undefined, component: '', force: false, overrideCordon: false })).rejects.toBeInstanceOf(AgentUnreachableError);
    } finally {
      sut.close();
    }
  });

  it('should stream a push larger than the transport buffers, header first', async () => {
    const data = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < data.length; i++) data[i] = i % 251;
    async function* chunks() {
      for (let offset = 0; offset < data.length; offset += 64 * 1024) yield data.subarray(offset, offset + 64 * 1024);
    }
    const sha256 = createHash('sha256').update(data).digest('hex');
    const sut = client();
    try {
      const response = await sut.pushFile({ header: { service: 'notes', path: 'big.bin', mode: 0o640, size: data.length, sha256, mtimeMs: 0 }, chunks: chunks() });
      expect(response).toEqual({ path: 'big.bin', size: data.length, sha256 });
      expect(pushed.header).toEqual({ service: 'notes', path: 'big.bin', mode: 0o640, size: data.length, sha256, mtimeMs: 0 });
      expect(pushed.data.equals(data)).toBe(true);
    } finally {
      sut.close();
    }
  });

  it('should read a pull stream in order', async () => {
    const sut = client();
    const messages: mcpv1.PullFileResponse[] = [];
    try {
      for await (const message of sut.stream('pullFile', { service: 'notes', path: 'x' })) messages.push(message);
    } finally {
      sut.close();
    }
    expect(messages.map((m) => (m.info ? 'info' : m.chunk?.toString()))).toEqual(['info', 'abc', 'def']);
  });

  it('should cancel a followed log stream when aborted', async () => {
    const sut = client();
    const abort = new AbortController();
    const lines: string[] = [];
    try {
      for await (const message of sut.stream('logs', { service: 'notes', component: '', follow: true, tail: 0, since: '', timestamps: false }, { signal: abort.signal })) {
        lines.push(message.data.toString());
        abort.abort();
      }
      await logsCancelled;
    } finally {
      sut.close();
    }
    expect(lines).toEqual(['line 1\n']);
  });
});
