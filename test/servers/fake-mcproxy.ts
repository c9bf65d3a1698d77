/**
 * A fake mc-proxy admin API (SPEC §5) for tests: a real @grpc/grpc-js server bound to
 * `unix://<socketPath>` implementing ProxyAdminService from proto/mc_proxy/v1/admin.proto.
 *
 *   const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mcp-proxy-'));
 *   const proxy = await startFakeMcproxy({ socketPath: path.join(dir, 'mc-proxy.sock') });
 *   // agent config: [mcproxy] socket = proxy.socketPath
 *   proxy.routes();          // [{ listener: ':443', hostname, backend, mode, tlsCert, ... }]
 *   proxy.calls;             // [{ method: 'AddRoute', request }] in order
 *   proxy.failNext('AddRoute', grpc.status.UNAVAILABLE, 'proxy is reloading'); // one scripted failure
 *   await proxy.close();     // in afterAll; removes the socket file
 *
 * Behaviour: AddRoute upserts on (listener, hostname) and refuses (INVALID_ARGUMENT) an
 * empty listener/hostname/backend, a mode other than l4/l7, and an l7 route without
 * tls_cert and tls_key. RemoveRoute of a missing route succeeds. ListRoutes filters by
 * listener when given. GetStatus reports version "fake-mc-proxy", the listeners in use and
 * the route count.
 */
import { promises as fs } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { proxyAdminServiceDefinition, ProxyAdminMethod } from '@mcp/mcproxy';
import { mcproxyv1 } from '@mcp/proto';

export interface FakeMcproxyRoute {
  listener: string;
  hostname: string;
  backend: string;
  mode: string;
  tlsCert: string;
  tlsKey: string;
  backendTls: boolean;
  sendProxyProtocol: boolean;
}

export interface FakeMcproxyCall {
  method: ProxyAdminMethod;
  request: unknown;
}

export interface FakeMcproxy {
  readonly socketPath: string;
  readonly calls: FakeMcproxyCall[];
  /** Current routes, sorted by listener then hostname. */
  routes(): FakeMcproxyRoute[];
  /** The next call of `method` fails with this status (once). */
  failNext(method: ProxyAdminMethod, code: grpc.status, details: string): void;
  close(): Promise<void>;
}

export const FAKE_MCPROXY_VERSION = 'fake-mc-proxy';

export async function startFakeMcproxy(options: { socketPath: string }): Promise<FakeMcproxy> {
  const table = new Map<string, FakeMcproxyRoute>();
  const calls: FakeMcproxyCall[] = [];
  const failures = new Map<ProxyAdminMethod, { code: grpc.status; details: string }>();
  const keyOf = (listener: string, hostname: string): string => `${listener}\u0000${hostname.toLowerCase()}`;

  const unary =
    <Req, Res>(method: ProxyAdminMethod, handler: (request: Req) => Res) =>
    (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>): void => {
      calls.push({ method, request: call.request });
      const failure = failures.get(method);
      if (failure) {
        failures.delete(method);
        callback({ code: failure.code, details: failure.details });
        return;
      }
      try {
        callback(null, handler(call.request));
      } catch (error) {
        if (error instanceof FakeProxyError) {
          callback({ code: error.code, details: error.message });
          return;
        }
        callback({ code: grpc.status.INTERNAL, details: String(error) });
      }
    };

  const implementation: grpc.UntypedServiceImplementation = {
    AddRoute: unary<mcproxyv1.AddRouteRequest, mcproxyv1.AddRouteResponse>('AddRoute', (request) => {
      const route = request.route;
      const problems: string[] = [];
      if (!request.listener) problems.push('listener is required');
      if (!route) {
        problems.push('route is required');
      } else {
        if (!route.hostname) problems.push('route.hostname is required');
        if (!route.backend) problems.push('route.backend is required');
        if (route.mode !== 'l4' && route.mode !== 'l7') problems.push(`route.mode "${route.mode}" must be l4 or l7`);
        if (route.mode === 'l7' && (!route.tlsCert || !route.tlsKey)) {
          problems.push('l7 routes require tls_cert and tls_key');
        }
      }
      if (problems.length > 0 || !route) throw new FakeProxyError(grpc.status.INVALID_ARGUMENT, problems.join('; '));
      table.set(keyOf(request.listener, route.hostname), {
        listener: request.listener,
        hostname: route.hostname,
        backend: route.backend,
        mode: route.mode,
        tlsCert: route.tlsCert,
        tlsKey: route.tlsKey,
        backendTls: route.backendTls,
        sendProxyProtocol: route.sendProxyProtocol,
      });
      return {};
    }),
    RemoveRoute: unary<mcproxyv1.RemoveRouteRequest, mcproxyv1.RemoveRouteResponse>('RemoveRoute', (request) => {
      if (!request.listener || !request.hostname) {
        throw new FakeProxyError(grpc.status.INVALID_ARGUMENT, 'listener and hostname are required');
      }
      table.delete(keyOf(request.listener, request.hostname));
      return {};
    }),
    ListRoutes: unary<mcproxyv1.ListRoutesRequest, mcproxyv1.ListRoutesResponse>('ListRoutes', (request) => ({
      routes: sorted()
        .filter((route) => !request.listener || route.listener === request.listener)
        .map((route) => ({ listener: route.listener, route: toWire(route) })),
    })),
    GetStatus: unary<mcproxyv1.GetStatusRequest, mcproxyv1.GetStatusResponse>('GetStatus', () => ({
      version: FAKE_MCPROXY_VERSION,
      listeners: [...new Set(sorted().map((route) => route.listener))],
      routeCount: table.size,
    })),
  };

  const sorted = (): FakeMcproxyRoute[] =>
    [...table.values()].sort(
      (a, b) => a.listener.localeCompare(b.listener) || a.hostname.localeCompare(b.hostname),
    );

  await fs.rm(options.socketPath, { force: true });
  const server = new grpc.Server();
  server.addService(proxyAdminServiceDefinition(), implementation);
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix://${options.socketPath}`, grpc.ServerCredentials.createInsecure(), (error) =>
      error ? reject(error) : resolve(),
    );
  });

  return {
    socketPath: options.socketPath,
    calls,
    routes: () => sorted().map((route) => ({ ...route })),
    failNext: (method, code, details) => {
      failures.set(method, { code, details });
    },
    close: async () => {
      // Tests are done with it: do not wait for clients to hang up.
      server.forceShutdown();
      await fs.rm(options.socketPath, { force: true });
    },
  };
}

class FakeProxyError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

function toWire(route: FakeMcproxyRoute): mcproxyv1.Route {
  return {
    hostname: route.hostname,
    backend: route.backend,
    mode: route.mode,
    tlsCert: route.tlsCert,
    tlsKey: route.tlsKey,
    backendTls: route.backendTls,
    sendProxyProtocol: route.sendProxyProtocol,
  };
}
