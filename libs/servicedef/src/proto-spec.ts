import { ComponentSpec, DeployStrategy, HealthSpec, PullPolicy, RouteMode, StopSignal, RouteSpec, ServiceSpec } from '@mcp/common';
import { mcpv1 } from '@mcp/proto';
import { fromProtoBackup, toProtoBackup } from './backup-fields';
import { fromProtoJob, toProtoJob } from './job-fields';

/** Proto3 strings have no presence: absent optionals travel as ''. The proto has no `node`. */
export function toProtoServiceSpec(spec: ServiceSpec): mcpv1.ServiceSpec {
  const message: mcpv1.ServiceSpec = { name: spec.name, active: spec.active, components: spec.components.map(toProtoComponent) };
  if (spec.backup) message.backup = toProtoBackup(spec.backup);
  if (spec.jobs?.length) message.jobs = { jobs: spec.jobs.map(toProtoJob) };
  return message;
}

export function toProtoComponent(component: ComponentSpec): mcpv1.ComponentSpec {
  const message: mcpv1.ComponentSpec = {
    name: component.name,
    image: component.image,
    network: component.network ?? '',
    user: component.user ?? '',
    restart: component.restart ?? '',
    ports: [...component.ports],
    volumes: [...component.volumes],
    cmd: [...component.cmd],
    routes: component.routes.map(toProtoRoute),
    env: [...component.env],
    memory: component.memory ?? '',
    cpus: component.cpus ?? 0,
    secrets: [...(component.secrets ?? [])],
    envSecrets: { ...(component.env_secrets ?? {}) },
    dependsOn: [...(component.depends_on ?? [])],
  };
  // Fields 11-13 have presence on the wire: absent stays absent.
  if (component.health) message.health = toProtoHealth(component.health);
  if (component.strategy !== undefined) message.strategy = component.strategy;
  if (component.drain !== undefined) message.drain = component.drain;
  if (component.pull !== undefined) message.pull = component.pull;
  if (component.stop_signal !== undefined) message.stopSignal = component.stop_signal;
  if (component.stop_timeout !== undefined) message.stopTimeout = component.stop_timeout;
  if (component.hooks) message.hooks = { preDeploy: [...component.hooks.pre_deploy], timeout: component.hooks.timeout ?? '' };
  return message;
}

function toProtoHealth(health: HealthSpec): mcpv1.HealthCheck {
  return {
    http: health.http ?? '',
    tcp: health.tcp ?? false,
    cmd: [...(health.cmd ?? [])],
    route: health.route ?? '',
    port: health.port ?? 0,
    interval: health.interval ?? '',
    timeout: health.timeout ?? '',
    startPeriod: health.start_period ?? '',
    healthy: health.healthy ?? 0,
  };
}

function toProtoRoute(route: RouteSpec): mcpv1.RouteSpec {
  return { name: route.name ?? '', port: route.port, mode: route.mode, hostname: route.hostname ?? '' };
}

/**
 * The inverse of toProtoServiceSpec, with `node` supplied by the receiver. It converts only:
 * pass the result to validateServiceSpec before trusting it (an unknown `mode` is kept as
 * sent so that validation can name it).
 */
export function fromProtoServiceSpec(msg: mcpv1.ServiceSpec, node: string): ServiceSpec {
  const spec: ServiceSpec = { name: msg.name, node, active: msg.active, components: (msg.components ?? []).map(fromProtoComponent) };
  if (msg.backup) spec.backup = fromProtoBackup(msg.backup);
  if (msg.jobs?.jobs?.length) spec.jobs = msg.jobs.jobs.map(fromProtoJob);
  return spec;
}

function present(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

export function fromProtoComponent(msg: mcpv1.ComponentSpec): ComponentSpec {
  const component: ComponentSpec = {
    name: msg.name,
    image: msg.image,
    ports: [...(msg.ports ?? [])],
    volumes: [...(msg.volumes ?? [])],
    cmd: [...(msg.cmd ?? [])],
    env: [...(msg.env ?? [])],
    routes: (msg.routes ?? []).map(fromProtoRoute),
  };
  // Absent stays absent (no `network: undefined` members), so specs compare equal either way.
  const network = present(msg.network);
  const user = present(msg.user);
  const restart = present(msg.restart);
  if (network !== undefined) component.network = network;
  if (user !== undefined) component.user = user;
  if (restart !== undefined) component.restart = restart;
  if (msg.health) component.health = fromProtoHealth(msg.health);
  const strategy = present(msg.strategy);
  const drain = present(msg.drain);
  if (strategy !== undefined) component.strategy = strategy as DeployStrategy;
  if (drain !== undefined) component.drain = drain;
  const pull = present(msg.pull);
  if (pull !== undefined) component.pull = pull as PullPolicy;
  const stopSignal = present(msg.stopSignal);
  if (stopSignal !== undefined) component.stop_signal = stopSignal as StopSignal;
  const stopTimeout = present(msg.stopTimeout);
  if (stopTimeout !== undefined) component.stop_timeout = stopTimeout;
  if (msg.hooks) {
    component.hooks = { pre_deploy: [...msg.hooks.preDeploy] };
    const timeout = present(msg.hooks.timeout);
    if (timeout !== undefined) component.hooks.timeout = timeout;
  }
  const memory = present(msg.memory);
  if (memory !== undefined) component.memory = memory;
  if (msg.cpus) component.cpus = msg.cpus;
  if (msg.secrets?.length) component.secrets = [...msg.secrets];
  if (msg.envSecrets && Object.keys(msg.envSecrets).length) component.env_secrets = { ...msg.envSecrets };
  if (msg.dependsOn?.length) component.depends_on = [...msg.dependsOn];
  return component;
}

/** Zero values are absent; `cmd = []` cannot be told from no cmd, which validation then reports. */
function fromProtoHealth(msg: mcpv1.HealthCheck): HealthSpec {
  const health: HealthSpec = {};
  const http = present(msg.http);
  if (http !== undefined) health.http = http;
  if (msg.tcp) health.tcp = true;
  if ((msg.cmd ?? []).length > 0) health.cmd = [...msg.cmd];
  const route = present(msg.route);
  if (route !== undefined) health.route = route;
  if (msg.port) health.port = msg.port;
  for (const [key, value] of [['interval', msg.interval], ['timeout', msg.timeout], ['start_period', msg.startPeriod]] as const) {
    const text = present(value);
    if (text !== undefined) health[key] = text;
  }
  if (msg.healthy) health.healthy = msg.healthy;
  return health;
}

function fromProtoRoute(msg: mcpv1.RouteSpec): RouteSpec {
  const route: RouteSpec = { port: msg.port, mode: (present(msg.mode) ?? 'l4') as RouteMode };
  const name = present(msg.name);
  const hostname = present(msg.hostname);
  if (name !== undefined) route.name = name;
  if (hostname !== undefined) route.hostname = hostname;
  return route;
}
