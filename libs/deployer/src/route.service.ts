import { Injectable } from '@nestjs/common';
import { RouteRegistrar, type ProxyRoute } from '@mcp/mcproxy';
import type { RouteRecord } from '@mcp/registry';
import { certificatePaths } from './certificate-provider';
import { DeployerOptions } from './deployer-options';

/**
 * Registers a service's routes with mc-proxy (SPEC §2 step 6) and removes them. AddRoute is
 * an upsert on (listener, hostname), so registering again is harmless; removing a missing
 * route is not an error. Routes without a host port are skipped.
 */
@Injectable()
export class RouteService {
  constructor(
    private readonly registrar: RouteRegistrar,
    private readonly options: DeployerOptions,
  ) {}

  /** Whether an mc-proxy is configured (else registration is skipped and there is nothing to switch). */
  get proxyConfigured(): boolean {
    return this.registrar.enabled;
  }

  /** Throws (RouteRegistrationError naming the socket) when mc-proxy does not answer. */
  async checkProxy(): Promise<void> {
    await this.registrar.status();
  }

  /** The mc-proxy view of one route. */
  toProxyRoute(input: { service: string; route: RouteRecord }): ProxyRoute | undefined {
    const { route, service } = input;
    if (route.hostPort === null) return undefined;
    const proxy: ProxyRoute = {
      listener: `:${route.port}`,
      hostname: route.hostname,
      backend: `${this.options.routeBindAddress}:${route.hostPort}`,
      mode: route.mode,
    };
    if (route.mode === 'l7') {
      const paths = certificatePaths({ certDir: this.options.certDir, service });
      proxy.tlsCert = paths.certPath;
      proxy.tlsKey = paths.keyPath;
    }
    return proxy;
  }

  /** Registers each route; returns the ones registered (so a failed attempt can undo them). */
  async register(input: { service: string; routes: RouteRecord[] }): Promise<ProxyRoute[]> {
    const done: ProxyRoute[] = [];
    for (const route of input.routes) {
      const proxy = this.toProxyRoute({ service: input.service, route });
      if (!proxy) continue;
      await this.registrar.add(proxy);
      done.push(proxy);
    }
    return done;
  }

  async unregister(input: { routes: Array<{ port: number; hostname: string }> }): Promise<void> {
    for (const route of input.routes) {
      await this.registrar.remove({ listener: `:${route.port}`, hostname: route.hostname });
    }
  }
}
