import * as path from 'node:path';
import { isIPv4, isIPv6 } from 'node:net';
import { Check, isTable, NAME_PATTERN, ok, parseDuration, STOP_SIGNALS, problem, SubTable, TableList, tableList, tomlKey, type FieldRule, type RuleProblem } from '@mcp/common';
import { BackupTable } from './backup-fields';
import { JobTable } from './job-fields';
import { imageReferenceProblem } from './image-reference';

const NAME_REASON = 'must be 1-63 characters of a-z, 0-9 and "-", starting with a letter';
const MAX_PORT = 65535;

function requiredString(value: unknown, then: (text: string) => RuleProblem[] = () => ok): RuleProblem[] {
  if (value === undefined) return problem('is required');
  if (typeof value !== 'string') return problem('must be a string');
  return then(value);
}

function optionalString(value: unknown, then: (text: string) => RuleProblem[]): RuleProblem[] {
  if (value === undefined) return ok;
  if (typeof value !== 'string') return problem('must be a string');
  // An empty string would vanish on the wire (proto3 has no presence), so it is not a value.
  if (value === '') return problem('must not be empty');
  return then(value);
}

/** A list of strings, each element checked by `element` and reported at `[i]`. */
function stringList(value: unknown, element: (text: string) => string | undefined = () => undefined): RuleProblem[] {
  if (value === undefined) return ok;
  if (!Array.isArray(value)) return problem('must be an array of strings');
  const problems: RuleProblem[] = [];
  value.forEach((item: unknown, index) => {
    const reason = typeof item === 'string' ? element(item) : 'must be a string';
    if (reason) problems.push({ suffix: `[${index}]`, reason });
  });
  return problems;
}

function isPort(text: string): boolean {
  if (!/^\d{1,5}$/.test(text)) return false;
  const port = Number(text);
  return port >= 1 && port <= MAX_PORT;
}

const PORT_MAPPING = /^(?:(\d{1,3}(?:\.\d{1,3}){3}|\[[^\]]+\]):)?(\d+):(\d+)(?:\/(tcp|udp))?$/;

export function portMappingProblem(text: string): string | undefined {
  const match = PORT_MAPPING.exec(text);
  if (!match) return 'must be [hostIP:]hostPort:containerPort[/tcp|udp]';
  const [, hostIp, hostPort, containerPort] = match;
  if (hostIp !== undefined) {
    const valid = hostIp.startsWith('[') ? isIPv6(hostIp.slice(1, -1)) : isIPv4(hostIp);
    if (!valid) return `host IP "${hostIp}" is not a valid IP address`;
  }
  if (!isPort(hostPort) || !isPort(containerPort)) return 'ports must be 1-65535';
  return undefined;
}

const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const VOLUME_OPTIONS = /^[A-Za-z0-9=_.-]+(?:,[A-Za-z0-9=_.-]+)*$/;

/**
 * A volume source relative to the service's directory (SPEC §15): `./` alone is that
 * directory, `./data` a path inside it, on whichever node runs the service.
 */
export function isServiceRelativeSource(host: string): boolean {
  return host === '.' || host === './' || host.startsWith('./');
}

/** Why a `./` source leaves the service's directory, or undefined when it stays inside. */
function relativeSourceProblem(host: string): string | undefined {
  const normal = path.posix.normalize(host);
  if (normal === '..' || normal.startsWith('../')) return `host side "${host}" must stay inside the service's directory (<srv_root>/<service>/)`;
  return undefined;
}

/**
 * The volume as podman gets it on a node: a `./` source becomes `<serviceDir>/<rest>`;
 * anything else is unchanged. Call only on validated volumes.
 */
export function resolveVolume(volume: string, serviceDir: string): string {
  const [host, ...rest] = volume.split(':');
  if (!isServiceRelativeSource(host)) return volume;
  const resolved = path.posix.join(serviceDir, host).replace(/\/+$/, '');
  return [resolved, ...rest].join(':');
}

export function volumeProblem(text: string): string | undefined {
  const parts = text.split(':');
  if (parts.length < 2 || parts.length > 3 || parts.some((part) => part === '')) {
    return 'must be host:container[:opts]';
  }
  const [host, container, options] = parts;
  if (isServiceRelativeSource(host)) {
    const reason = relativeSourceProblem(host);
    if (reason) return reason;
  } else if (!host.startsWith('/') && !VOLUME_NAME.test(host)) return 'host side must be an absolute path, a path starting with ./ (inside the service\'s directory) or a volume name';
  if (!container.startsWith('/')) return 'container path must be absolute';
  if (options !== undefined && !VOLUME_OPTIONS.test(options)) return 'options must be a comma-separated list like ro,Z';
  return undefined;
}

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function envProblem(text: string): string | undefined {
  const equals = text.indexOf('=');
  if (equals < 0) return 'must be KEY=VALUE';
  const key = text.slice(0, equals);
  if (!ENV_KEY.test(key)) return `"${key}" is not a valid variable name (letters, digits, "_"; not starting with a digit)`;
  return undefined;
}

