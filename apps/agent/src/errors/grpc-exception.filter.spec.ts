import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { GrpcMethod, GrpcStreamCall } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { TokenAuthenticator } from '@mcp/auth';
import { AgentMetrics } from '@mcp/metrics';
import {
  ChecksumMismatchError,
  ConfigError,
  FailedPreconditionError,
  McpError,
  NotFoundError,
  PathOutsideServiceError,
  RuntimeCommandError,
  ServiceNotFoundError,
  UnavailableError,
  ValidationError,
} from '@mcp/common';
import { MCP_AGENT_SERVICE_NAME, type mcpv1 } from '@mcp/proto';
import { Observable } from 'rxjs';
import { FakeClock, FakeIdentity, RecordingMetrics } from '../../../../test/fakes';
import { agentClient, freePortSync, makeTlsFixture, type AgentTestClient } from '../../../../test/support';
import { Authenticated } from '../auth/auth.decorators';
import { AuthGuard } from '../auth/auth.guard';
import { agentGrpcOptions } from '../grpc-options';
import { AuditLog } from '../logging/audit';
import { AuditInterceptor } from '../logging/audit.interceptor';
import { JsonLogger } from '../logging/json-logger';
import { GrpcExceptionFilter } from './grpc-exception.filter';
import { INTERNAL_MESSAGE } from './grpc-errors';

const TOKEN = 'probe-admin-token';
let nextError: unknown;

/** A probe exposing one handler of each shape the agent uses, throwing `nextError`. */
@Controller()
class ProbeController {
  @GrpcMethod(MCP_AGENT_SERVICE_NAME, 'NodeStatus')
  @Authenticated()
  async nodeStatus(): Promise<mcpv1.NodeStatusResponse> {
    throw nextError;
  }

  @GrpcMethod(MCP_AGENT_SERVICE_NAME, 'Logs')
  @Authenticated()
  logs(): Observable<mcpv1.LogsResponse> {
    return new Observable((subscriber) => {
      subscriber.next({ data: Buffer.from('one line\n'), stream: 'stdout' });
      subscriber.error(nextError);
    });
  }

  @GrpcStreamCall(MCP_AGENT_SERVICE_NAME, 'PushFile')
  @Authenticated()
  async pushFile(_call: grpc.ServerReadableStream<mcpv1.PushFileRequest, mcpv1.PushFileResponse>): Promise<void> {
    throw nextError;
  }

  @GrpcMethod(MCP_AGENT_SERVICE_NAME, 'PullFile')
  @Authenticated()
  pullFile(request: mcpv1.PullFileRequest): Observable<mcpv1.PullFileResponse> {
    return new Observable((subscriber) => {
      subscriber.next({ chunk: Buffer.from('data') });
      if (request.path === 'forever') return; // never completes: the client cancels
      subscriber.complete();
    });
  }

  /** Deliberately not marked: the guard must refuse it. */
  @GrpcMethod(MCP_AGENT_SERVICE_NAME, 'ListServices')
  async listServices(): Promise<mcpv1.ListServicesResponse> {
    return { node: 'x', services: [], cordoned: false };
  }
}

class CustomInternal extends McpError {
  readonly kind = 'internal' as const;
}

