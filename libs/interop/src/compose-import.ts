import * as path from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import {
  ComponentSpec,
  HealthSpec,
  InvalidServiceDefinitionError,
  NAME_PATTERN,
  ServiceSpec,
  type StopSignal,
  ValidationError,
  ValidationIssue,
  isTable,
  parseDuration,
  type Table,
} from '@mcp/common';
import { validateServiceSpec } from '@mcp/servicedef';
import { interpolate, parseEnvFile, shellWords } from './interpolate';

/** Something the import could not carry over, with what to do instead. */
export interface ImportNote {
  /** Where in the Compose file: `services.web.build`, `volumes.dbdata`, `services`. */
  path: string;
  message: string;
}

export interface ComposeImportInput {
  /** The Compose file's text and its path (for messages and to resolve relative files). */
  text: string;
  file: string;
  /** The service's name; default the file's top-level `name`, else its directory's name. */
  name?: string;
  node: string;
  /** Reads a file next to the Compose file (`.env`, `env_file`); undefined when it does not exist. */
  readFile(file: string): string | undefined;
  /** Where the agent keeps service files (`[agent] srv_root`), for relative bind mounts; default /srv. */
  srvRoot?: string;
}

export interface ComposeImport {
  spec: ServiceSpec;
  notes: ImportNote[];
}

/** Service-level Compose keys and what to do instead, for those MCP cannot carry. */
const UNMAPPABLE: Record<string, string> = {
  build: 'MCP runs images and does not build them: build and push the image to your registry, then set image',
  container_name: 'MCP names containers <service>-<component>; dropped',
  labels: 'MCP sets its own labels; dropped',
  expose: 'not needed: containers on one network reach each other\'s ports; dropped',
  profiles: 'every service was imported; delete the components you do not want',
  extra_hosts: 'not supported; put the hosts on a podman network with DNS, or in the image',
  dns: 'not supported; configure DNS on the podman network',
  cap_add: 'not supported by MCP; drop it, or run this container outside MCP',
  cap_drop: 'not supported by MCP; dropped (podman\'s defaults apply)',
  privileged: 'not supported by MCP; run this container outside MCP',
  devices: 'not supported by MCP; run this container outside MCP',
  security_opt: 'not supported by MCP; dropped',
  sysctls: 'not supported by MCP; set them on the host',
  ulimits: 'not supported by MCP; set defaults in containers.conf on the node',
  logging: 'MCP uses podman\'s log driver; read logs with mcp logs',
  stdin_open: 'MCP runs services detached; dropped',
  tty: 'MCP runs services detached; dropped',
  working_dir: 'not supported: set WORKDIR in the image, or wrap cmd in ["sh", "-c", "cd DIR && ..."]',
  hostname: 'containers are named <service>-<component>; dropped',
  tmpfs: 'not supported: use a named volume',
  configs: 'push the file with mcp push <file> <service> and mount it from /srv/<service>/ with volumes',
  links: 'links are obsolete: put the components on one podman network',
  init: 'not supported; use an image with its own init, e.g. tini',
  pid: 'not supported by MCP',
  ipc: 'not supported by MCP',
  shm_size: 'not supported by MCP; dropped',
  pull_policy: 'MCP pulls when the image is not on the node',
  platform: 'not supported; the node\'s platform applies',
  domainname: 'not supported by MCP',
  mem_reservation: 'reservations are not carried; set memory for a limit',
  cpu_shares: 'not carried; set cpus for a limit',
  cpuset: 'not carried; set cpus for a limit',
};

/** Top-level keys that are metadata, not services. */
const TOP_LEVEL_IGNORED = new Set(['version', 'name']);

/** MCP field (as validation names it) → the Compose key the operator wrote. */
const FIELD_TO_COMPOSE: Record<string, string> = {
  env: 'environment',
  cmd: 'command',
  network: 'networks',
  memory: 'mem_limit',
  depends_on: 'depends_on',
  env_secrets: 'secrets',
  health: 'healthcheck',
  stop_timeout: 'stop_grace_period',
};

