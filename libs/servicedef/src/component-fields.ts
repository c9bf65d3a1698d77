import { isTable, parseDuration, STOP_SIGNALS, type ComponentSpec, type DeployStrategy, type HealthSpec, type PullPolicy, type RouteMode, type RouteSpec, type StopSignal, type Table } from '@mcp/common';
import type { mcpv1 } from '@mcp/proto';
import type { ContainerDetails, RunOptions } from '@mcp/runtime';
import { canonicalJson } from './component-hash';
import { parseImageReference } from './image-reference';

/*
 * The one description of a ComponentSpec field (#19). `COMPONENT_FIELDS` has an entry per
 * field — tsc rejects a field without one — and each entry says, for every place a field
 * travels, what that place does with it (or `null`: nothing, and the comment says why):
 * reading it from a validated definition, writing it back as TOML, the proto message, the
 * deploy plan's text, podman's run options, drift against an inspect, adoption from a
 * container, and the Compose and Kubernetes exports. What handles components loops over this
 * table: validate-service-spec (read), service-definition (toml), proto-spec (proto),
 * spec-diff (diff), libs/deployer's container-ops (run) and container-drift (drift), the
 * agent's adopt-mapping (adopt), libs/interop's compose-export and kube-export.
 * The key's validation rule stays on `ComponentTable` (field-rules.ts). Recipe: ARCHITECTURE
 * "Adding a definition field".
 */

/** What a run option entry gets besides the field's value (libs/deployer fills it). */
export interface RunContext {
  /** The image to run instead of the spec's (a rollback to a moved tag runs `repo@digest`). */
  image?: string;
  /** `-p <bind>:<hostPort>:<hostPort>` per route with a host port. */
  routePorts: string[];
  /** `PORT` / `PORT_<NAME>` = the host port, per route with one. */
  routeEnv: string[];
  /** The spec's volumes as podman gets them on this node (`./` resolved). */
  volumes: string[];
  /** The podman secret of a secret name of this service. */
  podmanSecret(name: string): string;
}

/** What a drift entry compares with (libs/deployer fills it from the deploy and one inspect). */
export interface DriftContext {
  container: ContainerDetails;
  /** Every `-p` MCP passed: the spec's ports and the routes'. */
  ports: string[];
  /** Every variable MCP set: the spec's env and the route variables. */
  env: string[];
  /** The volumes MCP passed. */
  volumes: string[];
  /** A port mapping as comparable keys (podman's own parser; ranges expanded). */
  portKeys(mapping: string): string[];
  /** podman `--memory` text in bytes; undefined when it does not parse. */
  memoryBytes(text: string): number | undefined;
}

export interface AdoptContext {
  /** The component's name (the container's, or the one asked for). */
  name: string;
  /** `<srv_root>/<service>`: bind mounts inside it are recorded as `./…` (SPEC §15). */
  serviceDir?: string;
}

/** A Compose export entry's output (libs/interop fills it): the Compose service, the file's top-level tables, what Compose cannot carry. */
export interface ComposeOut {
  component: ComponentSpec;
  service: Record<string, unknown>;
  /** Top-level `volumes:`, `networks:`, `secrets:` of the Compose file. */
  volumes: Record<string, unknown>;
  networks: Record<string, unknown>;
  secrets: Record<string, unknown>;
  /** The component's volumes with `./` sources made absolute (Compose has no service directory). */
  exportedVolumes: string[];
  /** The component's routes as plain published ports: the app reads `$PORT…` = the port. */
  routes: { env: string; port: number; hostIp: string; description: string }[];
  notCarried(text: string): void;
}

/** A Kubernetes export entry's output (libs/interop fills it): the container, its pod spec, what the format cannot carry. */
export interface KubeOut {
  component: ComponentSpec;
  container: Record<string, unknown>;
  pod: Record<string, unknown>;
  notCarried(text: string): void;
}

