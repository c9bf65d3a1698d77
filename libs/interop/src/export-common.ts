import type { ComponentSpec, ServiceSpec } from '@mcp/common';
import * as path from 'node:path';
import { resolveVolume, routeEnvName } from '@mcp/servicedef';

export interface ExportInput {
  spec: ServiceSpec;
  /**
   * The host port the agent allocated to each route, by component name, in route order
   * (from ListServices). A route without one is published on its listener port.
   */
  routeHostPorts?: Record<string, (number | undefined)[]>;
  /** Host address the route ports are published on; default 127.0.0.1 (the agent's default bind). */
  bindAddress?: string;
  /** `[agent] srv_root` of the node: a `./` volume source (SPEC §15) is exported as `<srvRoot>/<service>/…`; default /srv. */
  srvRoot?: string;
}

/** The component's volumes with `./` sources made absolute (Compose and Kubernetes have no service directory). */
export function exportedVolumes(input: ExportInput, component: ComponentSpec): string[] {
  const serviceDir = path.posix.join(input.srvRoot ?? '/srv', input.spec.name);
  return component.volumes.map((volume) => resolveVolume(volume, serviceDir));
}

/** A route as a plain published port: the app listens on `$PORT`/`$PORT_<NAME>` = the host port. */
export interface PublishedRoute {
  env: string;
  port: number;
  hostIp: string;
  /** Human text for the "not carried" header. */
  description: string;
}

export function publishedRoutes(input: ExportInput, component: ComponentSpec): PublishedRoute[] {
  return component.routes.map((route, index) => {
    const hostPort = input.routeHostPorts?.[component.name]?.[index];
    const port = hostPort ?? route.port;
    return {
      env: routeEnvName(route, component),
      port,
      hostIp: input.bindAddress ?? '127.0.0.1',
      description: `${component.name}: route ${route.name ? `"${route.name}" ` : ''}:${route.port} ${route.mode}${route.hostname ? ` for ${route.hostname}` : ''}`,
    };
  });
}

/** `[hostIP:]hostPort:containerPort[/proto]` parsed (validation has checked the shape). */
export function parsePortMapping(text: string): { hostIp?: string; hostPort: number; containerPort: number; protocol: string } {
  const match = /^(?:(\d{1,3}(?:\.\d{1,3}){3}|\[[^\]]+\]):)?(\d+):(\d+)(?:\/(tcp|udp))?$/.exec(text);
  if (!match) throw new Error(`unexpected port mapping "${text}"`);
  return {
    hostIp: match[1]?.replace(/^\[|\]$/g, ''),
    hostPort: Number(match[2]),
    containerPort: Number(match[3]),
    protocol: match[4] ?? 'tcp',
  };
}

/** `host:container[:opts]` (validation has checked the shape). */
export function parseVolume(text: string): { source: string; target: string; options: string[]; named: boolean } {
  const [source, target, options] = text.split(':');
  return { source, target, options: options ? options.split(',') : [], named: !source.startsWith('/') };
}

/** The "cannot carry" header: `# ` lines, or nothing when everything was carried. */
export function headerComment(format: string, service: string, notCarried: string[]): string {
  const lines = [`# ${format} for MCP service "${service}", written by mcp service export.`];
  if (notCarried.length === 0) {
    lines.push('# Every field of the definition is carried.');
  } else {
    lines.push(`# Not carried by this format (${notCarried.length}):`);
    for (const item of notCarried) lines.push(`#   - ${item}`);
  }
  return `${lines.join('\n')}\n`;
}