/**
 * One MCP service definition from a Compose file (SPEC §9 Import): a component per Compose
 * service. Pure: files are read through `input.readFile`. Throws InvalidServiceDefinitionError
 * when the file cannot be read as Compose or the result does not pass validation, each issue
 * named by its place in the Compose file.
 */
export function importCompose(input: ComposeImportInput): ComposeImport {
  const notes: ImportNote[] = [];
  const fail = (issues: ValidationIssue[]): never => {
    throw new InvalidServiceDefinitionError(issues.map((issue) => ({ file: input.file, ...issue })));
  };
  let document: unknown;
  try {
    document = parseYaml(input.text, { merge: true, maxAliasCount: 1000 });
  } catch (error) {
    const reason =
      error instanceof YAMLParseError
        ? `invalid YAML at line ${error.linePos?.[0].line ?? '?'}, column ${error.linePos?.[0].col ?? '?'}: ${error.message.split('\n')[0]}`
        : `invalid YAML: ${(error as Error).message}`;
    fail([{ path: '', reason }]);
  }
  if (!isTable(document)) fail([{ path: '', reason: 'must be a Compose file (a mapping with services)' }]);
  const dir = path.dirname(path.resolve(input.file));
  const variables = parseEnvFile(input.readFile(path.join(dir, '.env')) ?? '');
  const unset = new Set<string>();
  const issues: ValidationIssue[] = [];
  const compose = interpolateAll(document, {
    variables,
    onUnset: (name) => unset.add(name),
    onRequired: (name, message) => issues.push({ path: '', reason: `variable ${name} is required${message ? `: ${message}` : ''}; set it in ${path.join(dir, '.env')}` }),
  }) as Table;
  for (const name of unset) {
    notes.push({ path: `\${${name}}`, message: `variable ${name} is not set (MCP reads only the .env file beside the Compose file); it became an empty string` });
  }

  const services = compose.services;
  if (!isTable(services) || Object.keys(services).length === 0) fail([...issues, { path: 'services', reason: 'must define at least one service' }]);
  const name = serviceName(input, compose);
  const project = componentName(typeof compose.name === 'string' ? compose.name : path.basename(dir));
  const context: Context = { name, project, dir, notes, issues, compose, readFile: input.readFile, srvRoot: input.srvRoot ?? '/srv' };

  for (const key of Object.keys(compose)) {
    if (key === 'services' || key.startsWith('x-') || TOP_LEVEL_IGNORED.has(key)) continue;
    if (key === 'volumes') noteNamedVolumes(context);
    else if (key === 'networks' || key === 'secrets') continue;
    else notes.push({ path: key, message: `not carried: ${key === 'configs' ? UNMAPPABLE.configs : 'MCP has no such section'}` });
  }

  const keys = Object.keys(services as Table);
  const componentNames = new Map(keys.map((key) => [key, componentName(key)]));
  const components = keys.map((key) => importService(context, key, (services as Table)[key], componentNames));
  if (!Object.values(services as Table).some((service) => isTable(service) && ('networks' in service || 'network_mode' in service)) && keys.length > 1) {
    notes.push({
      path: 'services',
      message:
        'Compose put these services on one network where they reach each other by name; MCP leaves network unset (podman\'s default network, no names). If they talk to each other by name, create a network on the node (podman network create NAME) and set network = "NAME" on each component',
    });
  }
  if (issues.length) fail(issues);

  const spec = { name, node: input.node, active: true, components };
  try {
    return { spec: validateServiceSpec(spec), notes };
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return fail(error.issues.map((issue) => ({ path: composePath(issue.path, keys, name), reason: issue.reason })));
  }
}

interface Context {
  name: string;
  /** Compose's project name (`name:` or the directory): the prefix of its volume and network names. */
  project: string;
  dir: string;
  notes: ImportNote[];
  issues: ValidationIssue[];
  compose: Table;
  readFile(file: string): string | undefined;
  srvRoot: string;
}

