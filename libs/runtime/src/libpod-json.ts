import * as path from 'node:path';
import { InvalidArgumentError } from '@mcp/common';
import type { ContainerSummary, RunOptions } from './container-runtime';
import { labelsWithSecretEnv, mapPsEntry, PodmanPsEntry, signalNumber } from './podman-json';

/**
 * The libpod REST API's JSON (podman 4) and the pure mappings between it and the port's types.
 * The REST listing is `podman ps --format json` except that `Created` is RFC 3339 and `Status`
 * is empty (the CLI computes it), so a listing entry is normalised to the CLI's shape and then
 * mapped by the same `mapPsEntry`; inspect JSON is the CLI's, one object instead of an array.
 */

/** One entry of `GET /libpod/containers/json`. */
export interface LibpodListEntry extends Omit<PodmanPsEntry, 'Created'> {
  /** RFC 3339 here (unix seconds in the CLI's JSON). */
  Created?: string | number;
  /** Unix seconds; negative (year 1) when the container never exited. */
  ExitedAt?: number;
}

/** The body of a libpod error answer. */
export interface LibpodErrorBody {
  cause?: string;
  message?: string;
  response?: number;
}

export interface LibpodPortMapping {
  host_ip?: string;
  container_port: number;
  host_port?: number;
  range?: number;
  protocol?: string;
}

export interface LibpodMount {
  Type: 'bind';
  Source: string;
  Destination: string;
  Options?: string[];
}

export interface LibpodNamedVolume {
  /** Empty for an anonymous volume. */
  Name: string;
  Dest: string;
  Options?: string[];
}

/** The subset of podman's SpecGenerator (`POST /libpod/containers/create`) that RunOptions needs. */
export interface LibpodCreateSpec {
  name: string;
  image: string;
  command?: string[];
  env?: Record<string, string>;
  labels?: Record<string, string>;
  user?: string;
  restart_policy?: string;
  restart_tries?: number;
  portmappings?: LibpodPortMapping[];
  mounts?: LibpodMount[];
  volumes?: LibpodNamedVolume[];
  netns?: { nsmode: string; value?: string };
  Networks?: Record<string, Record<string, never>>;
  resource_limits?: { memory?: { limit: number }; cpu?: { quota: number; period: number } };
  /** Mounted secrets (`/run/secrets/<Target>`); Mode 0444 as the CLI gives them (the API's default is 0). */
  secrets?: { Source: string; Target: string; UID: number; GID: number; Mode: number }[];
  /** Variable → secret name. */
  secret_env?: Record<string, string>;
  /** The signal's number (the API takes no names). */
  stop_signal?: number;
  /** Seconds. */
  stop_timeout?: number;
}

/** The CFS period podman's `--cpus` uses. */
const CPU_PERIOD = 100_000;
const SECRET_FILE_MODE = 0o444;

/** Network modes `podman run --network` accepts besides network names. */
const NETWORK_MODES = new Set(['bridge', 'host', 'none', 'private', 'slirp4netns', 'pasta']);
const PROTOCOLS = new Set(['tcp', 'udp', 'sctp']);

/**
 * The create spec for what `podman run -d --pull=never` would be given as flags: ports,
 * volumes, network and restart strings are parsed here as podman's CLI parses them, so both
 * adapters accept the same RunOptions. `hostEnv` resolves `KEY` entries without `=` (the CLI
 * copies those from its own environment, and skips unset ones).
 */
