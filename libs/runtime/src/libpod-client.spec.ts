import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RuntimeUnavailableError } from '@mcp/common';
import { LibpodClient } from './libpod-client';

/**
 * A fake API server on a Unix socket that answers the first request on each connection and
 * drops the connection at the second: what a kept-alive connection the server has just
 * closed looks like to the client.
 */
class DroppingServer {
  readonly requests: string[] = [];
  connections = 0;
  private readonly served = new WeakSet<Socket>();
  private readonly server = http.createServer((request, response) => {
    this.requests.push(`${request.method} ${request.url}`);
    if (this.served.has(request.socket)) {
      request.socket.destroy();
      return;
    }
    this.served.add(request.socket);
    response.writeHead(200, { 'Content-Type': 'application/json' });
    response.end('[]');
  });

  constructor(readonly socketPath: string) {
    this.server.on('connection', () => this.connections++);
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(this.socketPath, resolve));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe(LibpodClient.name, () => {
  const work = mkdtempSync(path.join(tmpdir(), 'mcptest-lpc-'));
  let server: DroppingServer;
  let sut: LibpodClient;

  beforeEach(async () => {
    server = new DroppingServer(path.join(work, `api-${Date.now()}-${Math.random().toString(16).slice(2)}.sock`));
    await server.listen();
    sut = new LibpodClient(server.socketPath);
  });

  afterEach(async () => {
    sut.close();
    await server.close();
  });

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  describe('request', () => {
    it('should send the request under the API prefix and buffer the answer', async () => {
      const first = await sut.request({ method: 'GET', path: '/containers/json', timeoutMs: 5000 });

      expect(first).toEqual({ status: 200, body: Buffer.from('[]') });
      expect(server.connections).toBe(1);
      expect(server.requests).toEqual(['GET /v4.0.0/libpod/containers/json']);
    });

    it('should send an idempotent request again on a new connection when the kept-alive one was dropped', async () => {
      await sut.request({ method: 'GET', path: '/containers/json', query: { all: true }, timeoutMs: 5000 });

      const second = await sut.request({ method: 'GET', path: '/containers/json', query: { all: true }, timeoutMs: 5000 });

      expect(second.status).toBe(200);
      expect(server.connections).toBe(2);
      expect(server.requests).toEqual([
        'GET /v4.0.0/libpod/containers/json?all=true',
        'GET /v4.0.0/libpod/containers/json?all=true',
        'GET /v4.0.0/libpod/containers/json?all=true',
      ]);
    });

    it('should not send a non-idempotent request twice, and report the runtime unavailable', async () => {
      await sut.request({ method: 'GET', path: '/_ping', timeoutMs: 5000 });

      const error = await sut
        .request({ method: 'POST', path: '/containers/create', body: { name: 'x' }, timeoutMs: 5000 })
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(RuntimeUnavailableError);
      expect((error as Error).message).toBe(
        `container runtime unavailable: podman API socket ${server.socketPath}: connection reset (podman system service went away)`,
      );
      expect(server.requests.filter((request) => request.startsWith('POST'))).toHaveLength(1);
    });
  });
});