function interpolateAll(value: unknown, context: Parameters<typeof interpolate>[1]): unknown {
  if (typeof value === 'string') return interpolate(value, context);
  if (Array.isArray(value)) return value.map((item) => interpolateAll(item, context));
  if (isTable(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolateAll(item, context)]));
  return value;
}

/** `--name`, the file's `name:`, or its directory's name, made into a valid MCP name where it can be. */
function serviceName(input: ComposeImportInput, compose: Table): string {
  if (input.name !== undefined) return input.name;
  const fromFile = typeof compose.name === 'string' ? compose.name : path.basename(path.dirname(path.resolve(input.file)));
  return componentName(fromFile);
}

/** Compose allows `_`, `.` and capitals in service names; MCP names are `[a-z][a-z0-9-]*`. */
function componentName(key: string): string {
  const mapped = key.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return NAME_PATTERN.test(mapped) ? mapped : key;
}

/** Maps a validation path (`components[1].env[0]`) back to the Compose file (`services.db.environment`). */
function composePath(issuePath: string, keys: string[], name: string): string {
  if (issuePath === 'name') return `name ("${name}"; pass --name to choose another)`;
  const match = /^components\[(\d+)\](?:\.([a-z_]+))?(.*)$/.exec(issuePath);
  if (!match) return issuePath;
  const key = keys[Number(match[1])] ?? match[1];
  if (!match[2]) return `services.${key}`;
  const field = FIELD_TO_COMPOSE[match[2]] ?? match[2];
  // Element indexes of merged lists (env from env_file + environment) do not match the file.
  return `services.${key}.${field}${field === match[2] ? match[3] : ''}`;
}

function noteNamedVolumes(context: Context): void {
  const volumes = context.compose.volumes;
  if (!isTable(volumes)) return;
  for (const [volume, config] of Object.entries(volumes)) {
    const external = isTable(config) && config.external === true;
    const driver = isTable(config) && typeof config.driver === 'string' && config.driver !== 'local';
    const podman = podmanVolumeName(context, volume);
    context.notes.push({
      path: `volumes.${volume}`,
      message: external
        ? `external named volume "${podman}": it must exist on the node (podman volume create ${podman})`
        : `named volume "${podman}" (the name Compose gave it, so data already on the node is kept): podman creates it at the first deploy; move data from another host with podman volume export/import${driver ? '; its driver is not carried' : ''}`,
    });
  }
}

