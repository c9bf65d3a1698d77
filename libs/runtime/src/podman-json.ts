import { constants as osConstants } from 'node:os';
import { InvalidArgumentError } from '@mcp/common';
import { LABEL_SECRET_ENV, type ContainerDetails, type ContainerSummary, type PortMapping, type RunOptions } from './container-runtime';

/**
 * The parts of podman's JSON this adapter reads, typed as podman 4 writes them, and the pure
 * mapping to the port's types. Fields are optional or nullable wherever podman has been seen
 * to omit them or write null (`Labels`, `Ports`, `Command` on some containers).
 */

/** One entry of `podman ps --all --format json`. */
export interface PodmanPsEntry {
  Id: string;
  /** An array, not a string. */
  Names?: string[] | null;
  Image?: string;
  ImageID?: string;
  State?: string;
  Status?: string;
  /** An array of strings in podman 4 (upstream's first rollout assumed a string). */
  Command?: string[] | string | null;
  Labels?: Record<string, string> | null;
  Ports?: PodmanPsPort[] | null;
  /** Unix seconds. */
  Created?: number;
  /** Unix seconds; negative (year 1) when the container never started. */
  StartedAt?: number;
  Exited?: boolean;
  ExitCode?: number;
}

export interface PodmanPsPort {
  host_ip?: string;
  container_port: number;
  host_port: number;
  /** How many consecutive ports this entry covers. */
  range?: number;
  protocol?: string;
}

export interface PodmanPortBinding {
  HostIp?: string;
  HostPort?: string;
}

export interface PodmanMount {
  Type?: string;
  Name?: string;
  Source?: string;
  Destination: string;
  Mode?: string;
  RW?: boolean;
  Propagation?: string;
}

/** One entry of `podman inspect --type container --format json`. */
export interface PodmanInspectEntry {
  Id: string;
  Name: string;
  /** RFC 3339. */
  Created?: string;
  Path?: string;
  Args?: string[] | null;
  /** The image id. */
  Image?: string;
  /** The reference the container was created from. */
  ImageName?: string;
  State?: {
    Status?: string;
    Running?: boolean;
    ExitCode?: number;
    /** RFC 3339; year 1 when never started. */
    StartedAt?: string;
    FinishedAt?: string;
  };
  Mounts?: PodmanMount[] | null;
  Config?: {
    User?: string;
    Env?: string[] | null;
    Cmd?: string[] | null;
    Image?: string;
    Labels?: Record<string, string> | null;
    Secrets?: { Name?: string; ID?: string }[] | null;
    /** A number in podman 4 (15); newer versions may give a name. */
    StopSignal?: number | string;
    /** Seconds. */
    StopTimeout?: number;
  };
  HostConfig?: {
    NetworkMode?: string;
    /** Bytes; 0 when unlimited. */
    Memory?: number;
    /** CPUs × 10^9; 0 when unlimited. */
    NanoCpus?: number;
    CpuQuota?: number;
    CpuPeriod?: number;
    PortBindings?: Record<string, PodmanPortBinding[] | null> | null;
    RestartPolicy?: { Name?: string; MaximumRetryCount?: number } | null;
  };
  NetworkSettings?: {
    Ports?: Record<string, PodmanPortBinding[] | null> | null;
    Networks?: Record<string, unknown> | null;
  };
}

/** Podman's default bridge network; a container on it alone has no `network` to record. */
const DEFAULT_NETWORK = 'podman';

/**
 * The state MCP observes for podman's. Podman shows a container whose process has died but
 * whose cleanup has not yet run as `stopped`, for a moment, and `exited` after: one state to
 * an operator (and to drift alerts, which otherwise told "observed stopped" or "observed
 * exited" for the same kill depending on when the listing was taken).
 */
export function observedState(podmanState: string | undefined): string {
  if (!podmanState) return 'unknown';
  return podmanState === 'stopped' ? 'exited' : podmanState;
}

