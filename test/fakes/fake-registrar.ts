import { ProxyRoute, ProxyStatus, RouteRegistrar } from '@mcp/mcproxy';

/**
 * In-memory RouteRegistrar: upserts on (listener, hostname) like mc-proxy, records every call,
 * and can fail on demand.
 *
 *   const proxy = new FakeRegistrar();
 *   proxy.failNext('add', new RouteRegistrationError('mc-proxy down'));
 *   proxy.routes();   // current table
 *   proxy.calls;      // [{ method: 'add', route }, { method: 'remove', listener, hostname }, ...]
 *
 * `enabled` can be set false to stand in for the no-op registrar; calls are still recorded.
 */
export type FakeRegistrarMethod = 'add' | 'remove' | 'list' | 'status';

export type FakeRegistrarCall =
  | { method: 'add'; route: ProxyRoute }
  | { method: 'remove'; listener: string; hostname: string }
  | { method: 'list' }
  | { method: 'status' };

export class FakeRegistrar extends RouteRegistrar {
  enabled = true;
  readonly calls: FakeRegistrarCall[] = [];
  private readonly table = new Map<string, ProxyRoute>();
  private readonly failures = new Map<FakeRegistrarMethod, Error[]>();
  private failAlways?: Error;

  /** The next call of `method` throws `error` (queue several for several calls). */
  failNext(method: FakeRegistrarMethod, error: Error): void {
    const queue = this.failures.get(method) ?? [];
    queue.push(error);
    this.failures.set(method, queue);
  }

  /** Every call throws `error` until cleared with `failAll(undefined)`. */
  failAll(error: Error | undefined): void {
    this.failAlways = error;
  }

  routes(): ProxyRoute[] {
    return [...this.table.values()].map((route) => ({ ...route }));
  }

  async add(route: ProxyRoute): Promise<void> {
    this.calls.push({ method: 'add', route: { ...route } });
    this.maybeFail('add');
    this.table.set(key(route.listener, route.hostname), { ...route });
  }

  async remove(input: { listener: string; hostname: string }): Promise<void> {
    this.calls.push({ method: 'remove', listener: input.listener, hostname: input.hostname });
    this.maybeFail('remove');
    this.table.delete(key(input.listener, input.hostname));
  }

  async list(): Promise<ProxyRoute[]> {
    this.calls.push({ method: 'list' });
    this.maybeFail('list');
    return this.routes();
  }

  async status(): Promise<ProxyStatus> {
    this.calls.push({ method: 'status' });
    this.maybeFail('status');
    const routes = this.routes();
    return { version: 'fake', listeners: [...new Set(routes.map((route) => route.listener))], routeCount: routes.length };
  }

  private maybeFail(method: FakeRegistrarMethod): void {
    if (this.failAlways) throw this.failAlways;
    const error = this.failures.get(method)?.shift();
    if (error) throw error;
  }
}

function key(listener: string, hostname: string): string {
  return `${listener}\u0000${hostname.toLowerCase()}`;
}
