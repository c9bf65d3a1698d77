import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { proxyAdminServiceDefinition } from '@mcp/mcproxy';
import { mcproxyv1 } from '@mcp/proto';
import { FakeMcproxy, sniOf, startFakeMcproxy } from './fake-mcproxy';

describe(startFakeMcproxy.name, () => {
  let dir: string;
  let sut: FakeMcproxy;
  let client: grpc.Client;

  const addRoute = (request: mcproxyv1.AddRouteRequest): Promise<grpc.ServiceError | null> => {
    const method = proxyAdminServiceDefinition().AddRoute;
    return new Promise((resolve) => {
      client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + 5_000 },
        (error) => resolve(error),
      );
    });
  };

  const route = (overrides: Partial<mcproxyv1.Route>): mcproxyv1.Route => ({
    hostname: 'a.example.net',
    backend: '127.0.0.1:1',
    mode: 'l4',
    tlsCert: '',
    tlsKey: '',
    backendTls: false,
    sendProxyProtocol: false,
    ...overrides,
  });

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mcp-fake-proxy-'));
    sut = await startFakeMcproxy({ socketPath: path.join(dir, 'admin.sock') });
    client = new grpc.Client(`unix://${sut.socketPath}`, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client.close();
    await sut.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['an empty listener', { listener: '', route: route({}) }, 'listener is required'],
    ['an unknown mode', { listener: ':443', route: route({ mode: 'l5' }) }, 'must be l4 or l7'],
    ['an l7 route without a key', { listener: ':443', route: route({ mode: 'l7', tlsCert: '/c.pem' }) }, 'tls_key'],
    ['a missing backend', { listener: ':443', route: route({ backend: '' }) }, 'route.backend is required'],
  ])('should refuse %s with INVALID_ARGUMENT', async (_case, request, details) => {
    const error = await addRoute(request);

    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error?.details).toContain(details);
    expect(sut.routes()).toEqual([]);
  });

  describe('forwarding', () => {
    const servers: http.Server[] = [];
    const backend = async (body: string): Promise<number> => {
      const server = http.createServer((_req, res) => res.end(body));
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return (server.address() as net.AddressInfo).port;
    };
    const get = (port: number): Promise<string> =>
      new Promise((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve(body));
        }).on('error', reject);
      });
    const listening = async (listener: string): Promise<number> => {
      for (let i = 0; i < 100 && !sut.listenerPort(listener); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      return sut.listenerPort(listener)!;
    };

    afterAll(() => servers.forEach((server) => server.close()));

    it('should forward each connection to the backend the route names at that moment', async () => {
      const one = await backend('one');
      const two = await backend('two');
      expect(await addRoute({ listener: ':8443', route: route({ hostname: 'fwd.example.net', backend: `127.0.0.1:${one}` }) })).toBeNull();
      const port = await listening(':8443');

      expect(await get(port)).toBe('one');
      expect(await addRoute({ listener: ':8443', route: route({ hostname: 'fwd.example.net', backend: `127.0.0.1:${two}` }) })).toBeNull();
      expect(await get(port)).toBe('two');
    });

    it('should close the client and count it when the backend refuses', async () => {
      const closed = await backend('gone');
      servers.pop()!.close();
      expect(await addRoute({ listener: ':9443', route: route({ hostname: 'dead.example.net', backend: `127.0.0.1:${closed}` }) })).toBeNull();
      const before = sut.forwarded.backendFailures;

      await expect(get(await listening(':9443'))).rejects.toThrow();
      expect(sut.forwarded.backendFailures).toBe(before + 1);
    });

    it('should read the SNI of a TLS ClientHello', () => {
      const hello = Buffer.from(
        '16030100a5010000a10303' + '00'.repeat(32) + '00' + '0002c02f' + '0100' + '0018' + '0000' + '0014' + '0012' + '00' + '000f' + Buffer.from('sni.example.net').toString('hex'),
        'hex',
      );
      expect(sniOf(hello)).toBe('sni.example.net');
      expect(sniOf(Buffer.from('GET / HTTP/1.1\r\n'))).toBeUndefined();
    });
  });

  it('should record calls', async () => {
    await expect(addRoute({ listener: ':443', route: route({}) })).resolves.toBeNull();

    expect(sut.calls.at(-1)).toMatchObject({ method: 'AddRoute', request: { listener: ':443' } });
  });

  it('should remove its socket file on close', async () => {
    const other = await startFakeMcproxy({ socketPath: path.join(dir, 'other.sock') });
    await expect(fs.stat(other.socketPath)).resolves.toBeDefined();

    await other.close();

    await expect(fs.stat(other.socketPath)).rejects.toThrow('ENOENT');
  });
});