export interface FieldDef<K extends keyof ComponentSpec> {
  /** The value of a definition that passed validation (TOML, an RPC payload, the registry); undefined: absent. */
  read(value: unknown): ComponentSpec[K] | undefined;
  /** The TOML lines of a present value (`key = …`, or a sub-table's lines). */
  toml(value: NonNullable<ComponentSpec[K]>): string[];
  /** The proto message's members for the value, and the value of a message (absent stays absent). */
  proto: { to(value: ComponentSpec[K]): Partial<mcpv1.ComponentSpec>; from(message: mcpv1.ComponentSpec): ComponentSpec[K] | undefined };
  /** A deploy plan's text for a change, `a → b`, '' when equal; null: never a change. */
  diff: ((before: ComponentSpec[K], after: ComponentSpec[K]) => string) | null;
  /** Podman run options from the value; null: not a run option (the deploy flow, labels or another field carry it). */
  run: ((value: ComponentSpec[K], context: RunContext) => Partial<RunOptions>) | null;
  /** Drift text `deployed → running`, '' when the container agrees; null: not compared from an inspect. */
  drift: ((value: ComponentSpec[K], context: DriftContext) => string) | null;
  /** The value adoption records from a container; null: not discoverable from one. */
  adopt: ((container: ContainerDetails, context: AdoptContext) => ComponentSpec[K] | undefined) | null;
  /** The Compose export of a present value; null: nothing to write (or exportCompose writes it with another field). */
  compose: ((value: NonNullable<ComponentSpec[K]>, out: ComposeOut) => void) | null;
  /** The Kubernetes export of a present value; null: nothing to write (or exportKube writes it with another field). */
  kube: ((value: NonNullable<ComponentSpec[K]>, out: KubeOut) => void) | null;
}

export type ComponentFields = { [K in keyof ComponentSpec]-?: FieldDef<K> };

/** A TOML basic string. JSON's escapes are all valid TOML escapes; TOML also forbids a raw DEL. */
export function tomlString(text: string): string {
  return JSON.stringify(text).replace(/\u007f/g, '\\u007F');
}

/** A float is written with a fraction (`2.0`), so it reads back as the same number. */
function tomlNumber(value: number): string {
  return Number.isInteger(value) ? `${value}.0` : String(value);
}

/** Variable names are bare keys (validation allows letters, digits and `_` only). */
function tomlKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : tomlString(key);
}

export function tomlStringArray(items: readonly string[]): string {
  return `[${items.map(tomlString).join(', ')}]`;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);
/** A list that is absent when empty (the SPEC §9 fields: specs from before them hash as they did). */
const someStrings = (value: unknown): string[] | undefined => (Array.isArray(value) && value.length ? value.map(String) : undefined);
/** Proto3 strings have no presence: absent optionals travel as ''. */
const present = (value: string | undefined): string | undefined => (value === undefined || value === '' ? undefined : value);
const line = (key: string) => (value: string): string[] => [`${key} = ${tomlString(value)}`];
const listLine = (key: string) => (value: string[]): string[] => (value.length ? [`${key} = ${tomlStringArray(value)}`] : []);

/** `a → b`, `(none)` for an absent value. */
const scalar = <T>(before: T, after: T): string => (before === after ? '' : `${String(before ?? '(none)')} → ${String(after ?? '(none)')}`);
/** `+added -removed` (a deploy plan). */
function setChange(before: string[], after: string[]): string {
  const added = after.filter((item) => !before.includes(item)).map((item) => `+${item}`);
  const removed = before.filter((item) => !after.includes(item)).map((item) => `-${item}`);
  return [...added, ...removed].join(' ');
}
/** `-missing +extra` (drift: what the deploy set against what runs). */
function driftSetChange(want: string[], have: string[]): string {
  const missing = want.filter((item) => !have.includes(item)).map((item) => `-${item}`);
  const extra = have.filter((item) => !want.includes(item)).map((item) => `+${item}`);
  return [...missing, ...extra].join(' ');
}
const sameJson = (a: unknown, b: unknown): boolean => canonicalJson(a ?? null) === canonicalJson(b ?? null);

export function listText(list: string[]): string {
  return list.length ? `[${list.join(' ')}]` : '(image default)';
}

/** `+NEW ~CHANGED -GONE` by variable name (values are never shown: they may be secret). */
export function envChange(before: string[], after: string[]): string {
  const parse = (list: string[]): Map<string, string> => new Map(list.map((item) => [item.slice(0, item.indexOf('=')), item.slice(item.indexOf('=') + 1)]));
  const a = parse(before);
  const b = parse(after);
  const parts: string[] = [];
  for (const [key, value] of b) {
    if (!a.has(key)) parts.push(`+${key}`);
    else if (a.get(key) !== value) parts.push(`~${key}`);
  }
  for (const key of a.keys()) if (!b.has(key)) parts.push(`-${key}`);
  return parts.join(' ');
}

function variableName(entry: string): string {
  const at = entry.indexOf('=');
  return at < 0 ? entry : entry.slice(0, at);
}

/** The tags when only the tag changed (`1.0 → 2.0`), else both references. */
function imageChange(before: string, after: string): string {
  try {
    const a = parseImageReference(before);
    const b = parseImageReference(after);
    if (a && b && a.path === b.path && a.domain === b.domain && a.tag && b.tag && !a.digest && !b.digest) return `${a.tag} → ${b.tag}`;
  } catch {
    // Fall through to the whole references.
  }
  return `${before} → ${after}`;
}

