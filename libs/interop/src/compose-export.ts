import { stringify } from 'yaml';
import type { ComponentSpec } from '@mcp/common';
import { fieldDef, fieldKeys, type ComposeOut } from '@mcp/servicedef';
import { ExportInput, exportedVolumes, headerComment, publishedRoutes } from './export-common';

/** The order a Compose service's keys are written in (each field's `compose` in COMPONENT_FIELDS; the rest follow in the table's order). */
const COMPOSE_ORDER: readonly (keyof ComponentSpec)[] = [
  'image', 'cmd', 'env', 'ports', 'volumes', 'restart', 'user', 'network', 'memory', 'cpus', 'depends_on', 'stop_signal', 'stop_timeout',
  'secrets', 'env_secrets', 'health', 'strategy', 'drain', 'hooks',
];

/**
 * The service as a Compose file `podman-compose up` runs (SPEC §9 Export): a Compose service
 * per component, each field written by its `compose` entry in COMPONENT_FIELDS — the fields
 * Compose has (image, command, environment, ports, volumes, restart, user, network,
 * mem_limit, cpus, depends_on, stop_signal, stop_grace_period, file secrets); what it cannot
 * carry is listed in comments at the top. Named volumes and networks keep their podman names, so the
 * data and the network the MCP containers used are the ones Compose uses.
 */
export function exportCompose(input: ExportInput): string {
  const { spec } = input;
  const notCarried: string[] = [];
  const services: Record<string, unknown> = {};
  const volumes: Record<string, unknown> = {};
  const networks: Record<string, unknown> = {};
  const secrets: Record<string, unknown> = {};

  for (const component of spec.components) {
    const service: Record<string, unknown> = {};
    const out: ComposeOut = {
      component,
      service,
      volumes,
      networks,
      secrets,
      exportedVolumes: exportedVolumes(input, component),
      routes: publishedRoutes(input, component),
      notCarried: (text) => notCarried.push(text),
    };
    for (const key of fieldKeys(COMPOSE_ORDER)) {
      const value = component[key];
      if (value !== undefined) fieldDef(key).compose?.(value, out);
    }
    services[component.name] = service;
  }
  if (Object.keys(secrets).length) {
    notCarried.push(`secret values (${Object.keys(secrets).join(', ')}): put each in ./secrets/<name> beside this file before podman-compose up`);
  }
  if (spec.components.some((component) => component.network === undefined) && spec.components.length > 1) {
    notCarried.push('components without a network: Compose puts them on one project network where they reach each other by name');
  }

  const document: Record<string, unknown> = { name: spec.name, services };
  if (Object.keys(volumes).length) document.volumes = volumes;
  if (Object.keys(networks).length) document.networks = networks;
  if (Object.keys(secrets).length) document.secrets = secrets;
  // SPEC §12: Compose has no scheduler, so no job is carried; each is named with the command that runs it once.
  for (const job of spec.jobs ?? []) {
    const what = `${job.component ? `component ${job.component}${job.image ? ` with image ${job.image}` : ''}` : `image ${job.image ?? ''}`}${job.cmd ? `, cmd ${JSON.stringify(job.cmd)}` : ''}`;
    const once = job.component ? `podman-compose run --rm ${job.component}` : `podman run --rm ${job.image ?? ''}`;
    notCarried.push(`job ${job.name}: schedule "${job.schedule}" ${job.tz ?? 'UTC'}, ${what} (Compose has no scheduler): run it with ${once} from cron or a systemd timer`);
  }
  if (!spec.active) notCarried.push('active = false: podman-compose up starts every service');
  return headerComment('Compose file', spec.name, notCarried) + stringify(document, { lineWidth: 0, aliasDuplicateObjects: false });
}
