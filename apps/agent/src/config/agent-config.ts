import type { FailpointSetting } from '@mcp/common';

/**
 * The agent's validated configuration (SPEC §4, `/srv/mcp/mcp-agent.toml`). Loaded and
 * validated once at start-up by the config loader; injected everywhere as `AgentConfig`
 * (the class is the DI token). Durations are already milliseconds here. Nothing else in the
 * agent reads process.env or the config file.
 */
export interface RegistryCredential {
  /** e.g. `mcr.example.net` or `127.0.0.1:5000` */
  server: string;
  username: string;
  passwordFile?: string;
  tokenFile?: string;
  tlsVerify: boolean;
}

export interface AgentConfigData {
  /** The file it was loaded from ('' when built in code, e.g. tests). */
  file: string;
  /**
   * The environment the agent was started with, read once with the config: the podman and
   * alert child processes inherit it, and the REST adapter resolves `env = ["KEY"]` from it.
   */
  env: NodeJS.ProcessEnv;
  server: { grpcAddr: string; tlsCert: string; tlsKey: string };
  database: { path: string };
  auth: { mode: 'mcias' | 'static'; tokensFile?: string; allowedRoles: string[] };
  mcias: { serverUrl?: string; caCert?: string; serviceName: string; timeoutMs: number };
  agent: {
    nodeName: string;
    /** Files of service X live under `<srvRoot>/X/`. */
    srvRoot: string;
    /** Address container routes are published on (`-p <bind>:<hostPort>:<hostPort>`). */
    bindAddress: string;
    /** Backend address given to mc-proxy (where mc-proxy reaches this node). */
    routeBindAddress: string;
    routeDomain: string;
    portRangeStart: number;
    portRangeEnd: number;
    /** Largest file PushFile accepts, in bytes. */
    maxFileBytes: number;
    stopTimeoutSeconds: number;
    backupDir: string;
    backupKeep: number;
    /** Images of the last N succeeded releases per component are never removed (SPEC §8). */
    keepReleases: number;
  };
  monitor: {
    enabled: boolean;
    intervalMs: number;
    flapThreshold: number;
    flapWindowMs: number;
    /** argv, run without a shell; empty means no alert command. */
    alertCommand: string[];
    alertCooldownMs: number;
    alertTimeoutMs: number;
    /** `alert_webhook*` keys: where alerts are POSTed besides (or instead of) the command. */
    alertWebhook?: {
      url: string;
      format: 'json' | 'ntfy';
      tokenFile?: string;
      caCert?: string;
      timeoutMs: number;
      /** Attempts in all, the first included. */
      attempts: number;
    };
    eventRetentionMs: number;
    eventKeepMax: number;
  };
  /**
   * How the agent drives podman: `rest` speaks the libpod REST API on `socket` (an existing
   * podman service, or one the agent supervises there), `cli` runs the podman binary, `auto`
   * prefers REST and falls back to the CLI.
   */
  runtime: { adapter: 'auto' | 'cli' | 'rest'; socket: string };
  mcproxy: { socket?: string; certDir: string };
  registry: { authFile: string; credentials: RegistryCredential[] };
  acme?: {
    directoryUrl: string;
    caCert?: string;
    accountKey: string;
    email?: string;
    eabKid?: string;
    eabHmac?: string;
    renewBeforeMs: number;
  };
  log: { level: 'debug' | 'info' | 'warn' | 'error' };
  /** `[metrics] listen`: host:port of the Prometheus endpoint; '' serves none. */
  metrics: { listen: string };
  /**
   * `[backup]` (SPEC §14): where service data is backed up with restic. The password file's
   * path only; its content is read by restic alone and never enters the agent's memory.
   * `sshOptions`: extra ssh arguments for an `sftp:` repository (key, known hosts).
   */
  backup: { repository: string; passwordFile: string; cacheDir: string; sshOptions: string[] };
  /**
   * `[images]` (SPEC §13): where PushImage keeps verified blobs until their image is loaded
   * (content-addressed, `<cacheDir>/blobs/sha256/<hex>`), and its bounds in bytes.
   */
  images: { cacheDir: string; maxBlobBytes: number; maxPushBytes: number; minFreeBytes: number };
  /** Test-only crash/stall points, armed by `MCP_AGENT_FAILPOINTS` (never by the file); usually empty. */
  failpoints: FailpointSetting[];
}

export class AgentConfig implements AgentConfigData {
  readonly file!: string;
  readonly env!: NodeJS.ProcessEnv;
  readonly server!: AgentConfigData['server'];
  readonly database!: AgentConfigData['database'];
  readonly auth!: AgentConfigData['auth'];
  readonly mcias!: AgentConfigData['mcias'];
  readonly agent!: AgentConfigData['agent'];
  readonly monitor!: AgentConfigData['monitor'];
  readonly runtime!: AgentConfigData['runtime'];
  readonly mcproxy!: AgentConfigData['mcproxy'];
  readonly registry!: AgentConfigData['registry'];
  readonly acme?: AgentConfigData['acme'];
  readonly log!: AgentConfigData['log'];
  readonly metrics!: AgentConfigData['metrics'];
  readonly backup!: AgentConfigData['backup'];
  readonly images!: AgentConfigData['images'];
  readonly failpoints!: FailpointSetting[];

  constructor(data: AgentConfigData) {
    Object.assign(this, data);
  }
}