function routeText(route: RouteSpec): string {
  return `${route.name ? `${route.name}=` : ''}:${route.port}/${route.mode}${route.hostname ? `@${route.hostname}` : ''}`;
}

function healthText(health: HealthSpec | undefined): string {
  if (!health) return '(implicit)';
  const kind = health.http !== undefined ? `GET ${health.http}` : health.tcp ? 'tcp' : `cmd ${listText(health.cmd ?? [])}`;
  const extra = (['route', 'port', 'interval', 'timeout', 'start_period', 'healthy'] as const)
    .filter((key) => health[key] !== undefined)
    .map((key) => `${key}=${String(health[key])}`);
  return [kind, ...extra].join(' ');
}

function hooksText(hooks: ComponentSpec['hooks']): string {
  if (!hooks) return '(none)';
  return `pre_deploy ${listText(hooks.pre_deploy)}${hooks.timeout ? ` timeout=${hooks.timeout}` : ''}`;
}

/** Variables podman or the image put into every container's environment; adoption drops exactly these. */
export const DEFAULT_CONTAINER_ENV: ReadonlySet<string> = new Set(['PATH', 'TERM', 'container', 'HOSTNAME', 'HOME']);

/** Networks podman picks when the spec names none (rootful bridge, rootless slirp4netns/pasta). */
const DEFAULT_NETWORKS: ReadonlySet<string> = new Set(['', 'bridge', 'default', 'podman', 'slirp4netns', 'pasta', 'private']);

/** podman's defaults: a container with them is adopted without stop_signal/stop_timeout. */
const PODMAN_STOP_SIGNAL = 'SIGTERM';
const PODMAN_STOP_TIMEOUT_SECONDS = 10;

/**
 * A bind mount from inside the service's directory written as `./…` (SPEC §15), so the
 * adopted definition moves between nodes unchanged; anything else as podman reports it.
 */
export function serviceRelative(volume: string, serviceDir: string): string {
  const [host, ...rest] = volume.split(':');
  const dir = serviceDir.replace(/\/+$/, '');
  if (host === dir) return ['./', ...rest].join(':');
  if (!host.startsWith(`${dir}/`)) return volume;
  return [`./${host.slice(dir.length + 1)}`, ...rest].join(':');
}

