import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { proxyAdminServiceDefinition } from '@mcp/mcproxy';
import { mcproxyv1 } from '@mcp/proto';
import { FakeMcproxy, startFakeMcproxy } from './fake-mcproxy';

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
