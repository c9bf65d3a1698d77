import { ComponentSpec, InvalidArgumentError, RouteSpec } from '@mcp/common';
import { resolveRouteHostname, routeEnvName } from './route-naming';

function component(routes: RouteSpec[]): ComponentSpec {
  return { name: 'web', image: 'a:1', ports: [], volumes: [], cmd: [], env: [], routes };
}

describe(resolveRouteHostname.name, () => {
  it('should use the route hostname when set', () => {
    expect(resolveRouteHostname('notes', { port: 443, mode: 'l7', hostname: 'n.example.net' }, 'svc.mcp.metacircular.net')).toBe(
      'n.example.net',
    );
  });

  it('should default to <service>.<route domain>', () => {
    expect(resolveRouteHostname('notes', { port: 443, mode: 'l4' }, 'svc.mcp.metacircular.net')).toBe(
      'notes.svc.mcp.metacircular.net',
    );
  });
});

describe(routeEnvName.name, () => {
  it('should name a named route PORT_<NAME>, upper-cased with - as _', () => {
    const route: RouteSpec = { name: 'grpc-api', port: 8443, mode: 'l4' };

    expect(routeEnvName(route, component([route, { port: 443, mode: 'l4' }]))).toBe('PORT_GRPC_API');
  });

  it('should give the one unnamed route PORT', () => {
    const route: RouteSpec = { port: 443, mode: 'l4' };

    expect(routeEnvName(route, component([route, { name: 'admin', port: 8443, mode: 'l4' }]))).toBe('PORT');
  });

  it('should refuse an unnamed route when the component has several', () => {
    const route: RouteSpec = { port: 443, mode: 'l4' };

    expect(() => routeEnvName(route, component([route, { port: 8443, mode: 'l4' }]))).toThrow(InvalidArgumentError);
  });
});