function importService(context: Context, key: string, raw: unknown, names: Map<string, string>): ComponentSpec {
  const at = `services.${key}`;
  const name = names.get(key) ?? key;
  const component: ComponentSpec = { name, image: '', ports: [], volumes: [], cmd: [], env: [], routes: [] };
  if (!isTable(raw)) {
    context.issues.push({ path: at, reason: 'must be a mapping' });
    return component;
  }
  if (name !== key) context.notes.push({ path: at, message: `imported as component "${name}" (MCP names are lower-case letters, digits and "-")` });
  const note = (field: string, message: string) => context.notes.push({ path: `${at}.${field}`, message });

  if (typeof raw.image === 'string') component.image = raw.image;
  else if (raw.build !== undefined) context.issues.push({ path: `${at}.image`, reason: `is required: ${UNMAPPABLE.build}` });
  else context.issues.push({ path: `${at}.image`, reason: 'is required' });

  const entrypoint = words(raw.entrypoint);
  const command = words(raw.command);
  if (entrypoint) {
    component.cmd = [...entrypoint, ...(command ?? [])];
    note('entrypoint', 'MCP has no entrypoint field: its words were put in front of cmd (which replaces the image\'s command); this works when the image\'s own ENTRYPOINT is empty');
  } else if (command) {
    component.cmd = command;
  }

  component.env = environment(context, at, raw);
  component.ports = ports(context, at, raw.ports);
  component.volumes = volumes(context, at, raw.volumes);
  if (raw.restart !== undefined) component.restart = String(raw.restart);
  if (raw.user !== undefined) component.user = String(raw.user);
  const network = networkOf(context, at, raw);
  if (network) component.network = network;

  const deploy = isTable(raw.deploy) ? raw.deploy : undefined;
  const limits = isTable(deploy?.resources) && isTable(deploy.resources.limits) ? deploy.resources.limits : undefined;
  const memory = limits?.memory ?? raw.mem_limit;
  if (memory !== undefined) component.memory = memoryOf(memory);
  const cpus = limits?.cpus ?? raw.cpus;
  if (cpus !== undefined) component.cpus = Number(cpus);
  if (deploy) {
    for (const deployKey of Object.keys(deploy)) {
      if (deployKey === 'resources') {
        const resources = deploy.resources as Table;
        for (const resourceKey of Object.keys(resources)) {
          if (resourceKey !== 'limits') note(`deploy.resources.${resourceKey}`, 'reservations are not carried; MCP sets limits (memory, cpus)');
        }
        for (const limitKey of Object.keys(limits ?? {})) {
          if (limitKey !== 'memory' && limitKey !== 'cpus') note(`deploy.resources.limits.${limitKey}`, 'not carried; MCP limits memory and cpus');
        }
      } else if (deployKey === 'restart_policy') {
        note('deploy.restart_policy', 'set restart instead (no, always, on-failure[:N], unless-stopped)');
      } else if (deployKey === 'replicas') {
        note('deploy.replicas', 'MCP runs one container per component; add components for more');
      } else {
        note(`deploy.${deployKey}`, 'Swarm deploy settings are not carried');
      }
    }
  }

  const dependsOn = dependencies(context, at, raw.depends_on, names);
  if (dependsOn.length) component.depends_on = dependsOn;
  const secrets = secretsOf(context, at, raw.secrets);
  if (secrets.length) component.secrets = secrets;
  if (raw.healthcheck !== undefined) {
    const health = healthOf(context, at, raw.healthcheck);
    if (health) component.health = health;
  }
  if (raw.stop_signal !== undefined) {
    // Compose takes SIGQUIT or QUIT; an unknown one is left for validation to name.
    const signal = String(raw.stop_signal);
    component.stop_signal = (/^[A-Z0-9]+$/.test(signal) && !signal.startsWith('SIG') ? `SIG${signal}` : signal) as StopSignal;
  }
  if (raw.stop_grace_period !== undefined) {
    const ms = parseDuration(String(raw.stop_grace_period));
    if (ms === undefined) component.stop_timeout = String(raw.stop_grace_period);
    else {
      // podman stops in whole seconds: a fraction is rounded up, never cut short.
      component.stop_timeout = `${Math.ceil(ms / 1000)}s`;
      if (ms % 1000 !== 0) note('stop_grace_period', `rounded up to ${component.stop_timeout} (podman stops in whole seconds)`);
    }
  }

  const handled = new Set([
    'image', 'build', 'command', 'entrypoint', 'environment', 'env_file', 'ports', 'volumes', 'restart', 'user',
    'networks', 'network_mode', 'deploy', 'mem_limit', 'cpus', 'depends_on', 'secrets', 'healthcheck',
    'stop_signal', 'stop_grace_period',
  ]);
  for (const field of Object.keys(raw)) {
    if (handled.has(field) || field.startsWith('x-')) continue;
    note(field, UNMAPPABLE[field] ?? 'not supported by MCP; dropped');
  }
  if (raw.build !== undefined && typeof raw.image === 'string') note('build', 'ignored: the image is used as it is; build and push it yourself');
  return component;
}

function words(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return shellWords(value);
  if (Array.isArray(value)) return value.map(String);
  return [String(value)];
}