export function createSpecFor(options: RunOptions, hostEnv: NodeJS.ProcessEnv = {}): LibpodCreateSpec {
  const spec: LibpodCreateSpec = { name: options.name, image: options.image };
  if (options.cmd.length) spec.command = [...options.cmd];
  const env = envMap(options.env, hostEnv);
  if (Object.keys(env).length) spec.env = env;
  const labels = labelsWithSecretEnv(options);
  if (Object.keys(labels).length) spec.labels = labels;
  if (options.user) spec.user = options.user;
  if (options.restart) Object.assign(spec, restartSpec(options.restart));
  const ports = options.ports.flatMap(parsePortSpec);
  if (ports.length) spec.portmappings = ports;
  const mounts: LibpodMount[] = [];
  const volumes: LibpodNamedVolume[] = [];
  for (const volume of options.volumes) {
    const parsed = parseVolumeSpec(volume);
    if ('Type' in parsed) mounts.push(parsed);
    else volumes.push(parsed);
  }
  if (mounts.length) spec.mounts = mounts;
  if (volumes.length) spec.volumes = volumes;
  if (options.network) Object.assign(spec, networkSpec(options.network));
  const limits: NonNullable<LibpodCreateSpec['resource_limits']> = {};
  if (options.memory) limits.memory = { limit: memoryBytes(options.memory) };
  if (options.cpus !== undefined) {
    if (!(options.cpus > 0)) throw new InvalidArgumentError(`cpus must be > 0, got ${options.cpus}`);
    limits.cpu = { quota: Math.round(options.cpus * CPU_PERIOD), period: CPU_PERIOD };
  }
  if (limits.memory || limits.cpu) spec.resource_limits = limits;
  const files = (options.secrets ?? []).filter((secret) => secret.type === 'file');
  const envs = (options.secrets ?? []).filter((secret) => secret.type === 'env');
  if (files.length) {
    spec.secrets = files.map((secret) => ({ Source: secret.source, Target: secret.target, UID: 0, GID: 0, Mode: SECRET_FILE_MODE }));
  }
  if (envs.length) spec.secret_env = Object.fromEntries(envs.map((secret) => [secret.target, secret.source]));
  if (options.stopSignal) spec.stop_signal = signalNumber(options.stopSignal);
  if (options.stopTimeoutSeconds !== undefined) {
    if (!Number.isInteger(options.stopTimeoutSeconds) || options.stopTimeoutSeconds < 0) {
      throw new InvalidArgumentError(`stop timeout must be a whole number of seconds, got ${options.stopTimeoutSeconds}`);
    }
    spec.stop_timeout = options.stopTimeoutSeconds;
  }
  return spec;
}

/** podman's `--memory` (docker/go-units RAMInBytes): a number and an optional binary unit. */
export function memoryBytes(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([bkmgt])?i?b?$/i.exec(text.trim());
  if (!match) throw new InvalidArgumentError(`invalid memory "${text}": expected a number with b, k, m or g`);
  const power = 'bkmgt'.indexOf((match[2] ?? 'b').toLowerCase());
  return Math.floor(Number(match[1]) * 1024 ** power);
}

function envMap(entries: string[], hostEnv: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of entries) {
    const equals = entry.indexOf('=');
    if (equals > 0) {
      env[entry.slice(0, equals)] = entry.slice(equals + 1);
    } else if (equals < 0 && entry) {
      const value = hostEnv[entry];
      if (value !== undefined) env[entry] = value;
    } else {
      throw new InvalidArgumentError(`environment entry must be KEY=VALUE: "${entry}"`);
    }
  }
  return env;
}

/** `no`, `always`, `unless-stopped`, `on-failure[:N]`. */
export function restartSpec(restart: string): Pick<LibpodCreateSpec, 'restart_policy' | 'restart_tries'> {
  const [policy, tries, ...rest] = restart.split(':');
  if (rest.length || (tries !== undefined && policy !== 'on-failure')) {
    throw new InvalidArgumentError(`invalid restart policy "${restart}"`);
  }
  if (tries === undefined) return { restart_policy: policy };
  const count = Number(tries);
  if (!/^\d+$/.test(tries) || !Number.isSafeInteger(count)) {
    throw new InvalidArgumentError(`invalid restart policy "${restart}": retry count must be a whole number`);
  }
  return { restart_policy: policy, restart_tries: count };
}

/**
 * `-p` syntax: `[[hostIP:][hostPort]:]containerPort[/protocol]`, ports may be ranges
 * (`8000-8001:80-81`), an IPv6 host address goes in brackets, protocols may be `tcp,udp`.
 */
