import {
  ComponentSpec,
  InvalidServiceDefinitionError,
  isTable,
  NAME_PATTERN,
  ServiceSpec,
  type Table,
  ValidationIssue,
  validateTable,
} from '@mcp/common';
import { backupIssues, normaliseBackup } from './backup-fields';
import { fieldDef, fieldKeys } from './component-fields';
import { ServiceDefinitionTable } from './field-rules';
import { jobIssues, normaliseJobs } from './job-fields';

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
  const issues = validateTable(ServiceDefinitionTable, input);
  return isTable(input) ? [...issues, ...crossFieldIssues(input)] : issues;
}

/**
 * `depends_on` names components of this service, not itself, and has no cycles. A cycle is
 * reported once, on the first component in it, with the whole loop spelled out.
 */
function dependencyIssues(components: unknown[]): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const index = new Map<string, number>();
  components.forEach((component, c) => {
    if (isTable(component) && typeof component.name === 'string' && !index.has(component.name)) index.set(component.name, c);
  });
  const edges = new Map<string, string[]>();
  components.forEach((component, c) => {
    if (!isTable(component) || typeof component.name !== 'string' || !Array.isArray(component.depends_on)) return;
    const valid: string[] = [];
    component.depends_on.forEach((dependency: unknown, d) => {
      if (typeof dependency !== 'string' || !NAME_PATTERN.test(dependency)) return;
      const at = `components[${c}].depends_on[${d}]`;
      if (dependency === component.name) issues.push({ path: at, reason: 'a component cannot depend on itself' });
      else if (!index.has(dependency)) issues.push({ path: at, reason: `no component "${dependency}" in this service` });
      else valid.push(dependency);
    });
    edges.set(component.name, valid);
  });
  const state = new Map<string, 'visiting' | 'done'>();
  const reported = new Set<string>();
  const visit = (name: string, trail: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const loop = [...trail.slice(trail.indexOf(name)), name];
      const key = [...loop.slice(0, -1)].sort().join(',');
      if (!reported.has(key)) {
        reported.add(key);
        issues.push({ path: `components[${index.get(loop[0])}].depends_on`, reason: `dependency cycle: ${loop.join(' → ')}` });
      }
      return;
    }
    state.set(name, 'visiting');
    for (const next of edges.get(name) ?? []) visit(next, [...trail, name]);
    state.set(name, 'done');
  };
  for (const name of edges.keys()) visit(name, []);
  return issues;
}

/** Rules that relate several fields: unique names, one unnamed route, no two routes on one listener+hostname, dependencies. */
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
  issues.push(...dependencyIssues(components));
  issues.push(...backupIssues(input));
  issues.push(...jobIssues(input));
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

/** Builds the typed spec from input that passed validation; copies, never aliases, the input. */
function normalise(input: Table): ServiceSpec {
  const spec: ServiceSpec = {
    name: input.name as string,
    node: input.node as string,
    active: input.active === undefined ? true : (input.active as boolean),
    components: (input.components as Table[]).map(normaliseComponent),
  };
  const backup = normaliseBackup(input.backup);
  if (backup) spec.backup = backup;
  const jobs = normaliseJobs(input.jobs);
  if (jobs) spec.jobs = jobs;
  return spec;
}

/** Each field's `read` in COMPONENT_FIELDS; absent fields stay absent (the SPEC §9 ones unless set, so specs from before them hash as they did). */
function normaliseComponent(component: Table): ComponentSpec {
  const result = {} as Record<keyof ComponentSpec, unknown>;
  for (const key of fieldKeys()) {
    const value = fieldDef(key).read(component[key]);
    if (value !== undefined) result[key] = value;
  }
  return result as ComponentSpec;
}
