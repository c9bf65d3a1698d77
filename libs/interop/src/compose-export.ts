import { stringify } from 'yaml';
import { ExportInput, exportedVolumes, headerComment, parseVolume, publishedRoutes } from './export-common';

/**
 * The service as a Compose file `podman-compose up` runs (SPEC §9 Export): a Compose service
 * per component, the fields Compose has (image, command, environment, ports, volumes,
 * restart, user, network, mem_limit, cpus, depends_on, stop_signal, stop_grace_period,
 * file secrets); what it cannot carry is
 * listed in comments at the top. Named volumes and networks keep their podman names, so the
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
    const service: Record<string, unknown> = { image: component.image };
    if (component.cmd.length) service.command = [...component.cmd];
    const routes = publishedRoutes(input, component);
    const environment = [...component.env, ...routes.map((route) => `${route.env}=${route.port}`)];
    if (environment.length) service.environment = environment;
    const ports = [...component.ports, ...routes.map((route) => `${route.hostIp}:${route.port}:${route.port}`)];
    if (ports.length) service.ports = ports;
    for (const route of routes) {
      notCarried.push(`${route.description} (mc-proxy routing and TLS): published as ${route.hostIp}:${route.port}; put a reverse proxy in front`);
    }
    if (component.volumes.length) {
      service.volumes = exportedVolumes(input, component);
      for (const volume of exportedVolumes(input, component).map(parseVolume)) {
        if (volume.named) volumes[volume.source] = { name: volume.source };
      }
    }
    if (component.restart) service.restart = component.restart;
    if (component.user) service.user = component.user;
    if (component.network) {
      if (['host', 'none', 'bridge'].includes(component.network)) {
        service.network_mode = component.network;
      } else {
        service.networks = [component.network];
        networks[component.network] = { external: true, name: component.network };
      }
    }
    if (component.memory) service.mem_limit = component.memory;
    if (component.cpus !== undefined) service.cpus = component.cpus;
    if (component.depends_on?.length) service.depends_on = [...component.depends_on];
    if (component.stop_signal) service.stop_signal = component.stop_signal;
    if (component.stop_timeout) service.stop_grace_period = component.stop_timeout;
    if (component.secrets?.length) {
      service.secrets = [...component.secrets];
      for (const secret of component.secrets) {
        secrets[secret] = { file: `./secrets/${secret}` };
      }
    }
    for (const [variable, secret] of Object.entries(component.env_secrets ?? {})) {
      notCarried.push(
        `${component.name}: env_secrets ${variable} = "${secret}" (Compose has no secret-valued variables): set ${variable} in environment, or read /run/secrets/${secret}`,
      );
    }
    if (component.health?.cmd?.length) {
      const check: Record<string, unknown> = { test: ['CMD', ...component.health.cmd] };
      if (component.health.interval) check.interval = component.health.interval;
      if (component.health.timeout) check.timeout = component.health.timeout;
      if (component.health.start_period) check.start_period = component.health.start_period;
      service.healthcheck = check;
    } else if (component.health) {
      notCarried.push(`${component.name}: health (${component.health.http !== undefined ? `http ${component.health.http}` : 'tcp'} on the host port MCP probes); write a healthcheck test for it`);
    }
    if (component.strategy || component.drain) notCarried.push(`${component.name}: strategy/drain (Compose recreates in place)`);
    if (component.hooks) notCarried.push(`${component.name}: pre_deploy hook ${JSON.stringify(component.hooks.pre_deploy)} (run it with podman-compose run before up)`);
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
