/**
 * mc-proxy route registration (SPEC §5). Adapters: GrpcRouteRegistrar on the admin Unix
 * socket, and NoopRouteRegistrar when no socket is configured (says so once in the log).
 */
export interface ProxyRoute {
  /** e.g. ":443" */
  listener: string;
  hostname: string;
  /** host:port */
  backend: string;
  mode: 'l4' | 'l7';
  tlsCert?: string;
  tlsKey?: string;
  backendTls?: boolean;
  sendProxyProtocol?: boolean;
}

export interface ProxyStatus {
  version: string;
  listeners: string[];
  routeCount: number;
}

export abstract class RouteRegistrar {
  /** False for the no-op registrar. */
  abstract readonly enabled: boolean;
  /** Upsert on (listener, hostname). */
  abstract add(route: ProxyRoute): Promise<void>;
  /** Removing a missing route is not an error. */
  abstract remove(input: { listener: string; hostname: string }): Promise<void>;
  abstract list(): Promise<ProxyRoute[]>;
  abstract status(): Promise<ProxyStatus>;
}