/** env_file first, then environment (which wins), as Compose does. */
function environment(context: Context, at: string, raw: Table): string[] {
  const env = new Map<string, string>();
  const files = raw.env_file === undefined ? [] : Array.isArray(raw.env_file) ? raw.env_file : [raw.env_file];
  for (const entry of files) {
    const file = typeof entry === 'string' ? entry : isTable(entry) ? String(entry.path) : String(entry);
    const required = !(isTable(entry) && entry.required === false);
    const text = context.readFile(path.resolve(context.dir, file));
    if (text === undefined) {
      if (required) context.issues.push({ path: `${at}.env_file`, reason: `${file} not found (relative to ${context.dir})` });
      continue;
    }
    for (const [key, value] of parseEnvFile(text)) env.set(key, value);
  }
  const declared = raw.environment;
  if (Array.isArray(declared)) {
    for (const item of declared) {
      const text = String(item);
      const equals = text.indexOf('=');
      if (equals < 0) context.notes.push({ path: `${at}.environment`, message: `${text} takes its value from the shell at compose up; set a value (KEY=VALUE) or a secret` });
      else env.set(text.slice(0, equals), text.slice(equals + 1));
    }
  } else if (isTable(declared)) {
    for (const [key, value] of Object.entries(declared)) {
      if (value === null || value === undefined) {
        context.notes.push({ path: `${at}.environment.${key}`, message: 'takes its value from the shell at compose up; set a value or a secret' });
      } else {
        env.set(key, String(value));
      }
    }
  } else if (declared !== undefined) {
    context.issues.push({ path: `${at}.environment`, reason: 'must be a list or a mapping' });
  }
  return [...env].map(([key, value]) => `${key}=${value}`);
}

const PORT_SHORT = /^(?:(\[[^\]]+\]|[0-9.]+):)?(?:(\d+(?:-\d+)?):)?(\d+(?:-\d+)?)(?:\/(tcp|udp))?$/;

function ports(context: Context, at: string, value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    context.issues.push({ path: `${at}.ports`, reason: 'must be a list' });
    return [];
  }
  const result: string[] = [];
  value.forEach((item: unknown, index) => {
    const where = `${at}.ports[${index}]`;
    let hostIp: string | undefined;
    let published: string | undefined;
    let target: string;
    let protocol: string | undefined;
    if (isTable(item)) {
      hostIp = item.host_ip === undefined ? undefined : String(item.host_ip);
      published = item.published === undefined ? undefined : String(item.published);
      target = String(item.target);
      protocol = item.protocol === undefined ? undefined : String(item.protocol);
    } else {
      const match = PORT_SHORT.exec(String(item));
      if (!match) {
        context.issues.push({ path: where, reason: `"${String(item)}" is not a Compose port mapping` });
        return;
      }
      [, hostIp, published, target, protocol] = match;
    }
    if (published === undefined) {
      context.notes.push({ path: where, message: `publishes container port ${target} on a random host port: give it a host port ("8080:${target}") or a route` });
      return;
    }
    if (hostIp === '0.0.0.0') hostIp = undefined;
    const hosts = range(published);
    const targets = range(target);
    if (!hosts || !targets || hosts.length !== targets.length) {
      context.issues.push({ path: where, reason: 'host and container port ranges must have the same length' });
      return;
    }
    hosts.forEach((host, i) => result.push(`${hostIp ? `${hostIp}:` : ''}${host}:${targets[i]}${protocol && protocol !== 'tcp' ? `/${protocol}` : ''}`));
  });
  return result;
}

function range(text: string): number[] | undefined {
  const match = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!match) return undefined;
  const start = Number(match[1]);
  const end = match[2] === undefined ? start : Number(match[2]);
  if (end < start) return undefined;
  return Array.from({ length: end - start + 1 }, (_, i) => start + i);
}