export function mapPsEntry(entry: PodmanPsEntry): ContainerSummary {
  const state = observedState(entry.State);
  return {
    id: entry.Id,
    name: entry.Names?.[0] ?? entry.Id,
    image: entry.Image ?? '',
    state,
    status: entry.Status ?? '',
    command: commandArray(entry.Command),
    labels: { ...(entry.Labels ?? {}) },
    ports: (entry.Ports ?? []).flatMap(expandPsPort),
    createdAt: unixSeconds(entry.Created),
    startedAt: unixSeconds(entry.StartedAt),
    exitCode: entry.Exited || state === 'exited' ? entry.ExitCode : undefined,
  };
}

export function mapInspectEntry(entry: PodmanInspectEntry): ContainerDetails {
  const state = observedState(entry.State?.Status);
  const bindings = nonEmptyBindings(entry.HostConfig?.PortBindings) ?? nonEmptyBindings(entry.NetworkSettings?.Ports);
  const ports = bindingsToMappings(bindings ?? {});
  return {
    id: entry.Id,
    name: entry.Name,
    image: entry.ImageName ?? entry.Config?.Image ?? '',
    state,
    status: state,
    command: [entry.Path, ...(entry.Args ?? [])].filter((part): part is string => part !== undefined && part !== ''),
    labels: { ...(entry.Config?.Labels ?? {}) },
    ports,
    createdAt: rfc3339(entry.Created),
    startedAt: rfc3339(entry.State?.StartedAt),
    exitCode: state === 'exited' ? entry.State?.ExitCode : undefined,
    env: withoutSecretEnv(entry.Config?.Env ?? [], entry.Config?.Labels?.[LABEL_SECRET_ENV]),
    cmd: [...(entry.Config?.Cmd ?? [])],
    volumes: (entry.Mounts ?? []).flatMap(mountToVolume),
    portSpecs: ports.map(portSpec),
    network: networkOf(entry),
    user: entry.Config?.User || undefined,
    restart: restartPolicy(entry.HostConfig?.RestartPolicy),
    imageId: entry.Image || undefined,
    memoryBytes: entry.HostConfig?.Memory || undefined,
    cpus: cpusOf(entry.HostConfig),
    secrets: entry.Config?.Secrets?.length ? entry.Config.Secrets.map((secret) => secret.Name ?? '') : undefined,
    stopSignal: stopSignalOf(entry.Config?.StopSignal),
    stopTimeoutSeconds: typeof entry.Config?.StopTimeout === 'number' ? entry.Config.StopTimeout : undefined,
  };
}

/** `SIGQUIT` (or `QUIT`) as this platform's signal number, as podman's CLI resolves `--stop-signal`. */
export function signalNumber(name: string): number {
  const full = (name.startsWith('SIG') ? name : `SIG${name}`) as keyof typeof osConstants.signals;
  const number = osConstants.signals[full];
  if (number === undefined) throw new InvalidArgumentError(`unknown stop signal "${name}"`);
  return number;
}

/** A signal number as its name (`15` → `SIGTERM`); undefined for a number this platform has no name for. */
export function signalName(number: number): string | undefined {
  return Object.entries(osConstants.signals).find(([, value]) => value === number)?.[0];
}

/** Podman's StopSignal (15, "15", "SIGTERM" or "TERM") as a signal name. */
function stopSignalOf(value: number | string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value === 'number' || /^\d+$/.test(value)) return signalName(Number(value));
  return value.startsWith('SIG') ? value : `SIG${value}`;
}

/** Drops the variables listed in the `mcp.secret-env` label: their values are secrets. */
function withoutSecretEnv(env: string[], label: string | undefined): string[] {
  const hidden = new Set((label ?? '').split(',').filter((name) => name));
  return env.filter((entry) => !hidden.has(entry.slice(0, entry.indexOf('=') < 0 ? entry.length : entry.indexOf('='))));
}

/** The run's labels plus `mcp.secret-env` naming the variables that hold secret values. */
export function labelsWithSecretEnv(options: Pick<RunOptions, 'labels' | 'secrets'>): Record<string, string> {
  const names = (options.secrets ?? []).filter((secret) => secret.type === 'env').map((secret) => secret.target);
  return names.length ? { ...options.labels, [LABEL_SECRET_ENV]: names.join(',') } : { ...options.labels };
}