const RESTART = /^(?:no|always|on-failure(?::\d+)?|unless-stopped)$/;
const USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(?::[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/;
const NETWORK = /^[A-Za-z0-9][A-Za-z0-9_.:/=-]*$/;
const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const MAX_DNS_NAME = 253;

export function isDnsName(text: string): boolean {
  return text.length <= MAX_DNS_NAME && text.split('.').every((label) => DNS_LABEL.test(label));
}

/** podman's `--memory`: a number with an optional unit b, k, m or g; podman's minimum is 6 MiB. */
const MEMORY = /^(\d+(?:\.\d+)?)([bkmg])?$/;
const MIN_MEMORY_BYTES = 6 * 1024 * 1024;

export function memoryProblem(text: string): string | undefined {
  const match = MEMORY.exec(text);
  if (!match) return 'must be a number with an optional unit b, k, m or g, e.g. 512m or 2g';
  const bytes = Number(match[1]) * 1024 ** 'bkmg'.indexOf(match[2] ?? 'b');
  if (bytes < MIN_MEMORY_BYTES) return "must be at least 6m (podman's minimum)";
  return undefined;
}

/** Secret names: mounted at /run/secrets/<name>, stored as podman secret `mcp.<service>.<name>`. */
export const SECRET_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;
const SECRET_REASON = 'must be 1-63 characters of letters, digits, "_" and "-", starting with a letter';

function envSecrets(value: unknown): RuleProblem[] {
  if (value === undefined) return ok;
  if (!isTable(value)) return problem('must be a table of VARIABLE = "secret-name"');
  const problems: RuleProblem[] = [];
  for (const [written, secret] of Object.entries(value)) {
    const key = tomlKey(written);
    const at = `.${key}`;
    if (!ENV_KEY.test(key)) problems.push({ suffix: at, reason: `"${key}" is not a valid variable name (letters, digits, "_"; not starting with a digit)` });
    else if (typeof secret !== 'string') problems.push({ suffix: at, reason: 'must be a secret name (a string)' });
    else if (!SECRET_NAME.test(secret)) problems.push({ suffix: at, reason: SECRET_REASON });
  }
  return problems;
}

/** A duration with a unit, at least 1ms (`500ms`, `1s`, `2m`), or 0 when `allowZero`. */
function durationProblem(value: unknown, allowZero = false): RuleProblem[] {
  if (value === undefined) return ok;
  if (typeof value !== 'string') return problem('must be a duration string like "5s"');
  const ms = parseDuration(value);
  if (ms === undefined) return problem(`"${value}" is not a duration (use a number with a unit: 500ms, 5s, 2m)`);
  if (ms === 0 && !allowZero) return problem('must be longer than 0');
  return ok;
}

/** `[components.health]` itself (SPEC §8): a table with exactly one of http, tcp, cmd. Its keys are checked by HEALTH. */
function health(value: unknown): RuleProblem[] {
  if (value === undefined) return ok;
  if (!isTable(value)) return problem('must be a table ([components.health])');
  const kinds = ['http', 'tcp', 'cmd'].filter((key) => value[key] !== undefined);
  const problems: RuleProblem[] = [];
  if (kinds.length !== 1) {
    problems.push({ suffix: '', reason: kinds.length === 0 ? 'needs one of http, tcp or cmd' : `has ${kinds.join(' and ')}: use exactly one of http, tcp, cmd` });
  }
  if (value.route !== undefined && value.port !== undefined) problems.push({ suffix: '.port', reason: 'give route or port, not both' });
  return problems;
}

const healthRules = {
  http: (value: unknown) =>
    value === undefined || (typeof value === 'string' && /^\/\S*$/.test(value)) ? ok : problem('must be a path starting with "/", e.g. "/up"'),
  tcp: (value: unknown) => (value === undefined || value === true ? ok : problem('must be true (leave it out for no TCP check)')),
  cmd: (value: unknown) => {
    if (value === undefined) return ok;
    if (!Array.isArray(value) || value.length === 0) return problem('must be a non-empty array of strings, e.g. ["/bin/check"]');
    return stringList(value, (item) => (item === '' ? 'must not be empty' : undefined));
  },
  route: (value: unknown) => (value === undefined || (typeof value === 'string' && NAME_PATTERN.test(value)) ? ok : problem("must name one of the component's routes")),
  port: (value: unknown) =>
    value === undefined || (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_PORT) ? ok : problem('must be a host port 1-65535'),
  duration: (value: unknown) => durationProblem(value),
  healthy: (value: unknown) =>
    value === undefined || (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 100) ? ok : problem('must be an integer 1-100'),
} satisfies Record<string, FieldRule>;

/** `[components.hooks]` itself (SPEC §12): a table whose pre_deploy is required. Its keys are checked by HooksTable. */
function hooks(value: unknown): RuleProblem[] {
  if (value === undefined) return ok;
  if (!isTable(value)) return problem('must be a table ([components.hooks])');
  return value.pre_deploy === undefined ? [{ suffix: '.pre_deploy', reason: 'is required: the hook\'s argv, e.g. ["bin/rails", "db:migrate"]' }] : ok;
}

const hookRules = {
  preDeploy: (value: unknown) => {
    if (value === undefined) return ok;
    if (!Array.isArray(value) || value.length === 0) return problem('must be a non-empty array of strings (argv, no shell), e.g. ["bin/rails", "db:migrate"]');
    return stringList(value, (item) => (item === '' ? 'must not be empty' : undefined));
  },
  timeout: (value: unknown) => durationProblem(value),
} satisfies Record<string, FieldRule>;

/** podman stops in whole seconds (`--stop-timeout`); an hour is longer than any graceful stop should take. */
const MAX_STOP_TIMEOUT_MS = 3_600_000;

function stopTimeoutProblem(value: unknown): RuleProblem[] {
  const problems = durationProblem(value, true);
  if (problems.length || value === undefined) return problems;
  const ms = parseDuration(value as string) as number;
  if (ms % 1000 !== 0) return problem('must be whole seconds (podman stops in seconds), e.g. "30s" or "1m"');
  if (ms > MAX_STOP_TIMEOUT_MS) return problem('must be at most 1h');
  return ok;
}

const rules = {
  name: (value: unknown) => requiredString(value, (text) => (NAME_PATTERN.test(text) ? ok : problem(NAME_REASON))),
  node: (value: unknown) => requiredString(value, (text) => (text.trim() === '' ? problem('must not be empty') : ok)),
  active: (value: unknown) => (value === undefined || typeof value === 'boolean' ? ok : problem('must be true or false')),
  components: tableList({
    required: 'is required: define at least one [[components]] table',
    empty: 'must have at least one component',
  }),
  image: (value: unknown) =>
    requiredString(value, (text) => {
      const reason = imageReferenceProblem(text);
      return reason ? problem(reason) : ok;
    }),
  network: (value: unknown) =>
    optionalString(value, (text) => (NETWORK.test(text) ? ok : problem('must be a podman network name'))),
  user: (value: unknown) => optionalString(value, (text) => (USER.test(text) ? ok : problem('must be user[:group], e.g. 0:0'))),
  restart: (value: unknown) =>
    optionalString(value, (text) =>
      RESTART.test(text) ? ok : problem('must be one of no, always, on-failure, on-failure:N, unless-stopped'),
    ),
  ports: (value: unknown) => stringList(value, portMappingProblem),
  volumes: (value: unknown) => stringList(value, volumeProblem),
  cmd: (value: unknown) => stringList(value),
  env: (value: unknown) => stringList(value, envProblem),
  routes: tableList(),
  jobs: tableList({ empty: 'must have at least one [[jobs]] table when given' }),
  memory: (value: unknown) =>
    optionalString(value, (text) => {
      const reason = memoryProblem(text);
      return reason ? problem(reason) : ok;
    }),
  cpus: (value: unknown) => {
    if (value === undefined) return ok;
    if (typeof value !== 'number' || !Number.isFinite(value)) return problem('must be a number, e.g. 0.5 or 2');
    return value > 0 ? ok : problem('must be greater than 0');
  },
  secrets: (value: unknown) => stringList(value, (text) => (SECRET_NAME.test(text) ? undefined : SECRET_REASON)),
  envSecrets,
  dependsOn: (value: unknown) => stringList(value, (text) => (NAME_PATTERN.test(text) ? undefined : NAME_REASON)),
  routeName: (value: unknown) => optionalString(value, (text) => (NAME_PATTERN.test(text) ? ok : problem(NAME_REASON))),
  port: (value: unknown) => {
    if (value === undefined) return problem('is required');
    if (typeof value !== 'number' || !Number.isInteger(value)) return problem('must be an integer');
    return value >= 1 && value <= MAX_PORT ? ok : problem('must be 1-65535');
  },
  mode: (value: unknown) => (value === undefined || value === 'l4' || value === 'l7' ? ok : problem('must be "l4" or "l7"')),
  hostname: (value: unknown) =>
    optionalString(value, (text) => (isDnsName(text) ? ok : problem('must be a valid DNS name'))),
  health,
  hooks,
  strategy: (value: unknown) =>
    value === undefined || value === 'start-first' || value === 'stop-first' ? ok : problem('must be "start-first" or "stop-first"'),
  drain: (value: unknown) => durationProblem(value, true),
  pull: (value: unknown) =>
    value === undefined || value === 'never' || value === 'missing' || value === 'always' ? ok : problem('must be "never", "missing" or "always"'),
  stopSignal: (value: unknown) =>
    value === undefined || (typeof value === 'string' && (STOP_SIGNALS as readonly string[]).includes(value))
      ? ok
      : problem(`must be one of ${STOP_SIGNALS.join(', ')}`),
  stopTimeout: stopTimeoutProblem,
} satisfies Record<string, FieldRule>;


/*
 * The definition's tables (SPEC §1), one decorated class per TOML table: a key is known when
 * its class declares it (anything else is `unknown key`), and `@Check` names the MCP rule that
 * judges its value. Keys relating several fields (duplicate names, cycles, start-first) are
 * checked after these, in validate-service-spec.ts. Adding a field: see ARCHITECTURE.md.
 */

/** `[components.health]` (SPEC §8), in the order its keys are written back. */
export class HealthTable {
  @Check('http', healthRules.http) http?: string;
  @Check('tcp', healthRules.tcp) tcp?: boolean;
  @Check('cmd', healthRules.cmd) cmd?: string[];
  @Check('route', healthRules.route) route?: string;
  @Check('port', healthRules.port) port?: number;
  @Check('duration', healthRules.duration) interval?: string;
  @Check('duration', healthRules.duration) timeout?: string;
  @Check('duration', healthRules.duration) start_period?: string;
  @Check('healthy', healthRules.healthy) healthy?: number;
}

/** `[components.hooks]` (SPEC §12), in the order its keys are written back. */
export class HooksTable {
  @Check('pre-deploy', hookRules.preDeploy) pre_deploy?: string[];
  @Check('hook-timeout', hookRules.timeout) timeout?: string;
}

/** `[[components.routes]]`. */
export class RouteTable {
  @Check('name', rules.routeName) name?: string;
  @Check('port', rules.port) port!: number;
  @Check('mode', rules.mode) mode?: string;
  @Check('hostname', rules.hostname) hostname?: string;
}

/** `[[components]]`. */
export class ComponentTable {
  @Check('name', rules.name) name!: string;
  @Check('image', rules.image) image!: string;
  @Check('network', rules.network) network?: string;
  @Check('user', rules.user) user?: string;
  @Check('restart', rules.restart) restart?: string;
  @Check('ports', rules.ports) ports?: string[];
  @Check('volumes', rules.volumes) volumes?: string[];
  @Check('cmd', rules.cmd) cmd?: string[];
  @Check('env', rules.env) env?: string[];
  @Check('memory', rules.memory) memory?: string;
  @Check('cpus', rules.cpus) cpus?: number;
  @Check('secrets', rules.secrets) secrets?: string[];
  @Check('env-secrets', rules.envSecrets) env_secrets?: Record<string, string>;
  @Check('depends-on', rules.dependsOn) depends_on?: string[];
  @SubTable(() => HealthTable, rules.health) health?: HealthTable;
  @SubTable(() => HooksTable, rules.hooks) hooks?: HooksTable;
  @Check('strategy', rules.strategy) strategy?: string;
  @Check('drain', rules.drain) drain?: string;
  @Check('pull', rules.pull) pull?: string;
  @Check('stop-signal', rules.stopSignal) stop_signal?: string;
  @Check('stop-timeout', rules.stopTimeout) stop_timeout?: string;
  @TableList(() => RouteTable, rules.routes) routes?: RouteTable[];
}

/** A service definition's top level (SPEC §1). */
export class ServiceDefinitionTable {
  @Check('name', rules.name) name!: string;
  @Check('node', rules.node) node!: string;
  @Check('active', rules.active) active?: boolean;
  @TableList(() => ComponentTable, rules.components) components!: ComponentTable[];
  @SubTable(() => BackupTable) backup?: BackupTable;
  @TableList(() => JobTable, rules.jobs) jobs?: JobTable[];
}
