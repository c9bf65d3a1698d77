/** One registry the agent pulls from with credentials (agent config `[[registry.credentials]]`). */
export interface RegistryCredentialConfig {
  /** Registry host as in image references, e.g. `mcr.example.net` or `127.0.0.1:5000`. */
  server: string;
  username: string;
  /** File holding the password (read at every login, so rotation needs no restart). */
  passwordFile?: string;
  /** File holding a registry token used as the password (robot/PAT style). */
  tokenFile?: string;
  /** false: plain HTTP or a self-signed registry (`--tls-verify=false`). */
  tlsVerify: boolean;
}

export interface OciConfigData {
  /** The agent's own podman auth file (kept 0600 in a 0700 directory). */
  authFile: string;
  credentials: RegistryCredentialConfig[];
}

/** The registry-credential settings; the class is the DI token. */
export class OciConfig implements OciConfigData {
  readonly authFile!: string;
  readonly credentials!: RegistryCredentialConfig[];

  constructor(data: OciConfigData) {
    Object.assign(this, data);
  }
}