export function parsePortSpec(spec: string): LibpodPortMapping[] {
  const invalid = (why: string) => new InvalidArgumentError(`invalid port "${spec}": ${why}`);
  const slash = spec.lastIndexOf('/');
  const body = slash >= 0 ? spec.slice(0, slash) : spec;
  const protocols = slash >= 0 ? spec.slice(slash + 1).split(',') : ['tcp'];
  if (protocols.some((protocol) => !PROTOCOLS.has(protocol.toLowerCase()))) throw invalid('unknown protocol');
  let hostIp = '';
  let rest = body;
  if (body.startsWith('[')) {
    const close = body.indexOf(']');
    if (close < 0 || body[close + 1] !== ':') throw invalid('unterminated IPv6 address');
    hostIp = body.slice(1, close);
    rest = body.slice(close + 2);
  }
  const parts = rest.split(':');
  let hostPart = '';
  let containerPart: string;
  if (hostIp) {
    if (parts.length !== 2) throw invalid('expected [ip]:hostPort:containerPort');
    [hostPart, containerPart] = parts;
  } else if (parts.length === 1) {
    [containerPart] = parts;
  } else if (parts.length === 2) {
    [hostPart, containerPart] = parts;
  } else if (parts.length === 3) {
    [hostIp, hostPart, containerPart] = parts;
  } else {
    throw invalid('too many ":"');
  }
  const container = parseRange(containerPart, invalid);
  const host = hostPart ? parseRange(hostPart, invalid) : undefined;
  if (host && host.length !== container.length) throw invalid('host and container ranges differ in length');
  return protocols.map((protocol) => ({
    host_ip: hostIp || undefined,
    container_port: container.start,
    host_port: host?.start ?? 0,
    range: container.length,
    protocol: protocol.toLowerCase(),
  }));
}

function parseRange(text: string, invalid: (why: string) => Error): { start: number; length: number } {
  const match = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!match) throw invalid(`"${text}" is not a port or range`);
  const start = Number(match[1]);
  const end = match[2] === undefined ? start : Number(match[2]);
  if (start < 1 || end > 65535 || end < start) throw invalid(`"${text}" is out of range`);
  return { start, length: end - start + 1 };
}

/**
 * `-v` syntax: `source:destination[:options]` or `destination` (anonymous volume). A source
 * starting with `/` or `.` is a host path (bind mount), anything else a named volume.
 */
export function parseVolumeSpec(spec: string): LibpodMount | LibpodNamedVolume {
  const parts = spec.split(':');
  if (parts.length > 3 || parts.some((part) => part === '')) {
    throw new InvalidArgumentError(`invalid volume "${spec}": expected source:destination[:options]`);
  }
  if (parts.length === 1) return { Name: '', Dest: parts[0] };
  const [source, destination, options] = parts;
  const optionList = options ? options.split(',') : undefined;
  if (source.startsWith('/') || source.startsWith('.')) {
    return { Type: 'bind', Source: path.resolve(source), Destination: destination, Options: optionList };
  }
  return { Name: source, Dest: destination, Options: optionList };
}

/** `--network`: a mode (`host`, `none`, `container:ID`, `ns:PATH`, `slirp4netns[:opts]`) or network names. */
export function networkSpec(network: string): Pick<LibpodCreateSpec, 'netns' | 'Networks'> {
  const colon = network.indexOf(':');
  const mode = colon >= 0 ? network.slice(0, colon) : network;
  const value = colon >= 0 ? network.slice(colon + 1) : undefined;
  if (mode === 'container') return { netns: { nsmode: 'from_container', value } };
  if (mode === 'ns') return { netns: { nsmode: 'path', value } };
  if (NETWORK_MODES.has(mode)) return { netns: value ? { nsmode: mode, value } : { nsmode: mode } };
  const names = network.split(',').filter((name) => name);
  return { netns: { nsmode: 'bridge' }, Networks: Object.fromEntries(names.map((name) => [name, {}])) };
}

/** Maps one REST listing entry exactly as the CLI adapter maps `podman ps --format json`. */
export function mapLibpodListEntry(entry: LibpodListEntry, now: Date): ContainerSummary {
  const created = typeof entry.Created === 'string' ? Date.parse(entry.Created) / 1000 : entry.Created;
  return mapPsEntry({
    ...entry,
    Created: created !== undefined && Number.isFinite(created) ? Math.floor(created) : undefined,
    Status: entry.Status || statusLine(entry, now),
  });
}

/** Podman's own `ps` status line (cmd/podman/containers/ps.go), which the REST API leaves to clients. */
export function statusLine(entry: Pick<LibpodListEntry, 'State' | 'StartedAt' | 'ExitedAt' | 'ExitCode'>, now: Date): string {
  const since = (unix: number | undefined) => humanDuration(now.getTime() - (unix ?? 0) * 1000);
  switch (entry.State) {
    case 'running':
      return `Up ${since(entry.StartedAt)} ago`;
    case 'configured':
    case 'created':
      return 'Created';
    case 'exited':
    case 'stopped':
      return `Exited (${entry.ExitCode ?? 0}) ${since(entry.ExitedAt)} ago`;
    default:
      return entry.State ?? '';
  }
}

/** docker/go-units HumanDuration, which podman uses for these lines. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}
