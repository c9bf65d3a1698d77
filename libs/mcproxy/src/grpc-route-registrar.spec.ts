import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { RouteRegistrationError } from '@mcp/common';
import { FakeMcproxy, startFakeMcproxy } from '../../../test/servers/fake-mcproxy';
import { GrpcRouteRegistrar } from './grpc-route-registrar';
import { ProxyRoute } from './route-registrar';

const l4Route: ProxyRoute = {
  listener: ':443',
  hostname: 'metacrypt.svc.example.net',
  backend: '10.0.0.5:8443',
  mode: 'l4',
};

const l7Route: ProxyRoute = {
  listener: ':443',
  hostname: 'mcr.svc.example.net',
  backend: '127.0.0.1:28001',
  mode: 'l7',
  tlsCert: '/srv/mc-proxy/certs/mcr.pem',
  tlsKey: '/srv/mc-proxy/certs/mcr.key',
  backendTls: false,
  sendProxyProtocol: true,
};

describe(GrpcRouteRegistrar.name, () => {
  let dir: string;
  let socketPath: string;
  let proxy: FakeMcproxy;
  let sut: GrpcRouteRegistrar;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mcp-mcproxy-'));
  });

  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    socketPath = path.join(dir, `mc-proxy-${Date.now()}.sock`);
    proxy = await startFakeMcproxy({ socketPath });
    sut = new GrpcRouteRegistrar({ socketPath });
  });

  afterEach(async () => {
    sut.close();
    await proxy.close();
  });

  it('should be enabled', () => {
    expect(sut.enabled).toBe(true);
  });

  describe('add', () => {
    it('should register an l4 route on the listener', async () => {
      await sut.add(l4Route);

      expect(proxy.routes()).toEqual([
        {
          listener: ':443',
          hostname: 'metacrypt.svc.example.net',
          backend: '10.0.0.5:8443',
          mode: 'l4',
          tlsCert: '',
          tlsKey: '',
          backendTls: false,
          sendProxyProtocol: false,
        },
      ]);
    });

    it('should register an l7 route with its certificate paths and flags', async () => {
      await sut.add(l7Route);

      expect(proxy.routes()).toEqual([
        {
          listener: ':443',
          hostname: 'mcr.svc.example.net',
          backend: '127.0.0.1:28001',
          mode: 'l7',
          tlsCert: '/srv/mc-proxy/certs/mcr.pem',
          tlsKey: '/srv/mc-proxy/certs/mcr.key',
          backendTls: false,
          sendProxyProtocol: true,
        },
      ]);
    });

    it('should upsert on (listener, hostname)', async () => {
      await sut.add(l4Route);
      await sut.add({ ...l4Route, backend: '10.0.0.6:9443' });
      await sut.add({ ...l4Route, listener: ':8443' });

      expect(proxy.routes().map((route) => [route.listener, route.hostname, route.backend])).toEqual([
        [':443', 'metacrypt.svc.example.net', '10.0.0.6:9443'],
        [':8443', 'metacrypt.svc.example.net', '10.0.0.5:8443'],
      ]);
    });

    it('should surface the refusal of an l7 route without a certificate', async () => {
      const error = await sut
        .add({ ...l7Route, tlsCert: undefined, tlsKey: undefined })
        .catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(RouteRegistrationError);
      expect((error as Error).message).toContain('INVALID_ARGUMENT');
      expect((error as Error).message).toContain('l7 routes require tls_cert and tls_key');
      expect((error as Error).message).toContain(socketPath);
      expect(proxy.routes()).toEqual([]);
    });

    it('should report a proxy-side failure as RouteRegistrationError naming the socket', async () => {
      proxy.failNext('AddRoute', grpc.status.UNAVAILABLE, 'reloading');

      const error = await sut.add(l4Route).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(RouteRegistrationError);
      expect((error as Error).message).toBe(`mc-proxy AddRoute on socket ${socketPath} failed: UNAVAILABLE: reloading`);
    });
  });

  describe('remove', () => {
    it('should remove only the named route', async () => {
      await sut.add(l4Route);
      await sut.add(l7Route);

      await sut.remove({ listener: ':443', hostname: l4Route.hostname });

      expect(proxy.routes().map((route) => route.hostname)).toEqual([l7Route.hostname]);
    });

    it('should not fail for a missing route', async () => {
      await expect(sut.remove({ listener: ':443', hostname: 'absent.example.net' })).resolves.toBeUndefined();
    });
  });

  describe('list', () => {
    it('should map the proxy routes back to ProxyRoute', async () => {
      await sut.add(l4Route);
      await sut.add(l7Route);

      // The proxy lists by listener, then hostname.
      await expect(sut.list()).resolves.toEqual([
        l7Route,
        { ...l4Route, backendTls: false, sendProxyProtocol: false },
      ]);
    });
  });

  describe('status', () => {
    it('should report version, listeners and route count', async () => {
      await sut.add(l4Route);
      await sut.add({ ...l7Route, listener: ':8443' });

      await expect(sut.status()).resolves.toEqual({
        version: 'fake-mc-proxy',
        listeners: [':443', ':8443'],
        routeCount: 2,
      });
    });
  });

  describe('without a proxy', () => {
    it('should fail with RouteRegistrationError when the socket does not exist', async () => {
      const missing = path.join(dir, 'missing.sock');
      sut.close();
      sut = new GrpcRouteRegistrar({ socketPath: missing });

      const error = await sut.add(l4Route).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(RouteRegistrationError);
      expect((error as Error).message).toContain(`socket ${missing} does not exist`);
    });

    it('should fail with RouteRegistrationError when nothing listens on the socket file', async () => {
      await proxy.close();
      const stale = path.join(dir, 'stale.sock');
      await fs.writeFile(stale, '');
      sut.close();
      sut = new GrpcRouteRegistrar({ socketPath: stale, deadlineMs: 2_000 });

      const error = await sut.status().catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(RouteRegistrationError);
      expect((error as Error).message).toContain(stale);
    });
  });
});
