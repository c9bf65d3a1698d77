/**
 * The service definition as the rest of MCP sees it (SPEC §1), independent of TOML and
 * protobuf. libs/servicedef converts to and from both. Optional fields are `undefined`
 * when absent; arrays are always present (possibly empty).
 */
export type RouteMode = 'l4' | 'l7';

export interface RouteSpec {
  name?: string;
  /** The listener port on mc-proxy, not the container port. */
  port: number;
  mode: RouteMode;
  /** Defaults to `<service>.<route_domain>` at deploy time when absent. */
  hostname?: string;
}

/**
 * How to tell that a component works (SPEC §8). Exactly one of `http`, `tcp`, `cmd`.
 * Durations stay as the operator wrote them (`1s`, `2s`, `60s`) so definitions round-trip;
 * `healthCheckTimings` turns them into milliseconds with the defaults applied.
 */
export interface HealthSpec {
  /** GET this path on the probed host port; 2xx/3xx = healthy. */
  http?: string;
  /** A TCP connect to the probed host port. */
  tcp?: boolean;
  /** Run inside the container (exec); exit 0 = healthy. */
  cmd?: string[];
  /** Whose host port to probe: default the unnamed route, else the first. */
  route?: string;
  /** A component without routes: the host port of one of its `ports`. */
  port?: number;
  /** Default 1s. */
  interval?: string;
  /** Per probe; default 2s. */
  timeout?: string;
  /** How long a deploy waits for healthy; default 60s. Named as in TOML (the validator reads domain specs too). */
  start_period?: string;
  /** Consecutive successes needed; default 1. */
  healthy?: number;
}

/** When a deploy pulls a component's image (SPEC §13). */
export type PullPolicy = 'never' | 'missing' | 'always';
export const PULL_POLICIES: readonly PullPolicy[] = ['never', 'missing', 'always'];

/**
 * `[components.hooks]` (SPEC §12): commands run in a one-off container of the NEW spec, after
 * its image is pulled and before it serves. Absent when the component has none.
 */
export interface HooksSpec {
  /** argv, never a shell string. */
  pre_deploy: string[];
  /** Default 10m; the hook is killed past it and the deploy fails. */
  timeout?: string;
}

/**
 * The signals a component may be stopped with (`stop_signal`): the ones real servers document
 * for a graceful stop (nginx SIGQUIT, httpd SIGWINCH, ...) plus SIGKILL for programs with no
 * state to lose. Names as podman's `--stop-signal` takes them.
 */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGKILL'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** start-first runs the new container beside the old one and switches routes; stop-first replaces in place. */
export type DeployStrategy = 'start-first' | 'stop-first';

export interface ComponentSpec {
  name: string;
  image: string;
  network?: string;
  user?: string;
  restart?: string;
  ports: string[];
  volumes: string[];
  cmd: string[];
  env: string[];
  routes: RouteSpec[];
  health?: HealthSpec;
  /** Absent: start-first when the component has routes, no `ports`, and the agent has mc-proxy. */
  strategy?: DeployStrategy;
  /** How long the old container keeps running after the switch (start-first); default 5s. */
  drain?: string;
  /**
   * SPEC §13: when the node pulls the image. `never`: it must be there (pushed with `mcp image
   * push`); `missing` (absent means this): only when the node lacks it; `always`: at every deploy.
   */
  pull?: PullPolicy;
  /** SPEC §12 release hook; absent when none (specs without it hash as before). */
  hooks?: HooksSpec;
  /**
   * podman `--stop-signal`: what a stop sends first; absent: the image's STOPSIGNAL, else
   * SIGTERM. Absent when not set, so specs without it hash as before.
   */
  stop_signal?: StopSignal;
  /**
   * podman `--stop-timeout`: how long a stop waits after the signal before SIGKILL, whole
   * seconds (`30s`, `1m`, `0s`); absent: the agent's `stop_timeout` (default 10s).
   */
  stop_timeout?: string;
  /*
   * SPEC §9 fields. Absent when not set (never empty lists or tables), so that a spec written
   * before they existed hashes as it did and its containers are not recreated by an upgrade.
   * Keys are spelled as in the definition file (`env_secrets`, `depends_on`): the one
   * validator checks TOML, RPC payloads and registry specs alike by these names.
   */
  /** podman `--memory`: `512m`, `2g`. */
  memory?: string;
  /** podman `--cpus`, > 0. */
  cpus?: number;
  /** Secret names of this service, mounted read-only at `/run/secrets/<name>`. */
  secrets?: string[];
  /** Variable name → secret name: the secret's value as an environment variable. */
  env_secrets?: Record<string, string>;
  /** Components of the same service deployed (running, and healthy when they have a check) first. */
  depends_on?: string[];
}

