/**
 * The agent-config values the deployer needs, passed in by the app (a lib never imports
 * apps/). The class is the DI token.
 */
export interface DeployerOptionsData {
  /** Address container route ports are published on: `-p <bindAddress>:<hostPort>:<hostPort>`. */
  bindAddress: string;
  /** Backend address given to mc-proxy: `<routeBindAddress>:<hostPort>`. */
  routeBindAddress: string;
  /** Default route hostname is `<service>.<routeDomain>`. */
  routeDomain: string;
  portRangeStart: number;
  portRangeEnd: number;
  /** Where l7 certificates live: `<certDir>/<service>.pem` and `.key`. */
  certDir: string;
  stopTimeoutSeconds: number;
  /** Podman auth file used for pulls (registry credentials); undefined when none. */
  registryAuthFile?: string;
  /** `[agent] keep_releases`: images of the last N succeeded releases of a component are kept (default 5). */
  keepReleases?: number;
  /**
   * Names this agent installation among others on the host (a hash of its registry path):
   * its one-off containers carry it (LABEL_RUN_OWNER), so at start it removes exactly the
   * runs a previous process of its own left behind.
   */
  runOwner?: string;
  /** `[agent] srv_root`: a `./` volume source is relative to `<srvRoot>/<service>/` (SPEC §15); default /srv. */
  srvRoot?: string;
}

export class DeployerOptions implements DeployerOptionsData {
  readonly bindAddress!: string;
  readonly routeBindAddress!: string;
  readonly routeDomain!: string;
  readonly portRangeStart!: number;
  readonly portRangeEnd!: number;
  readonly certDir!: string;
  readonly stopTimeoutSeconds!: number;
  readonly registryAuthFile?: string;
  readonly keepReleases?: number;
  readonly runOwner?: string;
  readonly srvRoot?: string;

  constructor(data: DeployerOptionsData) {
    Object.assign(this, data);
  }
}