/** `--cpus` as podman records it: NanoCpus, or quota/period for a spec given that way. */
function cpusOf(host: PodmanInspectEntry['HostConfig']): number | undefined {
  if (host?.NanoCpus) return host.NanoCpus / 1e9;
  if (host?.CpuQuota && host.CpuPeriod) return host.CpuQuota / host.CpuPeriod;
  return undefined;
}

/** `[hostIP:]hostPort:containerPort/proto`, the form `podman run -p` accepts. */
export function portSpec(port: PortMapping): string {
  const host = port.hostIp ? `${port.hostIp}:${port.hostPort}` : `${port.hostPort}`;
  return `${host}:${port.containerPort}/${port.protocol}`;
}

function commandArray(command: PodmanPsEntry['Command']): string[] {
  if (Array.isArray(command)) return [...command];
  return command ? [command] : [];
}

function expandPsPort(port: PodmanPsPort): PortMapping[] {
  const range = Math.max(1, port.range ?? 1);
  return Array.from({ length: range }, (_, offset) => ({
    hostIp: port.host_ip ?? '',
    hostPort: port.host_port + offset,
    containerPort: port.container_port + offset,
    protocol: port.protocol || 'tcp',
  }));
}

function unixSeconds(seconds: number | undefined): Date | undefined {
  return seconds !== undefined && seconds > 0 ? new Date(seconds * 1000) : undefined;
}

function rfc3339(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  // Go's zero time (0001-01-01) means "never".
  return Number.isNaN(date.getTime()) || date.getUTCFullYear() <= 1 ? undefined : date;
}

function nonEmptyBindings(
  bindings: Record<string, PodmanPortBinding[] | null> | null | undefined,
): Record<string, PodmanPortBinding[] | null> | undefined {
  if (!bindings) return undefined;
  return Object.values(bindings).some((list) => list?.length) ? bindings : undefined;
}

function bindingsToMappings(bindings: Record<string, PodmanPortBinding[] | null>): PortMapping[] {
  return Object.entries(bindings).flatMap(([key, list]) => {
    const [portText, protocol = 'tcp'] = key.split('/');
    const containerPort = Number(portText);
    return (list ?? [])
      .filter((binding) => binding.HostPort)
      .map((binding) => ({
        hostIp: binding.HostIp ?? '',
        hostPort: Number(binding.HostPort),
        containerPort,
        protocol,
      }));
  });
}

/** `source:destination[:opts]`; named volumes by name, bind mounts by host path. */
function mountToVolume(mount: PodmanMount): string[] {
  const source = mount.Type === 'volume' ? mount.Name : mount.Source;
  if (!source || !mount.Destination) return [];
  const options: string[] = [];
  if (mount.RW === false) options.push('ro');
  if (mount.Mode) options.push(...mount.Mode.split(',').filter((mode) => mode && mode !== 'rw' && mode !== 'ro'));
  if (mount.Propagation && mount.Propagation !== 'rprivate') options.push(mount.Propagation);
  const parts = [source, mount.Destination];
  if (options.length) parts.push(options.join(','));
  return [parts.join(':')];
}

function networkOf(entry: PodmanInspectEntry): string | undefined {
  const mode = entry.HostConfig?.NetworkMode;
  if (mode && mode !== 'bridge' && mode !== 'default') return mode;
  const networks = Object.keys(entry.NetworkSettings?.Networks ?? {});
  if (networks.length === 0 || (networks.length === 1 && networks[0] === DEFAULT_NETWORK)) return undefined;
  return networks.join(',');
}

function restartPolicy(policy: { Name?: string; MaximumRetryCount?: number } | null | undefined): string | undefined {
  const name = policy?.Name;
  if (!name) return undefined;
  if (name === 'on-failure' && policy?.MaximumRetryCount) return `on-failure:${policy.MaximumRetryCount}`;
  return name;
}
