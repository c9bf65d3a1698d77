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
