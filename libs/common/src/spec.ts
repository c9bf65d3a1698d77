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

export interface ServiceSpec {
  name: string;
  node: string;
  active: boolean;
  components: ComponentSpec[];
}

/** What the operator wants a component to be. `ignore` marks containers nobody manages. */
export type DesiredState = 'running' | 'stopped' | 'ignore';

/**
 * What the runtime says a component is. Podman's states pass through (`running`, `exited`,
 * `created`, `paused`, ...); `removed` means no container exists; `unknown` means not yet seen.
 */
export type ObservedState = 'running' | 'stopped' | 'exited' | 'created' | 'paused' | 'removed' | 'unknown' | string;

/** `^[a-z][a-z0-9-]{0,62}$`: names `/srv/<name>/`, containers and hostnames. */
export const NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;
