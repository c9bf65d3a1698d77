import {
  checkTable,
  ComponentSpec,
  InvalidServiceDefinitionError,
  isTable,
  RouteMode,
  RouteSpec,
  ServiceSpec,
  type Table,
  ValidationIssue,
} from '@mcp/common';
import { SERVICE_SCHEMA } from './field-rules';

/**
 * Checks a service definition that is already a JS object (parsed TOML, an RPC payload, a
 * spec from the registry) and returns it as a typed, normalised ServiceSpec: `active`
 * defaults to true, route `mode` to `l4`, lists to `[]`. Throws InvalidServiceDefinitionError
 * with every problem found, each with `file` (when given), field path and reason.
 */
export function validateServiceSpec(input: unknown, file?: string): ServiceSpec {
  const issues = collectIssues(input).map((issue) => (file === undefined ? issue : { file, ...issue }));
  if (issues.length > 0) throw new InvalidServiceDefinitionError(issues);
  // Valid input has no unknown keys, so it can be read directly.
  return normalise(input as Table);
}

/** Every problem with `input`, without file names. Empty when it is a valid definition. */
export function collectIssues(input: unknown): ValidationIssue[] {
  const issues = checkTable(input, SERVICE_SCHEMA);
  return isTable(input) ? [...issues, ...crossFieldIssues(input)] : issues;
}

/** Rules that relate several fields: unique names, one unnamed route, no two routes on one listener+hostname. */
function crossFieldIssues(input: Table): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const components = Array.isArray(input.components) ? input.components : [];
  const componentNames = new Map<string, number>();
  const listeners = new Map<string, string>();
  components.forEach((component: unknown, c) => {
    if (!isTable(component)) return;
    const at = `components[${c}]`;
    if (typeof component.name === 'string') {
      const first = componentNames.get(component.name);
      if (first !== undefined) {
        issues.push({ path: `${at}.name`, reason: `duplicate component name "${component.name}" (also components[${first}])` });
      } else {
        componentNames.set(component.name, c);
      }
    }
    const routes = Array.isArray(component.routes) ? component.routes : [];
    const routeNames = new Map<string, number>();
    let unnamed: number | undefined;
    routes.forEach((route: unknown, r) => {
      if (!isTable(route)) return;
      const routeAt = `${at}.routes[${r}]`;
      if (typeof route.name === 'string') {
        const first = routeNames.get(route.name);
        if (first !== undefined) {
          issues.push({ path: `${routeAt}.name`, reason: `duplicate route name "${route.name}" (also routes[${first}])` });
        } else {
          routeNames.set(route.name, r);
        }
      } else if (route.name === undefined) {
        if (unnamed !== undefined) {
          issues.push({
            path: routeAt,
            reason: `only one route per component may be unnamed (routes[${unnamed}] is too); name the others`,
          });
        } else {
          unnamed = r;
        }
      }
      if (typeof route.port === 'number' && (route.hostname === undefined || typeof route.hostname === 'string')) {
        const hostname = route.hostname ?? '<default hostname>';
        const key = `${route.port}\u0000${hostname.toLowerCase()}`;
        const first = listeners.get(key);
        if (first !== undefined) {
          issues.push({
            path: routeAt,
            reason: `port ${route.port} with hostname ${hostname} is already routed by ${first}`,
          });
        } else {
          listeners.set(key, routeAt);
        }
      }
    });
  });
  return issues;
}

function optional(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

/** Builds the typed spec from input that passed validation; copies, never aliases, the input. */
function normalise(input: Table): ServiceSpec {
  return {
    name: input.name as string,
    node: input.node as string,
    active: input.active === undefined ? true : (input.active as boolean),
    components: (input.components as Table[]).map(normaliseComponent),
  };
}

function normaliseComponent(component: Table): ComponentSpec {
  const result: ComponentSpec = {
    name: component.name as string,
    image: component.image as string,
    ports: strings(component.ports),
    volumes: strings(component.volumes),
    cmd: strings(component.cmd),
    env: strings(component.env),
    routes: ((component.routes as Table[] | undefined) ?? []).map(normaliseRoute),
  };
  const network = optional(component.network);
  const user = optional(component.user);
  const restart = optional(component.restart);
  if (network !== undefined) result.network = network;
  if (user !== undefined) result.user = user;
  if (restart !== undefined) result.restart = restart;
  return result;
}

function normaliseRoute(route: Table): RouteSpec {
  const result: RouteSpec = { port: route.port as number, mode: (route.mode as RouteMode | undefined) ?? 'l4' };
  const name = optional(route.name);
  const hostname = optional(route.hostname);
  if (name !== undefined) result.name = name;
  if (hostname !== undefined) result.hostname = hostname;
  return result;
}
