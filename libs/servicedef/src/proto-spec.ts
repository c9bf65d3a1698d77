import { ComponentSpec, RouteMode, RouteSpec, ServiceSpec } from '@mcp/common';
import { mcpv1 } from '@mcp/proto';

/** Proto3 strings have no presence: absent optionals travel as ''. The proto has no `node`. */
export function toProtoServiceSpec(spec: ServiceSpec): mcpv1.ServiceSpec {
  return { name: spec.name, active: spec.active, components: spec.components.map(toProtoComponent) };
}

function toProtoComponent(component: ComponentSpec): mcpv1.ComponentSpec {
  return {
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
  return { name: msg.name, node, active: msg.active, components: (msg.components ?? []).map(fromProtoComponent) };
}

function present(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function fromProtoComponent(msg: mcpv1.ComponentSpec): ComponentSpec {
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
  const memory = present(msg.memory);
  if (memory !== undefined) component.memory = memory;
  if (msg.cpus) component.cpus = msg.cpus;
  if (msg.secrets?.length) component.secrets = [...msg.secrets];
  if (msg.envSecrets && Object.keys(msg.envSecrets).length) component.env_secrets = { ...msg.envSecrets };
  if (msg.dependsOn?.length) component.depends_on = [...msg.dependsOn];
  return component;
}

function fromProtoRoute(msg: mcpv1.RouteSpec): RouteSpec {
  const route: RouteSpec = { port: msg.port, mode: (present(msg.mode) ?? 'l4') as RouteMode };
  const name = present(msg.name);
  const hostname = present(msg.hostname);
  if (name !== undefined) route.name = name;
  if (hostname !== undefined) route.hostname = hostname;
  return route;
}