function volumes(context: Context, at: string, value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    context.issues.push({ path: `${at}.volumes`, reason: 'must be a list' });
    return [];
  }
  const result: string[] = [];
  value.forEach((item: unknown, index) => {
    const where = `${at}.volumes[${index}]`;
    let source: string | undefined;
    let target: string;
    let options: string[] = [];
    if (isTable(item)) {
      if (item.type === 'tmpfs') {
        context.notes.push({ path: where, message: UNMAPPABLE.tmpfs });
        return;
      }
      source = item.source === undefined ? undefined : String(item.source);
      target = String(item.target);
      if (item.read_only === true) options = ['ro'];
    } else {
      const parts = String(item).split(':');
      if (parts.length === 1) [target] = parts;
      else [source, target] = parts;
      if (parts.length > 2) options = parts[2].split(',').filter((option) => option !== 'rw');
    }
    if (!source) {
      context.notes.push({ path: where, message: `anonymous volume at ${target}: not carried; name it (NAME:${target}) to keep its data` });
      return;
    }
    if (!source.startsWith('/') && !source.startsWith('.') && !source.startsWith('~')) {
      source = podmanVolumeName(context, source);
    } else if (source.startsWith('.') || source.startsWith('~')) {
      const relative = path.posix.normalize(source.replace(/^~\/?/, '').replace(/^\.\/?/, '')) || 'data';
      const inside = relative.replace(/^(\.\.\/)+/, '');
      // `./…` (SPEC §15): relative to <srv_root>/<service>/ on whichever node runs it.
      const host = inside === '.' ? './' : `./${inside}`;
      context.notes.push({ path: where, message: `bind mount of ${source} became ${host} (${path.posix.join(context.srvRoot, context.name, inside)} on the node): copy its contents there (mcp push FILE ${context.name} ${inside})` });
      source = host;
    }
    result.push([source, target, ...(options.length ? [options.join(',')] : [])].join(':'));
  });
  return result;
}

/** The podman volume Compose uses for a named volume: its `name:`, the name itself when external, else `<project>_<key>`. */
function podmanVolumeName(context: Context, key: string): string {
  const top = isTable(context.compose.volumes) ? context.compose.volumes[key] : undefined;
  if (isTable(top) && typeof top.name === 'string') return top.name;
  if (isTable(top) && top.external === true) return key;
  return `${context.project}_${key}`;
}

function networkOf(context: Context, at: string, raw: Table): string | undefined {
  if (typeof raw.network_mode === 'string') {
    if (['host', 'none', 'bridge'].includes(raw.network_mode)) return raw.network_mode;
    context.notes.push({ path: `${at}.network_mode`, message: `"${raw.network_mode}" is not carried; put the components on one podman network instead` });
    return undefined;
  }
  const declared = Array.isArray(raw.networks) ? raw.networks.map(String) : isTable(raw.networks) ? Object.keys(raw.networks) : [];
  if (declared.length === 0) return undefined;
  if (declared.length > 1) {
    context.notes.push({ path: `${at}.networks`, message: `MCP gives a component one network: kept "${declared[0]}", dropped ${declared.slice(1).join(', ')}` });
  }
  const key = declared[0];
  const top = isTable(context.compose.networks) ? context.compose.networks[key] : undefined;
  const name = isTable(top) && typeof top.name === 'string' ? top.name : isTable(top) && top.external === true ? key : `${context.project}_${key}`;
  if (!context.notes.some((n) => n.path === `networks.${key}`)) {
    context.notes.push({ path: `networks.${key}`, message: `podman network "${name}" must exist on the node: podman network create ${name}` });
  }
  return name;
}

function dependencies(context: Context, at: string, value: unknown, names: Map<string, string>): string[] {
  if (value === undefined) return [];
  const entries: [string, unknown][] = Array.isArray(value) ? value.map((item) => [String(item), undefined]) : isTable(value) ? Object.entries(value) : [];
  const kept: string[] = [];
  for (const [key, config] of entries) {
    const condition = isTable(config) ? config.condition : undefined;
    if (condition === 'service_completed_successfully') {
      context.notes.push({
        path: `${at}.depends_on.${key}`,
        message: 'dropped: MCP has no one-off jobs to wait for; run that job before deploying (podman run --rm ...), or keep it as a component that runs once',
      });
      continue;
    }
    if (condition === 'service_healthy') {
      context.notes.push({ path: `${at}.depends_on.${key}`, message: 'MCP deploys this after the dependency runs (and, once it has a health check, is healthy)' });
    }
    kept.push(names.get(key) ?? key);
  }
  return kept;
}

