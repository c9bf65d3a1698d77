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
 * Forwarding: like mc-proxy's l4 mode, each listener that has routes accepts TCP connections
 * (on a loopback port the OS picks, since tests cannot bind :443) and pipes each one to the
 * backend its route names at the moment the connection arrives, so a test can send real
 * traffic through the proxy while routes are switched. `proxy.listenerPort(':443')` gives the
 * port. A listener with several hostnames forwards by the TLS ClientHello's SNI; a connection
 * without one (plain HTTP) goes to the listener's first route. A backend that refuses the
 * connection closes the client's.
 *
 * Behaviour: AddRoute upserts on (listener, hostname) and refuses (INVALID_ARGUMENT) an
 * empty listener/hostname/backend, a mode other than l4/l7, and an l7 route without
 * tls_cert and tls_key. RemoveRoute of a missing route succeeds. ListRoutes filters by
 * listener when given. GetStatus reports version "fake-mc-proxy", the listeners in use and
 * the route count.
 */
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
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
  /** The loopback port that stands for `listener` (e.g. ':443'); undefined until a route uses it. */
  listenerPort(listener: string): number | undefined;
  /** Connections forwarded, and those whose backend could not be reached. */
  readonly forwarded: { connections: number; backendFailures: number };
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
  const listeners = new Map<string, { server: net.Server; port: number }>();
  const sockets = new Set<net.Socket>();
  const forwarded = { connections: 0, backendFailures: 0 };

  /** Picks the route for a new connection on `listener`: by SNI when the first bytes carry one. */
  const routeFor = (listener: string, first: Buffer): FakeMcproxyRoute | undefined => {
    const candidates = sorted().filter((route) => route.listener === listener);
    const sni = sniOf(first);
    return (sni && candidates.find((route) => route.hostname.toLowerCase() === sni.toLowerCase())) || candidates[0];
  };

  const forward = (listener: string, client: net.Socket): void => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    client.once('error', () => client.destroy());
    client.once('data', (first: Buffer) => {
      client.pause();
      const route = routeFor(listener, first);
      forwarded.connections++;
      const [host, port] = route ? splitHostPort(route.backend) : ['', 0];
      if (!route || !port) {
        forwarded.backendFailures++;
        client.destroy();
        return;
      }
      const backend = net.connect({ host, port });
      let connected = false;
      sockets.add(backend);
      backend.once('close', () => sockets.delete(backend));
      backend.once('connect', () => {
        connected = true;
        backend.write(first);
        client.pipe(backend);
        backend.pipe(client);
        client.resume();
      });
      backend.once('error', () => {
        if (!connected) forwarded.backendFailures++;
        backend.destroy();
        client.destroy();
      });
      client.once('close', () => backend.end());
      backend.once('end', () => client.end());
    });
  };

  const ensureListener = async (listener: string): Promise<void> => {
    if (listeners.has(listener)) return;
    const server = net.createServer((client) => forward(listener, client));
    listeners.set(listener, { server, port: 0 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    listeners.get(listener)!.port = (server.address() as net.AddressInfo).port;
  };

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
      void ensureListener(request.listener);
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
    listenerPort: (listener) => listeners.get(listener)?.port || undefined,
    forwarded,
    failNext: (method, code, details) => {
      failures.set(method, { code, details });
    },
    close: async () => {
      // Tests are done with it: do not wait for clients to hang up.
      server.forceShutdown();
      for (const socket of sockets) socket.destroy();
      await Promise.all([...listeners.values()].map(({ server: listening }) => new Promise((resolve) => listening.close(resolve))));
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

function splitHostPort(backend: string): [string, number] {
  const colon = backend.lastIndexOf(':');
  return [backend.slice(0, colon).replace(/^\[|\]$/g, ''), Number(backend.slice(colon + 1))];
}

/** The server name of a TLS ClientHello, if `data` starts with one (enough for tests). */
export function sniOf(data: Buffer): string | undefined {
  try {
    if (data[0] !== 0x16 || data[5] !== 0x01) return undefined;
    let at = 9 + 2 + 32; // record header 5 + handshake header 4, version, random
    at += 1 + data[at]; // session id
    at += 2 + data.readUInt16BE(at); // cipher suites
    at += 1 + data[at]; // compression methods
    const end = at + 2 + data.readUInt16BE(at);
    at += 2;
    while (at + 4 <= end) {
      const type = data.readUInt16BE(at);
      const length = data.readUInt16BE(at + 2);
      if (type === 0) {
        const nameLength = data.readUInt16BE(at + 7);
        return data.subarray(at + 9, at + 9 + nameLength).toString('ascii');
      }
      at += 4 + length;
    }
  } catch {
    return undefined;
  }
  return undefined;
}
