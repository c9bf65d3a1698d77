import { Logger } from '@nestjs/common';
import { ProxyRoute, ProxyStatus, RouteRegistrar } from './route-registrar';

export interface NoopRouteRegistrarOptions {
  /** Where the one-time notice goes; Nest's Logger by default. */
  log?: (message: string) => void;
}

export const ROUTE_REGISTRATION_SKIPPED_MESSAGE = 'mc-proxy socket not configured: route registration skipped';

/** RouteRegistrar for a node without mc-proxy: does nothing, and says so once (SPEC §5). */
export class NoopRouteRegistrar extends RouteRegistrar {
  readonly enabled = false;
  private noticed = false;
  private readonly log: (message: string) => void;

  constructor(options: NoopRouteRegistrarOptions = {}) {
    super();
    const logger = new Logger('RouteRegistrar');
    this.log = options.log ?? ((message) => logger.log(message));
  }

  async add(_route: ProxyRoute): Promise<void> {
    this.notice();
  }

  async remove(_input: { listener: string; hostname: string }): Promise<void> {
    this.notice();
  }

  async list(): Promise<ProxyRoute[]> {
    return [];
  }

  async status(): Promise<ProxyStatus> {
    return { version: '', listeners: [], routeCount: 0 };
  }

  private notice(): void {
    if (this.noticed) return;
    this.noticed = true;
    this.log(ROUTE_REGISTRATION_SKIPPED_MESSAGE);
  }
}
