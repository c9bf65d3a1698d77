/** What the restic adapter needs (the agent's `[backup]` section, SPEC §14). */
export interface ResticConfigData {
  /** A restic repository: a local path, or `sftp:…`, `s3:…`, `rest:…`. */
  repository: string;
  /** The repository password's file (0600; generated on first use when missing). */
  passwordFile: string;
  /** restic's cache (beside the agent's database, not in the agent user's home). */
  cacheDir: string;
  /** Recorded in each snapshot (the node name). */
  host: string;
  /** The agent's environment, passed on to restic without its `RESTIC_*` variables. */
  env: NodeJS.ProcessEnv;
  /** Default `restic` (on PATH). */
  resticPath: string;
  /** Extra ssh arguments for an `sftp:` repository (identity file, known hosts), after the agent's own bounds. */
  sshOptions: string[];
}

export class ResticConfig implements ResticConfigData {
  readonly repository!: string;
  readonly passwordFile!: string;
  readonly cacheDir!: string;
  readonly host!: string;
  readonly env!: NodeJS.ProcessEnv;
  readonly resticPath!: string;
  readonly sshOptions!: string[];

  constructor(data: ResticConfigData) {
    Object.assign(this, data);
  }
}