describe(GrpcExceptionFilter.name, () => {
  let app: INestMicroservice;
  let client: AgentTestClient;
  let dir: string;
  let address: string;
  let caCertPath: string;
  const lines: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-filter-'));
    const fixture = await makeTlsFixture(dir);
    caCertPath = fixture.caCertPath;
    const identity = new FakeIdentity().withToken(TOKEN, { username: 'alice', roles: ['admin'] });
    const logger = new JsonLogger('info', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
    const moduleRef = await Test.createTestingModule({
      controllers: [ProbeController],
      providers: [
        { provide: JsonLogger, useValue: logger },
        AuditLog,
        { provide: AgentMetrics, useValue: new RecordingMetrics() },
        { provide: TokenAuthenticator, useValue: new TokenAuthenticator({ identity, allowedRoles: ['admin'], clock: new FakeClock(new Date()) }) },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_FILTER, useClass: GrpcExceptionFilter },
        { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
      ],
    }).compile();
    address = `127.0.0.1:${freePortSync()}`;
    app = moduleRef.createNestMicroservice(agentGrpcOptions({ server: { grpcAddr: address, tlsCert: fixture.certPath, tlsKey: fixture.keyPath } }));
    app.useLogger(logger);
    await app.listen();
    client = agentClient({ address, caCertPath, token: TOKEN });
  });

  afterAll(async () => {
    client?.close();
    await app?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    lines.length = 0;
  });

  const cases: Array<[string, unknown, grpc.status]> = [
    ['ValidationError', new ValidationError([{ path: 'components[0].image', reason: 'required' }]), grpc.status.INVALID_ARGUMENT],
    ['ConfigError', new ConfigError([{ path: 'x', reason: 'bad' }]), grpc.status.INVALID_ARGUMENT],
    ['ChecksumMismatchError', new ChecksumMismatchError('sha256 differs'), grpc.status.INVALID_ARGUMENT],
    ['ServiceNotFoundError', new ServiceNotFoundError('web'), grpc.status.NOT_FOUND],
    ['NotFoundError', new NotFoundError('nothing'), grpc.status.NOT_FOUND],
    ['FailedPreconditionError', new FailedPreconditionError('not now'), grpc.status.FAILED_PRECONDITION],
    ['PathOutsideServiceError', new PathOutsideServiceError('outside'), grpc.status.PERMISSION_DENIED],
    ['UnavailableError', new UnavailableError('podman down'), grpc.status.UNAVAILABLE],
  ];

  function unaryError(): Promise<grpc.ServiceError> {
    return client.call('nodeStatus', {}).then(
      () => {
        throw new Error('expected the call to fail');
      },
      (err: grpc.ServiceError) => err,
    );
  }

  function serverStreamError(): Promise<{ err: grpc.ServiceError; received: number }> {
    return new Promise((resolve, reject) => {
      let received = 0;
      const stream = client.raw.logs({ service: 'x', component: '', follow: false, tail: 0, since: '', timestamps: false }, client.metadata());
      stream.on('data', () => received++);
      stream.on('error', (err: grpc.ServiceError) => resolve({ err, received }));
      stream.on('end', () => reject(new Error('expected the stream to fail')));
    });
  }

  function clientStreamError(): Promise<grpc.ServiceError> {
    return new Promise((resolve, reject) => {
      const stream = client.raw.pushFile(client.metadata(), (err) => (err ? resolve(err) : reject(new Error('expected the push to fail'))));
      stream.write({ header: { service: 'x', path: 'a', mode: 0, size: 1, sha256: '', mtimeMs: 0 } });
      stream.end();
    });
  }

  describe('unary RPCs', () => {
    it.each(cases)('should map %s to its gRPC code', async (_name, error, code) => {
      nextError = error;
      const err = await unaryError();
      expect(err.code).toBe(code);
      expect(err.details).toBe((error as Error).message);
    });

    it.each([
      ['an unknown error', new Error('secret detail /etc/shadow')],
      ['an internal McpError', new CustomInternal('secret detail')],
      ['a RuntimeCommandError', new RuntimeCommandError('secret detail', { args: [], exitCode: 1, stderr: 'boom' })],
      ['a thrown string', 'secret detail'],
    ])('should turn %s into INTERNAL with a generic message and log the detail', async (_name, error) => {
      nextError = error;
      const err = await unaryError();
      expect(err.code).toBe(grpc.status.INTERNAL);
      expect(err.details).toBe(INTERNAL_MESSAGE);
      expect(lines.some((l) => l.msg === 'rpc failed' && String(l.detail).includes('secret detail'))).toBe(true);
    });

    it('should audit a failed call with method, caller and code', async () => {
      nextError = new ServiceNotFoundError('web');
      await unaryError();
      expect(lines.filter((l) => l.msg === 'rpc')).toEqual([
        expect.objectContaining({ method: 'NodeStatus', caller: 'alice', code: 'NOT_FOUND', duration_ms: expect.any(Number) }),
      ]);
    });

    it('should refuse a handler without @Authenticated() (default deny) and audit it', async () => {
      const err = await client.call('listServices', {}).then(
        () => undefined,
        (e: grpc.ServiceError) => e,
      );
      expect(err?.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(lines.filter((l) => l.msg === 'rpc')).toEqual([expect.objectContaining({ method: 'ListServices', code: 'PERMISSION_DENIED' })]);
    });

    it('should audit a guard rejection (no token) without any token in the log', async () => {
      const err = await client.call('nodeStatus', {}, { authorization: 'Bearer not-the-token' }).then(
        () => undefined,
        (e: grpc.ServiceError) => e,
      );
      expect(err?.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(lines.filter((l) => l.msg === 'rpc')).toEqual([expect.objectContaining({ method: 'NodeStatus', caller: '', code: 'UNAUTHENTICATED' })]);
      expect(JSON.stringify(lines)).not.toContain('not-the-token');
    });
  });

  describe('server-streaming RPCs', () => {
    it.each(cases)('should deliver %s as its gRPC code after the data already sent', async (_name, error, code) => {
      nextError = error;
      const { err, received } = await serverStreamError();
      expect(err.code).toBe(code);
      expect(received).toBe(1);
    });

    it('should deliver an unknown error as INTERNAL', async () => {
      nextError = new Error('secret');
      const { err } = await serverStreamError();
      expect(err.code).toBe(grpc.status.INTERNAL);
      expect(err.details).toBe(INTERNAL_MESSAGE);
    });
  });

  describe('audit of streams that do not fail', () => {
    it('should audit a completed server stream as OK once', async () => {
      await new Promise<void>((resolve, reject) => {
        const stream = client.raw.pullFile({ service: 'web', path: 'a.txt' }, client.metadata());
        stream.on('data', () => undefined);
        stream.on('end', () => resolve());
        stream.on('error', reject);
      });
      expect(lines.filter((l) => l.msg === 'rpc')).toEqual([expect.objectContaining({ method: 'PullFile', caller: 'alice', service: 'web', code: 'OK' })]);
    });

    it('should audit a stream the client cancels as CANCELLED', async () => {
      await new Promise<void>((resolve) => {
        const stream = client.raw.pullFile({ service: 'web', path: 'forever' }, client.metadata());
        stream.on('data', () => stream.cancel());
        stream.on('error', () => resolve());
      });
      // The server learns of the cancel asynchronously.
      const deadline = Date.now() + 2000;
      while (!lines.some((l) => l.msg === 'rpc') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(lines.filter((l) => l.msg === 'rpc')).toEqual([expect.objectContaining({ method: 'PullFile', code: 'CANCELLED' })]);
    });
  });

  describe('client-streaming (@GrpcStreamCall) RPCs', () => {
    it.each(cases)('should deliver %s as its gRPC code', async (_name, error, code) => {
      nextError = error;
      const err = await clientStreamError();
      expect(err.code).toBe(code);
      expect(err.details).toBe((error as Error).message);
    });

    it('should audit the failed stream once', async () => {
      nextError = new PathOutsideServiceError('outside');
      await clientStreamError();
      expect(lines.filter((l) => l.msg === 'rpc')).toEqual([expect.objectContaining({ method: 'PushFile', caller: 'alice', code: 'PERMISSION_DENIED' })]);
    });

    it('should reject an unauthenticated stream with UNAUTHENTICATED', async () => {
      const err = await new Promise<grpc.ServiceError>((resolve, reject) => {
        const stream = client.raw.pushFile(client.metadata({ token: null }), (e) => (e ? resolve(e) : reject(new Error('expected failure'))));
        stream.end();
      });
      expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    });
  });

  describe('TLS (agentGrpcOptions)', () => {
    function handshake(options: tls.ConnectionOptions): Promise<string> {
      const [host, port] = address.split(':');
      return new Promise((resolve, reject) => {
        const socket = tls.connect({ host, port: Number(port), servername: 'localhost', ca: fs.readFileSync(caCertPath), ALPNProtocols: ['h2'], ...options }, () => {
          const version = socket.getProtocol() ?? '';
          socket.destroy();
          resolve(version);
        });
        socket.once('error', reject);
      });
    }

    it('should speak TLS 1.3', async () => {
      await expect(handshake({})).resolves.toBe('TLSv1.3');
    });

    it('should refuse a client limited to TLS 1.2', async () => {
      await expect(handshake({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })).rejects.toThrow(/protocol version|alert/i);
    });
  });
});