/** podman's `--memory` for a byte count, in the largest unit that divides it (`256m`, `2g`). */
export function memoryText(bytes: number): string {
  for (const [unit, size] of [['g', 1024 ** 3], ['m', 1024 ** 2], ['k', 1024]] as const) {
    if (bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}b`;
}

/** podman's binary units (`512m` = 512 MiB) as a Kubernetes quantity (`512Mi`; `512m` there would be 0.512 bytes). */
export function kubeMemory(memory: string): string {
  const match = /^(\d+(?:\.\d+)?)([bkmg])?$/i.exec(memory);
  if (!match) return memory;
  const unit = (match[2] ?? 'b').toLowerCase();
  return unit === 'b' ? match[1] : `${match[1]}${unit.toUpperCase()}i`;
}

/** A component's `stop_timeout` (validated: whole seconds) in seconds; undefined when it has none. */
export function stopSeconds(stopTimeout: string | undefined): number | undefined {
  const ms = stopTimeout === undefined ? undefined : parseDuration(stopTimeout);
  return ms === undefined ? undefined : Math.ceil(ms / 1000);
}

function readHealth(health: Table): HealthSpec {
  const number = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);
  const { http, route, interval, timeout, start_period } = health;
  const cmd = Array.isArray(health.cmd) ? strings(health.cmd) : undefined;
  return compact({ http: text(http), tcp: health.tcp === true || undefined, cmd, route: text(route), port: number(health.port), interval: text(interval), timeout: text(timeout), start_period: text(start_period), healthy: number(health.healthy) });
}

function healthLines(health: HealthSpec): string[] {
  const lines = ['[components.health]'];
  if (health.http !== undefined) lines.push(`http = ${tomlString(health.http)}`);
  if (health.tcp !== undefined) lines.push(`tcp = ${health.tcp}`);
  if (health.cmd !== undefined) lines.push(`cmd = ${tomlStringArray(health.cmd)}`);
  if (health.route !== undefined) lines.push(`route = ${tomlString(health.route)}`);
  if (health.port !== undefined) lines.push(`port = ${health.port}`);
  for (const key of ['interval', 'timeout', 'start_period'] as const) {
    const value = health[key];
    if (value !== undefined) lines.push(`${key} = ${tomlString(value)}`);
  }
  if (health.healthy !== undefined) lines.push(`healthy = ${health.healthy}`);
  return lines;
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

/** Zero values are absent; `cmd = []` cannot be told from no cmd, which validation then reports. */
function fromProtoHealth(msg: mcpv1.HealthCheck): HealthSpec {
  const cmd = (msg.cmd ?? []).length > 0 ? [...msg.cmd] : undefined;
  const { http, route, interval, timeout, startPeriod } = msg;
  return compact({ http: present(http), tcp: msg.tcp || undefined, cmd, route: present(route), port: msg.port || undefined, interval: present(interval), timeout: present(timeout), start_period: present(startPeriod), healthy: msg.healthy || undefined });
}

function readRoute(route: Table): RouteSpec {
  return compact({ name: text(route.name), port: route.port as number, mode: (route.mode as RouteMode | undefined) ?? 'l4', hostname: text(route.hostname) });
}

function routeLines(route: RouteSpec): string[] {
  const lines = ['', '[[components.routes]]'];
  if (route.name !== undefined) lines.push(`name = ${tomlString(route.name)}`);
  lines.push(`port = ${route.port}`, `mode = ${tomlString(route.mode)}`);
  if (route.hostname !== undefined) lines.push(`hostname = ${tomlString(route.hostname)}`);
  return lines;
}

function fromProtoRoute(msg: mcpv1.RouteSpec): RouteSpec {
  return compact({ name: present(msg.name), port: msg.port, mode: (present(msg.mode) ?? 'l4') as RouteMode, hostname: present(msg.hostname) });
}

type Members<T> = { [M in keyof mcpv1.ComponentSpec]-?: NonNullable<mcpv1.ComponentSpec[M]> extends T ? M : never }[keyof mcpv1.ComponentSpec];

/** read, toml, proto and diff of an optional text field; `presence`: its proto member is `optional` (else '' stands for absent). */
function textField<T extends string>(key: string, member: Members<string>, presence: boolean) {
  return {
    read: (value: unknown) => text(value) as T | undefined,
    toml: line(key),
    proto: {
      to: (value: T | undefined) => (presence && value === undefined ? {} : ({ [member]: value ?? '' } as Partial<mcpv1.ComponentSpec>)),
      from: (message: mcpv1.ComponentSpec) => present(message[member]) as T | undefined,
    },
    diff: scalar,
  };
}

/** read, toml and proto of a list that is always present (possibly empty). */
function listField(key: string, member: Members<string[]>) {
  return {
    read: strings,
    toml: listLine(key),
    proto: { to: (list: string[]) => ({ [member]: [...list] }) as Partial<mcpv1.ComponentSpec>, from: (message: mcpv1.ComponentSpec) => [...(message[member] ?? [])] },
  };
}

/**
 * Every ComponentSpec field, in the order a definition file writes them (tables last: after
 * `[[components.routes]]` a key would belong to a route). A deploy plan, drift and the exports
 * list their lines in their own orders (PLAN_ORDER, DRIFT_ORDER, compose-export, kube-export),
 * fields not named there last, in this order.
 */
export const COMPONENT_FIELDS: ComponentFields = {
  name: {
    read: (value) => value as string,
    toml: line('name'),
    proto: { to: (name) => ({ name }), from: (message) => message.name },
    diff: null, // it identifies the component
    run: null, drift: null, // the container's name and labels come from it; it is found by it (ContainerOps)
    adopt: (_container, context) => context.name,
    compose: null, // the Compose service's key
    kube: (name, out) => void (out.container.name = name),
  },
  image: {
    read: (value) => value as string,
    toml: line('image'),
    proto: { to: (image) => ({ image }), from: (message) => message.image },
    diff: (before, after) => (before === after ? '' : imageChange(before, after)),
    run: (image, context) => ({ image: context.image ?? image }),
    drift: null, // compared from the listing, without an inspect (summaryDrift)
    adopt: (container) => container.image,
    compose: (image, out) => void (out.service.image = image),
    kube: (image, out) => void (out.container.image = image),
  },
  network: {
    ...textField('network', 'network', false),
    run: (network) => ({ network }),
    drift: (network, { container }) => {
      const running = container.network ?? '';
      return (network ? network !== running : !DEFAULT_NETWORKS.has(running)) ? `${network ?? '(default)'} → ${running || '(default)'}` : '';
    },
    adopt: (container) => container.network || undefined,
    compose: (network, out) => {
      if (['host', 'none', 'bridge'].includes(network)) {
        out.service.network_mode = network;
      } else {
        out.service.networks = [network];
        out.networks[network] = { external: true, name: network };
      }
    },
    kube: (network, out) => out.notCarried(`${out.component.name}: network "${network}" (pods share the cluster network; reach components through their Services)`),
  },
  user: {
    ...textField('user', 'user', false),
    run: (user) => ({ user }),
    drift: (user, { container }) => (user && user !== (container.user ?? '') ? `${user} → ${container.user ?? '(image default)'}` : ''),
    adopt: (container) => container.user || undefined,
    compose: (user, out) => void (out.service.user = user),
    kube: (user, out) => {
      const ids = /^(\d+)(?::(\d+))?$/.exec(user);
      if (ids) out.container.securityContext = ids[2] === undefined ? { runAsUser: Number(ids[1]) } : { runAsUser: Number(ids[1]), runAsGroup: Number(ids[2]) };
      else out.notCarried(`${out.component.name}: user "${user}" (Kubernetes needs numeric ids)`);
    },
  },
  restart: {
    ...textField('restart', 'restart', false),
    run: (restart) => ({ restart }),
    drift: (restart, { container }) => {
      const policy = (value: string | undefined): string => (!value || value === 'no' ? 'no' : value);
      return policy(restart) === policy(container.restart) ? '' : `${policy(restart)} → ${policy(container.restart)}`;
    },
    adopt: (container) => (container.restart && container.restart !== 'no' ? container.restart : undefined),
    compose: (restart, out) => void (out.service.restart = restart),
    kube: (restart, out) => {
      if (restart !== 'always' && restart !== 'unless-stopped') out.notCarried(`${out.component.name}: restart "${restart}" (a Deployment always restarts its containers)`);
    },
  },
  ports: {
    ...listField('ports', 'ports'),
    diff: setChange,
    run: (ports) => ({ ports: [...ports] }),
    drift: (_ports, context) => driftSetChange(context.ports.flatMap(context.portKeys), context.container.portSpecs.flatMap(context.portKeys)),
    adopt: (container) => [...container.portSpecs],
    compose: (ports, out) => {
      const published = [...ports, ...out.routes.map((route) => `${route.hostIp}:${route.port}:${route.port}`)];
      if (published.length) out.service.ports = published;
      for (const route of out.routes) {
        out.notCarried(`${route.description} (mc-proxy routing and TLS): published as ${route.hostIp}:${route.port}; put a reverse proxy in front`);
      }
    },
    kube: null, // container ports with the routes' (exportKube)
  },
  volumes: {
    ...listField('volumes', 'volumes'),
    diff: setChange,
    run: (_volumes, context) => ({ volumes: context.volumes }),
    drift: (_volumes, context) => {
      const key = (volume: string): string => volume.split(':').slice(0, 2).join(':'); // options differ in how podman reports them
      return driftSetChange(context.volumes.map(key), context.container.volumes.map(key));
    },
    adopt: (container, context) => container.volumes.map((volume) => (context.serviceDir ? serviceRelative(volume, context.serviceDir) : volume)),
    compose: (volumes, out) => {
      if (!volumes.length) return;
      out.service.volumes = out.exportedVolumes;
      for (const source of out.exportedVolumes.map((volume) => volume.split(':')[0])) {
        if (!source.startsWith('/')) out.volumes[source] = { name: source };
      }
    },
    kube: null, // pod volumes and mounts, with the secrets' (exportKube)
  },
  cmd: {
    ...listField('cmd', 'cmd'),
    diff: (before, after) => (sameJson(before, after) ? '' : `${listText(before)} → ${listText(after)}`),
    run: (cmd) => ({ cmd: [...cmd] }),
    // Compared only when the spec sets it: otherwise the image's command runs.
    drift: (cmd, { container }) => (cmd.length > 0 && !sameJson(cmd, container.cmd) ? `${listText(cmd)} → ${listText(container.cmd)}` : ''),
    adopt: (container) => [...container.cmd],
    compose: (cmd, out) => void (cmd.length && (out.service.command = [...cmd])),
    // MCP's cmd replaces the image's command (CMD), which is what `args` does in Kubernetes.
    kube: (cmd, out) => void (cmd.length && (out.container.args = [...cmd])),
  },
  env: {
    ...listField('env', 'env'),
    diff: envChange,
    run: (env) => ({ env: [...env] }),
    // Only the variables MCP set, by name; the image's own are not MCP's to judge.
    drift: (_env, context) => {
      const running = new Map(context.container.env.map((entry) => [variableName(entry), entry]));
      return envChange(context.env, context.env.flatMap((entry) => running.get(variableName(entry)) ?? []));
    },
    adopt: (container) => container.env.filter((entry) => !DEFAULT_CONTAINER_ENV.has(variableName(entry))),
    compose: (env, out) => {
      const environment = [...env, ...out.routes.map((route) => `${route.env}=${route.port}`)];
      if (environment.length) out.service.environment = environment;
    },
    kube: null, // with the routes' and the secrets' variables (exportKube)
  },
  memory: {
    ...textField('memory', 'memory', false),
    run: (memory) => ({ memory }),
    drift: (memory, context) => {
      const want = memory ? context.memoryBytes(memory) : undefined;
      const have = context.container.memoryBytes;
      return (want ?? 0) === (have ?? 0) ? '' : `${memory ?? '(none)'} → ${have ? `${have} bytes` : '(none)'}`;
    },
    adopt: (container) => (container.memoryBytes ? memoryText(container.memoryBytes) : undefined),
    compose: (memory, out) => void (out.service.mem_limit = memory),
    kube: (memory, out) => void (limits(out).memory = kubeMemory(memory)),
  },
  cpus: {
    read: (value) => (typeof value === 'number' ? value : undefined),
    toml: (cpus) => [`cpus = ${tomlNumber(cpus)}`],
    proto: { to: (cpus) => ({ cpus: cpus ?? 0 }), from: (message) => message.cpus || undefined },
    diff: scalar,
    run: (cpus) => ({ cpus }),
    drift: (cpus, { container }) => (Math.abs((cpus ?? 0) - (container.cpus ?? 0)) > 0.001 ? `${cpus ?? '(none)'} → ${container.cpus ?? '(none)'}` : ''),
    adopt: (container) => container.cpus || undefined,
    compose: (cpus, out) => void (out.service.cpus = cpus),
    kube: (cpus, out) => void (limits(out).cpu = `${Math.round(cpus * 1000)}m`),
  },
  secrets: {
    read: someStrings,
    toml: listLine('secrets'),
    proto: { to: (secrets) => ({ secrets: [...(secrets ?? [])] }), from: (message) => someStrings(message.secrets) },
    diff: (before, after) => setChange(before ?? [], after ?? []),
    run: (secrets, context) => ({ secrets: (secrets ?? []).map((name) => ({ source: context.podmanSecret(name), type: 'file' as const, target: name })) }),
    // podman's inspect does not name them (their versions are in the deploy hash), and its secrets are not MCP's names.
    drift: null, adopt: null,
    compose: (secrets, out) => {
      if (secrets.length) out.service.secrets = [...secrets];
      for (const secret of secrets) out.secrets[secret] = { file: `./secrets/${secret}` };
    },
    kube: null, // secret volumes beside the other mounts (exportKube)
  },
  env_secrets: {
    read: (value) => (isTable(value) && Object.keys(value).length ? Object.fromEntries(Object.entries(value).map(([key, secret]) => [key, String(secret)])) : undefined),
    toml: (table) => (Object.keys(table).length ? [`env_secrets = { ${Object.entries(table).map(([key, secret]) => `${tomlKey(key)} = ${tomlString(secret)}`).join(', ')} }`] : []),
    proto: {
      to: (table) => ({ envSecrets: { ...(table ?? {}) } }),
      from: (message) => (message.envSecrets && Object.keys(message.envSecrets).length ? { ...message.envSecrets } : undefined),
    },
    // Variable → secret name; `~` when a variable names another secret (no value is ever shown).
    diff: (before, after) => envChange(secretEntries(before), secretEntries(after)),
    run: (table, context) => ({ secrets: Object.entries(table ?? {}).map(([variable, name]) => ({ source: context.podmanSecret(name), type: 'env' as const, target: variable })) }),
    drift: null, adopt: null, // the adapters leave secret variables out of an inspect: no value leaves the runtime
    compose: (table, out) => {
      for (const [variable, secret] of Object.entries(table)) {
        out.notCarried(`${out.component.name}: env_secrets ${variable} = "${secret}" (Compose has no secret-valued variables): set ${variable} in environment, or read /run/secrets/${secret}`);
      }
    },
    kube: null, // secretKeyRef variables beside the others (exportKube)
  },
  depends_on: {
    read: someStrings,
    toml: listLine('depends_on'),
    proto: { to: (dependsOn) => ({ dependsOn: [...(dependsOn ?? [])] }), from: (message) => someStrings(message.dependsOn) },
    diff: (before, after) => setChange(before ?? [], after ?? []),
    run: null, drift: null, adopt: null, // the deploy order (dependencyLayers), not a container property
    compose: (dependsOn, out) => void (dependsOn.length && (out.service.depends_on = [...dependsOn])),
    kube: (dependsOn, out) => void (dependsOn.length && out.notCarried(`${out.component.name}: depends_on ${dependsOn.join(', ')} (Kubernetes starts pods in any order; retry connections, or add an initContainer that waits)`)),
  },
  strategy: {
    ...textField<DeployStrategy>('strategy', 'strategy', true),
    run: null, drift: null, adopt: null, // the deploy flow's, not a container property
    // One note for strategy and drain.
    compose: (_strategy, out) => out.notCarried(`${out.component.name}: strategy/drain (Compose recreates in place)`),
    kube: (_strategy, out) => out.notCarried(`${out.component.name}: strategy/drain (a Deployment's rollingUpdate does this in a cluster)`),
  },
  pull: {
    ...textField<PullPolicy>('pull', 'pull', true),
    run: null, drift: null, adopt: null, // the deploy flow pulls (or not) before the run
    compose: null, kube: null, // podman-compose and a cluster pull what is missing
  },
  drain: {
    ...textField('drain', 'drain', true),
    run: null, drift: null, adopt: null, // the deploy flow waits it out
    // Noted with strategy when the component has one.
    compose: (_drain, out) => void (out.component.strategy === undefined && out.notCarried(`${out.component.name}: strategy/drain (Compose recreates in place)`)),
    kube: (_drain, out) => void (out.component.strategy === undefined && out.notCarried(`${out.component.name}: strategy/drain (a Deployment's rollingUpdate does this in a cluster)`)),
  },
  stop_signal: {
    ...textField<StopSignal>('stop_signal', 'stopSignal', true),
    run: (stopSignal) => ({ stopSignal }),
    drift: null, // podman applies it at the next stop
    adopt: (container) => {
      const signal = STOP_SIGNALS.find((known) => known === container.stopSignal);
      return signal && signal !== PODMAN_STOP_SIGNAL ? signal : undefined;
    },
    compose: (stopSignal, out) => void (out.service.stop_signal = stopSignal),
    // A pod is always stopped with SIGTERM (the image's STOPSIGNAL at most, depending on the runtime).
    kube: (stopSignal, out) => {
      if (stopSignal !== 'SIGTERM') out.notCarried(`${out.component.name}: stop_signal ${stopSignal} (a pod spec has no stop signal: set STOPSIGNAL in the image, or a preStop hook)`);
    },
  },
  stop_timeout: {
    ...textField('stop_timeout', 'stopTimeout', true),
    run: (stopTimeout) => ({ stopTimeoutSeconds: stopSeconds(stopTimeout) }),
    drift: null, // podman applies it at the next stop
    adopt: (container) => {
      const seconds = container.stopTimeoutSeconds;
      return seconds !== undefined && seconds !== PODMAN_STOP_TIMEOUT_SECONDS ? `${seconds}s` : undefined;
    },
    compose: (stopTimeout, out) => void (out.service.stop_grace_period = stopTimeout),
    kube: (stopTimeout, out) => {
      const seconds = stopSeconds(stopTimeout);
      if (seconds !== undefined) out.pod.terminationGracePeriodSeconds = seconds;
    },
  },
  health: {
    read: (value) => (isTable(value) ? readHealth(value) : undefined),
    toml: (health) => ['', ...healthLines(health)],
    proto: { to: (health) => (health ? { health: toProtoHealth(health) } : {}), from: (message) => (message.health ? fromProtoHealth(message.health) : undefined) },
    diff: (before, after) => (sameJson(before, after) ? '' : `${healthText(before)} → ${healthText(after)}`),
    run: null, drift: null, adopt: null, // probed by the deploy flow and the monitor, not podman's healthcheck
    compose: (health, out) => {
      if (!health.cmd?.length) return out.notCarried(`${out.component.name}: health (${healthKind(health)} on the host port MCP probes); write a healthcheck test for it`);
      out.service.healthcheck = compact({ test: ['CMD', ...health.cmd], interval: health.interval, timeout: health.timeout, start_period: health.start_period });
    },
    kube: (health, out) => {
      if (!health.cmd?.length) return out.notCarried(`${out.component.name}: health (${healthKind(health)} on the host port MCP probes); write a readinessProbe for the container's port`);
      const exec = { command: [...health.cmd] };
      out.container.readinessProbe = compact({ exec, periodSeconds: probeSeconds(health.interval), timeoutSeconds: probeSeconds(health.timeout), successThreshold: health.healthy });
    },
  },
  hooks: {
    read: (value) => (isTable(value) ? compact({ pre_deploy: strings(value.pre_deploy), timeout: text(value.timeout) }) : undefined),
    toml: (hooks) => ['', '[components.hooks]', `pre_deploy = ${tomlStringArray(hooks.pre_deploy)}`, ...(hooks.timeout !== undefined ? [`timeout = ${tomlString(hooks.timeout)}`] : [])],
    proto: {
      to: (hooks) => (hooks ? { hooks: { preDeploy: [...hooks.pre_deploy], timeout: hooks.timeout ?? '' } } : {}),
      from: (message) => (message.hooks ? compact({ pre_deploy: [...message.hooks.preDeploy], timeout: present(message.hooks.timeout) }) : undefined),
    },
    diff: (before, after) => (sameJson(before, after) ? '' : `${hooksText(before)} → ${hooksText(after)}`),
    run: null, drift: null, adopt: null, // run by the deploy flow in a one-off container of the new spec
    compose: (hooks, out) => out.notCarried(`${out.component.name}: pre_deploy hook ${JSON.stringify(hooks.pre_deploy)} (run it with podman-compose run before up)`),
    // An initContainer runs before every pod start, on every replica, not once per release: not the same.
    kube: (hooks, out) =>
      out.notCarried(`${out.component.name}: pre_deploy hook ${JSON.stringify(hooks.pre_deploy)} (an initContainer would run it at every pod start, not once before a release; run it as a Job before rolling out)`),
  },
  routes: {
    read: (value) => (Array.isArray(value) ? (value as Table[]).map(readRoute) : []),
    toml: (routes) => routes.flatMap(routeLines),
    proto: {
      to: (routes) => ({ routes: routes.map((route) => ({ name: route.name ?? '', port: route.port, mode: route.mode, hostname: route.hostname ?? '' })) }),
      from: (message) => (message.routes ?? []).map(fromProtoRoute),
    },
    diff: (before, after) => setChange(before.map(routeText), after.map(routeText)),
    // A route's host port is published on the bind address and named to the app as $PORT….
    run: (_routes, context) => ({ ports: context.routePorts, env: context.routeEnv }),
    drift: null, adopt: null, // its ports and variables are compared as ports and env; not discoverable from a container
    compose: null, kube: null, // published ports and their variables, with ports and env
  },
};

/** The order a deploy plan lists changed fields in (the rest follow in table order). */
const PLAN_ORDER: readonly (keyof ComponentSpec)[] = [
  'image', 'network', 'user', 'restart', 'strategy', 'pull', 'hooks', 'drain', 'stop_signal', 'stop_timeout',
  'env', 'ports', 'volumes', 'cmd', 'routes', 'health',
];
/** The order drift lists fields in after the image (the rest follow in table order). */
const DRIFT_ORDER: readonly (keyof ComponentSpec)[] = ['cmd', 'env', 'ports', 'volumes'];

/** The table's keys, `first` leading. */
export function fieldKeys(first: readonly (keyof ComponentSpec)[] = []): (keyof ComponentSpec)[] {
  return [...first, ...(Object.keys(COMPONENT_FIELDS) as (keyof ComponentSpec)[]).filter((key) => !first.includes(key))];
}

/** One field's entry, typed for a loop over keys (the compiler cannot follow `K` through a loop variable). */
export function fieldDef(key: keyof ComponentSpec): FieldDef<keyof ComponentSpec> {
  return COMPONENT_FIELDS[key] as FieldDef<keyof ComponentSpec>;
}

export const planKeys = (): (keyof ComponentSpec)[] => fieldKeys(PLAN_ORDER);
export const driftKeys = (): (keyof ComponentSpec)[] => fieldKeys(DRIFT_ORDER);

function secretEntries(table: Record<string, string> | undefined): string[] {
  return Object.entries(table ?? {}).map(([key, value]) => `${key}=${value}`);
}

function limits(out: KubeOut): Record<string, string> {
  const resources = (out.container.resources ??= { limits: {} }) as { limits: Record<string, string> };
  return resources.limits;
}

/** A duration like `5s` or `1500ms` in whole seconds (at least 1), for probe fields. */
function probeSeconds(duration: string | undefined): number | undefined {
  if (duration === undefined) return undefined;
  const ms = parseDuration(duration);
  return ms === undefined ? undefined : Math.max(1, Math.round(ms / 1000));
}

const healthKind = (health: HealthSpec): string => (health.http !== undefined ? `http ${health.http}` : 'tcp');

/** The object without its undefined members (for output whose keys are absent when unset). */
function compact<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as T;
}