/** SPEC §14 `mode`: keep running, `podman pause` during the snapshot, or stop and start again. */
export type BackupMode = 'live' | 'pause' | 'stop';

/**
 * A service's `[backup]` table (SPEC §14). Keys spelled as in the definition file; absent
 * when not set. Service-level: it changes no component's spec hash.
 */
export interface BackupPolicy {
  /** cron (5 fields) or @hourly/@daily/@weekly/@monthly, UTC; absent: only `mcp backup`. */
  schedule?: string;
  /** Default `live`. */
  mode?: BackupMode;
  /** argv exec'd in `component`'s container before the snapshot (e.g. a database dump into /srv). */
  before?: string[];
  component?: string;
  keep_last?: number;
  keep_daily?: number;
  keep_weekly?: number;
}

/** SPEC §12 `concurrency`: skip a run while one still goes (default), or let them overlap. */
export type JobConcurrency = 'forbid' | 'allow';

/**
 * One `[[jobs]]` table (SPEC §12): scheduled one-off work, run as a one-off container of
 * `component`'s spec (or of `image` alone). Keys spelled as in the definition file; absent
 * when not set. Service-level: it changes no component's spec hash.
 */
export interface JobSpec {
  name: string;
  /** Run with this component's spec (env, secrets, volumes, network, user, limits). */
  component?: string;
  /** Without `component`: the image to run (no env, volumes or secrets). With it: replaces the component's image. */
  image?: string;
  /** argv; absent: the component's (or the image's) command. */
  cmd?: string[];
  /** cron, 5 fields (or 6 with a leading seconds field), or @hourly/@daily/@weekly/@monthly/@yearly. */
  schedule: string;
  /** IANA time zone of the schedule; absent: UTC. */
  tz?: string;
  /** Default 1h; the container is killed past it. */
  timeout?: string;
  /** Default forbid. */
  concurrency?: JobConcurrency;
  /** true: one run at agent start if a scheduled run was missed while the agent was down. Default false. */
  catch_up?: boolean;
}

export interface ServiceSpec {
  name: string;
  node: string;
  active: boolean;
  components: ComponentSpec[];
  /** SPEC §14; absent when the definition has no `[backup]`. */
  backup?: BackupPolicy;
  /** SPEC §12; absent when the definition has no `[[jobs]]`. */
  jobs?: JobSpec[];
}

/** What the operator wants a component to be. `ignore` marks containers nobody manages. */
export type DesiredState = 'running' | 'stopped' | 'ignore';

/**
 * What the runtime says a component is. Podman's states pass through (`running`, `exited`,
 * `created`, `paused`, ...); `removed` means no container exists; `unknown` means not yet seen.
 */
export type ObservedState = 'running' | 'stopped' | 'exited' | 'created' | 'paused' | 'removed' | 'unknown' | string;

/** Desired running but not running, or desired stopped but running; `ignore` never drifts. */
export function isDrift(desired: DesiredState | string, observed: ObservedState): boolean {
  if (desired === 'ignore') return false;
  return (desired === 'running') !== (observed === 'running');
}

/** `^[a-z][a-z0-9-]{0,62}$`: names `/srv/<name>/`, containers and hostnames. */
export const NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;
