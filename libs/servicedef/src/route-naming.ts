import { ComponentSpec, InvalidArgumentError, RouteSpec } from '@mcp/common';

/** The SNI hostname a route answers to: its own, or `<service>.<routeDomain>`. */
export function resolveRouteHostname(service: string, route: RouteSpec, routeDomain: string): string {
  return route.hostname ?? `${service}.${routeDomain}`;
}

/**
 * The environment variable carrying a route's port into the container: `PORT_<NAME>`
 * (upper-cased, `-` → `_`) for a named route, `PORT` for the component's one unnamed route.
 */
export function routeEnvName(route: RouteSpec, component: ComponentSpec): string {
  if (route.name !== undefined) return `PORT_${route.name.toUpperCase().replace(/-/g, '_')}`;
  const unnamed = component.routes.filter((candidate) => candidate.name === undefined).length;
  if (unnamed > 1) {
    // Validation rejects this; reaching here means an unvalidated spec.
    throw new InvalidArgumentError(`component "${component.name}" has ${unnamed} unnamed routes; only one may use $PORT`);
  }
  return 'PORT';
}
