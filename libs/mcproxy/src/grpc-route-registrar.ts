import { existsSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { OnModuleDestroy } from '@nestjs/common';
import { RouteRegistrationError } from '@mcp/common';
import { mcproxyv1 } from '@mcp/proto';
import { ProxyAdminMethod, proxyAdminServiceDefinition } from './proxy-admin-definition';
import { ProxyRoute, ProxyStatus, RouteRegistrar } from './route-registrar';

export interface GrpcRouteRegistrarOptions {
  /** Filesystem path of mc-proxy's admin socket, e.g. /srv/mc-proxy/mc-proxy.sock. */
  socketPath: string;
  /** Per-call deadline; default 5 s. */
  deadlineMs?: number;
}

const DEFAULT_DEADLINE_MS = 5_000;

/**
 * RouteRegistrar over mc-proxy's gRPC admin API on a Unix socket (SPEC §5). No TLS and no
 * token: access is by the socket's file permission. Every failure is a RouteRegistrationError
 * naming the socket, so the operator knows which proxy to look at.
 */
export class GrpcRouteRegistrar extends RouteRegistrar implements OnModuleDestroy {
  readonly enabled = true;
  private client?: grpc.Client;
  private readonly deadlineMs: number;

  constructor(private readonly options: GrpcRouteRegistrarOptions) {
    super();
    this.deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
  }

  get socketPath(): string {
    return this.options.socketPath;
  }

  async add(route: ProxyRoute): Promise<void> {
    const request: mcproxyv1.AddRouteRequest = {
      listener: route.listener,
      route: {
        hostname: route.hostname,
        backend: route.backend,
        mode: route.mode,
        tlsCert: route.tlsCert ?? '',
        tlsKey: route.tlsKey ?? '',
        backendTls: route.backendTls ?? false,
        sendProxyProtocol: route.sendProxyProtocol ?? false,
      },
    };
    await this.call<mcproxyv1.AddRouteRequest, mcproxyv1.AddRouteResponse>('AddRoute', request);
  }

  async remove(input: { listener: string; hostname: string }): Promise<void> {
    await this.call<mcproxyv1.RemoveRouteRequest, mcproxyv1.RemoveRouteResponse>('RemoveRoute', {
      listener: input.listener,
      hostname: input.hostname,
    });
  }

  async list(): Promise<ProxyRoute[]> {
    const response = await this.call<mcproxyv1.ListRoutesRequest, mcproxyv1.ListRoutesResponse>('ListRoutes', {
      listener: '',
    });
    const routes: mcproxyv1.ListenerRoute[] = response.routes ?? [];
    return routes.flatMap((item) => (item.route ? [toProxyRoute(item.listener, item.route)] : []));
  }

  async status(): Promise<ProxyStatus> {
    const response = await this.call<mcproxyv1.GetStatusRequest, mcproxyv1.GetStatusResponse>('GetStatus', {});
    return {
      version: response.version ?? '',
      listeners: [...(response.listeners ?? [])],
      routeCount: Number(response.routeCount ?? 0),
    };
  }

  close(): void {
    this.client?.close();
    this.client = undefined;
  }

  onModuleDestroy(): void {
    this.close();
  }

  private call<Req, Res>(method: ProxyAdminMethod, request: Req): Promise<Res> {
    const socket = this.options.socketPath;
    // grpc-js would only say "No connection established"; a missing socket deserves its own words.
    if (!existsSync(socket)) {
      return Promise.reject(
        new RouteRegistrationError(`mc-proxy ${method} failed: socket ${socket} does not exist (is mc-proxy running?)`),
      );
    }
    const definition = proxyAdminServiceDefinition()[method];
    const client = this.connect();
    return new Promise<Res>((resolve, reject) => {
      client.makeUnaryRequest<Req, Res>(
        definition.path,
        definition.requestSerialize,
        definition.responseDeserialize,
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + this.deadlineMs },
        (error, response) => {
          if (error) {
            reject(
              new RouteRegistrationError(
                `mc-proxy ${method} on socket ${socket} failed: ${grpc.status[error.code] ?? error.code}: ${error.details || error.message}`,
                { cause: error },
              ),
            );
            return;
          }
          if (response === undefined) {
            reject(new RouteRegistrationError(`mc-proxy ${method} on socket ${socket} returned no response`));
            return;
          }
          resolve(response);
        },
      );
    });
  }

  private connect(): grpc.Client {
    this.client ??= new grpc.Client(`unix://${this.options.socketPath}`, grpc.credentials.createInsecure());
    return this.client;
  }
}

function toProxyRoute(listener: string, route: mcproxyv1.Route): ProxyRoute {
  const result: ProxyRoute = {
    listener,
    hostname: route.hostname,
    backend: route.backend,
    // The proto carries mode as text; anything but l7 is passed through as plain TCP (l4).
    mode: route.mode.toLowerCase() === 'l7' ? 'l7' : 'l4',
    backendTls: route.backendTls,
    sendProxyProtocol: route.sendProxyProtocol,
  };
  if (route.tlsCert) result.tlsCert = route.tlsCert;
  if (route.tlsKey) result.tlsKey = route.tlsKey;
  return result;
}
