import { isIPv4, isIPv6 } from 'node:net';
import { isTable, NAME_PATTERN, ok, parseDuration, problem, tableList, type FieldRule, type RuleProblem, type TableSchema } from '@mcp/common';
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

export function volumeProblem(text: string): string | undefined {
  const parts = text.split(':');
  if (parts.length < 2 || parts.length > 3 || parts.some((part) => part === '')) {
    return 'must be host:container[:opts]';
  }
  const [host, container, options] = parts;
  if (!host.startsWith('/') && !VOLUME_NAME.test(host)) return 'host side must be an absolute path or a volume name';
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
  for (const [key, secret] of Object.entries(value)) {
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

/** The keys of `[components.health]`, in the order they are written back. */
const HEALTH: TableSchema = {
  fields: {
    http: { rule: healthRules.http },
    tcp: { rule: healthRules.tcp },
    cmd: { rule: healthRules.cmd },
    route: { rule: healthRules.route },
    port: { rule: healthRules.port },
    interval: { rule: healthRules.duration },
    timeout: { rule: healthRules.duration },
    start_period: { rule: healthRules.duration },
    healthy: { rule: healthRules.healthy },
  },
};

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
  strategy: (value: unknown) =>
    value === undefined || value === 'start-first' || value === 'stop-first' ? ok : problem('must be "start-first" or "stop-first"'),
  drain: (value: unknown) => durationProblem(value, true),
} satisfies Record<string, FieldRule>;

const ROUTE: TableSchema = {
  fields: { name: { rule: rules.routeName }, port: { rule: rules.port }, mode: { rule: rules.mode }, hostname: { rule: rules.hostname } },
};

const COMPONENT: TableSchema = {
  fields: {
    name: { rule: rules.name },
    image: { rule: rules.image },
    network: { rule: rules.network },
    user: { rule: rules.user },
    restart: { rule: rules.restart },
    ports: { rule: rules.ports },
    volumes: { rule: rules.volumes },
    cmd: { rule: rules.cmd },
    env: { rule: rules.env },
    memory: { rule: rules.memory },
    cpus: { rule: rules.cpus },
    secrets: { rule: rules.secrets },
    env_secrets: { rule: rules.envSecrets },
    depends_on: { rule: rules.dependsOn },
    health: { rule: rules.health, keys: HEALTH },
    strategy: { rule: rules.strategy },
    drain: { rule: rules.drain },
    routes: { rule: rules.routes, each: ROUTE },
  },
};

/** A service definition's keys, level by level, each with its rule (SPEC §1). */
export const SERVICE_SCHEMA: TableSchema = {
  fields: {
    name: { rule: rules.name },
    node: { rule: rules.node },
    active: { rule: rules.active },
    components: { rule: rules.components, each: COMPONENT },
  },
};
