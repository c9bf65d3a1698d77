import { NoopRouteRegistrar, ROUTE_REGISTRATION_SKIPPED_MESSAGE } from './noop-route-registrar';

describe(NoopRouteRegistrar.name, () => {
  let logged: string[];
  let sut: NoopRouteRegistrar;

  beforeEach(() => {
    logged = [];
    sut = new NoopRouteRegistrar({ log: (message) => logged.push(message) });
  });

  it('should be disabled', () => {
    expect(sut.enabled).toBe(false);
  });

  it('should say once that registration is skipped, however many routes come', async () => {
    await sut.add({ listener: ':443', hostname: 'a.example.net', backend: '127.0.0.1:1', mode: 'l4' });
    await sut.add({ listener: ':443', hostname: 'b.example.net', backend: '127.0.0.1:2', mode: 'l4' });
    await sut.remove({ listener: ':443', hostname: 'a.example.net' });

    expect(logged).toEqual([ROUTE_REGISTRATION_SKIPPED_MESSAGE]);
    expect(ROUTE_REGISTRATION_SKIPPED_MESSAGE).toBe('mc-proxy socket not configured: route registration skipped');
  });

  it('should list nothing and report an empty status', async () => {
    await sut.add({ listener: ':443', hostname: 'a.example.net', backend: '127.0.0.1:1', mode: 'l4' });

    await expect(sut.list()).resolves.toEqual([]);
    await expect(sut.status()).resolves.toEqual({ version: '', listeners: [], routeCount: 0 });
  });
});
