import { plainToInstance } from 'class-transformer';
import { ValidationError as ClassValidatorError, validateSync } from 'class-validator';
import {
  ComponentSpec,
  DeployStrategy,
  HealthSpec,
  InvalidServiceDefinitionError,
  RouteMode,
  RouteSpec,
  ServiceSpec,
  ValidationIssue,
} from '@mcp/common';
import { RuleName, rules } from './field-rules';
import { COMPONENT_KEYS, ROUTE_KEYS, SERVICE_KEYS, ServiceDefinitionDto } from './service-definition.dto';

type Table = Record<string, unknown>;

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
  if (!isTable(input)) return [{ path: '', reason: 'must be a table' }];
  const unknownKeys: ValidationIssue[] = [];
  const known = knownKeysOnly(input, unknownKeys);
  const errors = validateSync(plainToInstance(ServiceDefinitionDto, known), {
    forbidUnknownValues: true,
    validationError: { target: false, value: true },
  });
  return [...unknownKeys, ...flatten(errors, ''), ...crossFieldIssues(known)];
}

function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function childPath(parent: string, property: string): string {
  if (/^\d+$/.test(property)) return `${parent}[${property}]`;
  return parent ? `${parent}.${property}` : property;
}

function flatten(errors: ClassValidatorError[], parent: string): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const error of errors) {
    const path = childPath(parent, error.property);
    const reported = new Set<string>();
    for (const constraint of Object.keys(error.constraints ?? {})) {
      if (Object.hasOwn(rules, constraint)) {
        for (const problem of rules[constraint as RuleName](error.value)) {
          issues.push({ path: path + problem.suffix, reason: problem.reason });
          reported.add(problem.suffix);
        }
      }
      // nestedValidation / unknownValue: the field's own rule already reports non-table elements.
    }
    if (reported.has('')) continue;
    const children = (error.children ?? []).filter((child) => !reported.has(`[${child.property}]`));
    issues.push(...flatten(children, path));
  }
  return issues;
}

/**
 * A copy of the input holding only the keys the schema knows, level by level; every other
 * key is reported as unknown. Values that are not tables are copied as they are, for the
 * field rules to judge.
 */
function knownKeysOnly(input: Table, unknownKeys: ValidationIssue[]): Table {
  const service = pick(input, SERVICE_KEYS, '', unknownKeys);
  if (Array.isArray(service.components)) {
    service.components = service.components.map((component: unknown, c) => {
      if (!isTable(component)) return component;
      const at = `components[${c}]`;
      const kept = pick(component, COMPONENT_KEYS, at, unknownKeys);
      if (Array.isArray(kept.routes)) {
        kept.routes = kept.routes.map((route: unknown, r) =>
          isTable(route) ? pick(route, ROUTE_KEYS, `${at}.routes[${r}]`, unknownKeys) : route,
        );
      }
      return kept;
    });
  }
  return service;
}

function pick(table: Table, keys: readonly string[], path: string, unknownKeys: ValidationIssue[]): Table {
  const kept: Table = {};
  for (const key of Object.keys(table)) {
    if (keys.includes(key)) {
      kept[key] = table[key];
    } else {
      unknownKeys.push({ path: childPath(path, key), reason: 'unknown key' });
    }
  }
  return kept;
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
    issues.push(...strategyAndHealthIssues(component, at));
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

/** Host port of an explicit `[hostIP:]hostPort:containerPort[/proto]` mapping. */
function explicitHostPort(mapping: unknown): number | undefined {
  if (typeof mapping !== 'string') return undefined;
  const parts = mapping.replace(/\/(tcp|udp)$/, '').split(':');
  return parts.length >= 2 ? Number(parts[parts.length - 2]) : undefined;
}

/** SPEC §8: what health probes and which strategy can work for this component's routes and ports. */
function strategyAndHealthIssues(component: Table, at: string): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const routes = (Array.isArray(component.routes) ? component.routes : []).filter(isTable);
  const ports = Array.isArray(component.ports) ? component.ports : [];
  if (component.strategy === 'start-first') {
    if (ports.length > 0) {
      issues.push({ path: `${at}.strategy`, reason: 'start-first cannot hold explicit host ports twice: remove `ports` (use routes) or use stop-first' });
    } else if (routes.length === 0) {
      issues.push({ path: `${at}.strategy`, reason: 'start-first switches routes, and this component has none: add a route or use stop-first' });
    }
  }
  const health = component.health;
  if (!isTable(health)) return issues;
  if (typeof health.route === 'string' && !routes.some((route) => route.name === health.route)) {
    issues.push({ path: `${at}.health.route`, reason: `no route named "${health.route}" in this component` });
  }
  if (typeof health.port === 'number' && !ports.some((mapping) => explicitHostPort(mapping) === health.port)) {
    issues.push({ path: `${at}.health.port`, reason: `${health.port} is not the host port of one of this component's ports` });
  }
  const needsPort = health.http !== undefined || health.tcp !== undefined;
  if (needsPort && routes.length === 0 && health.port === undefined) {
    issues.push({ path: `${at}.health`, reason: 'http and tcp checks probe a host port: add a route, or set port to one of `ports`' });
  }
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
  if (isTable(component.health)) result.health = normaliseHealth(component.health);
  if (component.strategy !== undefined) result.strategy = component.strategy as DeployStrategy;
  const drain = optional(component.drain);
  if (drain !== undefined) result.drain = drain;
  return result;
}

function normaliseHealth(health: Table): HealthSpec {
  const result: HealthSpec = {};
  if (typeof health.http === 'string') result.http = health.http;
  if (health.tcp === true) result.tcp = true;
  if (Array.isArray(health.cmd)) result.cmd = strings(health.cmd);
  if (typeof health.route === 'string') result.route = health.route;
  if (typeof health.port === 'number') result.port = health.port;
  if (typeof health.interval === 'string') result.interval = health.interval;
  if (typeof health.timeout === 'string') result.timeout = health.timeout;
  if (typeof health.start_period === 'string') result.start_period = health.start_period;
  if (typeof health.healthy === 'number') result.healthy = health.healthy;
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