function secretsOf(context: Context, at: string, value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    context.issues.push({ path: `${at}.secrets`, reason: 'must be a list' });
    return [];
  }
  const declared = isTable(context.compose.secrets) ? context.compose.secrets : {};
  return value.map((item: unknown) => {
    const name = isTable(item) ? String(item.source) : String(item);
    if (isTable(item) && item.target !== undefined && item.target !== name) {
      context.notes.push({ path: `${at}.secrets`, message: `${name} is mounted at /run/secrets/${name} (target "${String(item.target)}" is not carried)` });
    }
    const top = declared[name];
    const source = isTable(top) && typeof top.file === 'string' ? ` < ${top.file}` : '';
    if (!context.notes.some((n) => n.path === `secrets.${name}`)) {
      context.notes.push({ path: `secrets.${name}`, message: `store its value on the node: mcp secret set ${context.name} ${name}${source}` });
    }
    return name;
  });
}

/** Compose `healthcheck` → SPEC §8 `health` (an exec check): test, interval, timeout; start_period widened to cover retries. */
function healthOf(context: Context, at: string, value: unknown): HealthSpec | undefined {
  const note = (message: string) => context.notes.push({ path: `${at}.healthcheck`, message });
  if (!isTable(value)) {
    context.issues.push({ path: `${at}.healthcheck`, reason: 'must be a mapping' });
    return undefined;
  }
  if (value.disable === true) return undefined;
  const test = value.test;
  let cmd: string[] | undefined;
  if (typeof test === 'string') cmd = ['/bin/sh', '-c', test];
  else if (Array.isArray(test)) {
    const [kind, ...rest] = test.map(String);
    if (kind === 'NONE') return undefined;
    if (kind === 'CMD') cmd = rest;
    else if (kind === 'CMD-SHELL') cmd = ['/bin/sh', '-c', rest.join(' ')];
  }
  if (!cmd?.length) {
    note('its test is not CMD or CMD-SHELL: not carried; write a [components.health] by hand');
    return undefined;
  }
  const health: HealthSpec = { cmd };
  const duration = (key: string): number | undefined => {
    if (value[key] === undefined) return undefined;
    const ms = parseDuration(String(value[key]));
    if (ms === undefined) note(`${key} "${String(value[key])}" is not carried (MCP durations: 500ms, 5s, 1m30s)`);
    return ms;
  };
  const interval = duration('interval');
  const timeout = duration('timeout');
  const startPeriod = duration('start_period') ?? 0;
  if (interval !== undefined) health.interval = `${interval}ms`;
  if (timeout !== undefined) health.timeout = `${timeout}ms`;
  const retries = typeof value.retries === 'number' ? value.retries : 3;
  // Compose: unhealthy after start_period + retries failed probes; MCP: how long a deploy waits (default 60s).
  const wait = startPeriod + (interval ?? 30_000) * retries;
  if (wait > 60_000) health.start_period = `${Math.ceil(wait / 1000)}s`;
  note('carried as [components.health] (cmd run inside the container); MCP waits start_period for the first healthy answer instead of counting retries');
  return health;
}

/** Compose memory (`512m`, `1gb`, `1G`, bytes as a number) as podman's `--memory` (`512m`, `1g`, `1048576`). */
function memoryOf(value: unknown): string {
  if (typeof value === 'number') return String(value);
  const match = /^\s*(\d+(?:\.\d+)?)\s*([bkmg])?i?b?\s*$/i.exec(String(value));
  return match ? `${match[1]}${(match[2] ?? '').toLowerCase()}` : String(value);
}
