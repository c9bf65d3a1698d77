import { isIPv4, isIPv6 } from 'node:net';
import { NAME_PATTERN, parseDuration } from '@mcp/common';
import { imageReferenceProblem } from './image-reference';

/**
 * One rule per field. A rule returns every problem with a value, each with a path suffix
 * relative to the field (`''` for the field itself, `[2]` for an element), so that list
 * fields report each bad element at its own path.
 */
export interface RuleProblem {
  suffix: string;
  reason: string;
}

export type FieldRule = (value: unknown) => RuleProblem[];

const ok: RuleProblem[] = [];

function problem(reason: string, suffix = ''): RuleProblem[] {
  return [{ suffix, reason }];
}

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

function isTable(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** An array of tables; non-table elements are reported here, tables are validated as nested objects. */
function tableList(value: unknown, emptyReason?: string): RuleProblem[] {
  if (!Array.isArray(value)) return problem('must be an array of tables');
  if (value.length === 0 && emptyReason) return problem(emptyReason);
  const problems: RuleProblem[] = [];
  value.forEach((item: unknown, index) => {
    if (!isTable(item)) problems.push({ suffix: `[${index}]`, reason: 'must be a table' });
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

/** A duration with a unit, at least 1ms (`500ms`, `1s`, `2m`). */
function durationProblem(value: unknown, allowZero = false): RuleProblem[] {
  if (value === undefined) return ok;
  if (typeof value !== 'string') return problem('must be a duration string like "5s"');
  const ms = parseDuration(value);
  if (ms === undefined) return problem(`"${value}" is not a duration (use a number with a unit: 500ms, 5s, 2m)`);
  if (ms === 0 && !allowZero) return problem('must be longer than 0');
  return ok;
}

/** The keys of `[components.health]`, in the order they are written back. */
export const HEALTH_KEYS: readonly string[] = ['http', 'tcp', 'cmd', 'route', 'port', 'interval', 'timeout', 'start_period', 'healthy'];

/** `[components.health]` (SPEC §8): one table, exactly one of http/tcp/cmd, each key checked. */
function healthProblems(value: unknown): RuleProblem[] {
  if (value === undefined) return ok;
  if (!isTable(value)) return problem('must be a table ([components.health])');
  const table = value as Record<string, unknown>;
  const problems: RuleProblem[] = [];
  const at = (key: string, reasons: RuleProblem[]): void => {
    for (const item of reasons) problems.push({ suffix: `.${key}${item.suffix}`, reason: item.reason });
  };
  for (const key of Object.keys(table)) {
    if (!HEALTH_KEYS.includes(key)) problems.push({ suffix: `.${key}`, reason: 'unknown key' });
  }
  if (table.http !== undefined) {
    at('http', typeof table.http === 'string' && /^\/[^\s]*$/.test(table.http) ? ok : problem('must be a path starting with "/", e.g. "/up"'));
  }
  if (table.tcp !== undefined) at('tcp', table.tcp === true ? ok : problem('must be true (leave it out for no TCP check)'));
  if (table.cmd !== undefined) {
    if (!Array.isArray(table.cmd) || table.cmd.length === 0) at('cmd', problem('must be a non-empty array of strings, e.g. ["/bin/check"]'));
    else at('cmd', stringList(table.cmd, (item) => (item === '' ? 'must not be empty' : undefined)));
  }
  const kinds = ['http', 'tcp', 'cmd'].filter((key) => table[key] !== undefined);
  if (kinds.length !== 1) {
    problems.push({ suffix: '', reason: kinds.length === 0 ? 'needs one of http, tcp or cmd' : `has ${kinds.join(' and ')}: use exactly one of http, tcp, cmd` });
  }
  if (table.route !== undefined) at('route', typeof table.route === 'string' && NAME_PATTERN.test(table.route) ? ok : problem('must name one of the component\'s routes'));
  if (table.port !== undefined) {
    at('port', typeof table.port === 'number' && Number.isInteger(table.port) && table.port >= 1 && table.port <= MAX_PORT ? ok : problem('must be a host port 1-65535'));
  }
  if (table.route !== undefined && table.port !== undefined) problems.push({ suffix: '.port', reason: 'give route or port, not both' });
  for (const key of ['interval', 'timeout', 'start_period']) at(key, durationProblem(table[key]));
  if (table.healthy !== undefined) {
    at('healthy', typeof table.healthy === 'number' && Number.isInteger(table.healthy) && table.healthy >= 1 && table.healthy <= 100 ? ok : problem('must be an integer 1-100'));
  }
  return problems;
}

export const rules = {
  name: (value: unknown) => requiredString(value, (text) => (NAME_PATTERN.test(text) ? ok : problem(NAME_REASON))),
  node: (value: unknown) => requiredString(value, (text) => (text.trim() === '' ? problem('must not be empty') : ok)),
  active: (value: unknown) => (value === undefined || typeof value === 'boolean' ? ok : problem('must be true or false')),
  components: (value: unknown) =>
    value === undefined
      ? problem('is required: define at least one [[components]] table')
      : tableList(value, 'must have at least one component'),
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
  routes: (value: unknown) => (value === undefined ? ok : tableList(value)),
  routeName: (value: unknown) => optionalString(value, (text) => (NAME_PATTERN.test(text) ? ok : problem(NAME_REASON))),
  port: (value: unknown) => {
    if (value === undefined) return problem('is required');
    if (typeof value !== 'number' || !Number.isInteger(value)) return problem('must be an integer');
    return value >= 1 && value <= MAX_PORT ? ok : problem('must be 1-65535');
  },
  mode: (value: unknown) => (value === undefined || value === 'l4' || value === 'l7' ? ok : problem('must be "l4" or "l7"')),
  hostname: (value: unknown) =>
    optionalString(value, (text) => (isDnsName(text) ? ok : problem('must be a valid DNS name'))),
  health: healthProblems,
  strategy: (value: unknown) =>
    value === undefined || value === 'start-first' || value === 'stop-first' ? ok : problem('must be "start-first" or "stop-first"'),
  drain: (value: unknown) => durationProblem(value, true),
} satisfies Record<string, FieldRule>;

export type RuleName = keyof typeof rules;
