import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import {
  Check,
  ConfigError,
  FAILPOINTS_ENV,
  isTable,
  ok,
  parseDuration,
  parseFailpoints,
  problem,
  SubTable,
  TableList,
  tableList,
  UnknownKeys,
  validateTable,
  type FailpointSetting,
  type FieldRule,
  type Table,
  type ValidationIssue,
} from '@mcp/common';
import { AgentConfig, type AgentConfigData, type RegistryCredential } from './agent-config';

/** Where `mcp-agent` looks for its config unless `--config` or `MCP_AGENT_CONFIG` says otherwise. */
export const DEFAULT_AGENT_CONFIG_PATH = '/srv/mcp/mcp-agent.toml';
/**
 * The default listen address. Loopback, so an agent started without a config decision is not
 * reachable from the network by accident; real nodes set `grpc_addr = "0.0.0.0:9444"`.
 */
export const DEFAULT_GRPC_ADDR = '127.0.0.1:9444';
/** Prometheus metrics (SPEC §10): loopback only unless the operator says otherwise. */
export const DEFAULT_METRICS_LISTEN = '127.0.0.1:9445';
export const DEFAULT_ROUTE_DOMAIN = 'svc.mcp.metacircular.net';

type Kind = 'string' | 'int' | 'bool' | 'duration' | 'strings' | 'bytes';

/** What a key's value is; the value is read as this kind (and `MCP_AGENT_*` strings converted to it). */
const KIND_RULES: Record<Kind, FieldRule> = {
  string: (value) => (value === undefined || typeof value === 'string' ? ok : problem('must be a string')),
  bool: (value) => (value === undefined || typeof value === 'boolean' ? ok : problem('must be true or false')),
  int: (value) =>
    value === undefined || ((typeof value === 'number' || typeof value === 'bigint') && Number.isInteger(Number(value))) ? ok : problem('must be an integer'),
  duration: (value) =>
    value === undefined || (typeof value === 'string' && parseDuration(value) !== undefined)
      ? ok
      : problem('must be a duration with a unit, like "30s", "10m", "24h", "30d"'),
  bytes: (value) => (value === undefined || parseBytes(value) !== undefined ? ok : problem('must be a byte count (integer) or a size like "512MiB", "1GiB"')),
  strings: (value) =>
    value === undefined || (Array.isArray(value) && value.every((item) => typeof item === 'string')) ? ok : problem('must be an array of strings'),
};

/** Each section class's keys and their kinds, recorded by the decorators below. */
const KINDS = new Map<object, Record<string, Kind>>();

function key(kind: Kind): PropertyDecorator {
  return (target, property) => {
    const kinds = KINDS.get(target.constructor) ?? {};
    kinds[property as string] = kind;
    KINDS.set(target.constructor, kinds);
    Check(kind, KIND_RULES[kind])(target, property);
  };
}
const Str = () => key('string');
const Int = () => key('int');
const Bool = () => key('bool');
const Duration = () => key('duration');
const Bytes = () => key('bytes');
const Strings = () => key('strings');

/*
 * The agent config file, one decorated class per TOML table (SPEC §7). A key the class does
 * not declare is an error; the decorator says how its value is read. Defaults and checks
 * that relate several keys are in ConfigReader.build below. Adding a key: ARCHITECTURE.md.
 */
class ServerSection {
  @Str() grpc_addr?: string;
  @Str() tls_cert?: string;
  @Str() tls_key?: string;
}

class DatabaseSection {
  @Str() path?: string;
}

class AuthSection {
  @Str() mode?: string;
  @Str() tokens_file?: string;
  @Strings() allowed_roles?: string[];
}

class MciasSection {
  @Str() server_url?: string;
  @Str() ca_cert?: string;
  @Str() service_name?: string;
  @Duration() timeout?: string;
}

class AgentSection {
  @Str() node_name?: string;
  @Str() srv_root?: string;
  @Str() bind_address?: string;
  @Str() route_bind_address?: string;
  @Str() route_domain?: string;
  @Int() port_range_start?: number;
  @Int() port_range_end?: number;
  @Bytes() max_file_size?: number | string;
  @Duration() stop_timeout?: string;
  @Str() backup_dir?: string;
  @Int() backup_keep?: number;
  @Int() keep_releases?: number;
}

class MonitorSection {
  @Bool() enabled?: boolean;
  @Duration() interval?: string;
  @Int() flap_threshold?: number;
  @Duration() flap_window?: string;
  @Strings() alert_command?: string[];
  @Duration() alert_cooldown?: string;
  @Duration() alert_timeout?: string;
  @Str() alert_webhook?: string;
  @Str() alert_webhook_format?: string;
  @Str() alert_webhook_token_file?: string;
  @Str() alert_webhook_ca_cert?: string;
  @Duration() alert_webhook_timeout?: string;
  @Int() alert_webhook_attempts?: number;
  @Duration() event_retention?: string;
  @Int() event_keep_max?: number;
}

class RuntimeSection {
  @Str() adapter?: string;
  @Str() socket?: string;
}

class McproxySection {
  @Str() socket?: string;
  @Str() cert_dir?: string;
}

/** `[[registry.credentials]]` */
class RegistryCredentialTable {
  @Str() server?: string;
  @Str() username?: string;
  @Str() password_file?: string;
  @Str() token_file?: string;
  @Bool() tls_verify?: boolean;
}

class RegistrySection {
  @Str() auth_file?: string;
  @TableList(() => RegistryCredentialTable, tableList({ notArray: 'must be an array of tables ([[registry.credentials]])' }))
  credentials?: RegistryCredentialTable[];
}

class AcmeSection {
  @Str() directory_url?: string;
  @Str() ca_cert?: string;
  @Str() account_key?: string;
  @Str() email?: string;
  @Str() eab_kid?: string;
  @Str() eab_hmac?: string;
  @Duration() renew_before?: string;
}

class LogSection {
  @Str() level?: string;
}

class MetricsSection {
  @Str() listen?: string;
}

/** SPEC §14: service data backups (restic). Not the registry's own `[agent] backup_dir`. */
class BackupSection {
  @Str() repository?: string;
  @Str() password_file?: string;
  @Strings() ssh_options?: string[];
}

/** SPEC §13: images pushed without a registry (PushImage): the push cache and its bounds. */
class ImagesSection {
  @Str() cache_dir?: string;
  @Bytes() max_blob_size?: number | string;
  @Bytes() max_push_size?: number | string;
  @Bytes() min_free_space?: number | string;
}

/** The sections, by name; `[section]` tables of the file and `MCP_AGENT_<SECTION>_<KEY>` names come from here. */
const SECTIONS = {
  server: ServerSection,
  database: DatabaseSection,
  auth: AuthSection,
  mcias: MciasSection,
  agent: AgentSection,
  monitor: MonitorSection,
  runtime: RuntimeSection,
  mcproxy: McproxySection,
  registry: RegistrySection,
  acme: AcmeSection,
  log: LogSection,
  metrics: MetricsSection,
  backup: BackupSection,
  images: ImagesSection,
} satisfies Record<string, new () => object>;

type Section = keyof typeof SECTIONS;

@UnknownKeys('unknown section')
class AgentConfigFile {}
for (const [name, type] of Object.entries(SECTIONS)) SubTable(() => type)(AgentConfigFile.prototype, name);

function kindOf(section: string, key: string): Kind {
  return KINDS.get(SECTIONS[section as Section])?.[key] ?? 'string';
}

export interface LoadAgentConfigInput {
  /** Explicit `--config`; otherwise `MCP_AGENT_CONFIG`, otherwise the default path. */
  path?: string;
  /**
   * The environment (tests pass their own). Absent: the process's — read here and nowhere
   * else in the agent; it travels on as `AgentConfig.env`.
   */
  env?: Record<string, string | undefined>;
}

/** Resolves which file to load: `--config`, then `MCP_AGENT_CONFIG`, then the default. */
export function resolveAgentConfigPath(input: LoadAgentConfigInput): string {
  return path.resolve(input.path ?? (input.env ?? process.env).MCP_AGENT_CONFIG ?? DEFAULT_AGENT_CONFIG_PATH);
}

/** Reads, validates and returns the agent config; throws ConfigError listing every problem. */
export function loadAgentConfig(given: LoadAgentConfigInput): AgentConfig {
  const input = { ...given, env: given.env ?? process.env };
  const file = resolveAgentConfigPath(input);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `cannot read: ${(err as Error).message}`;
    throw new ConfigError([{ file, path: '', reason }]);
  }
  return parseAgentConfig({ file, text, env: input.env });
}

/** Parses TOML text (plus `MCP_AGENT_<SECTION>_<KEY>` overrides) into a validated AgentConfig. */
export function parseAgentConfig(input: { file: string; text: string; env: Record<string, string | undefined> }): AgentConfig {
  const { file } = input;
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(input.text) as Record<string, unknown>;
  } catch (err) {
    const firstLine = (err as Error).message.split('\n').find((line) => line.trim()) ?? 'invalid TOML';
    const where = err instanceof Error && 'line' in err ? `line ${(err as { line: number }).line}` : '';
    throw new ConfigError([{ file, path: where, reason: firstLine }]);
  }
  return new ConfigReader(file, doc, input.env).read();
}

class ConfigReader {
  private readonly issues: ValidationIssue[] = [];
  /** section -> key -> value, after env overrides; only known keys with valid values. */
  private readonly values = new Map<string, Map<string, unknown>>();
  /** Where a value came from, for error messages. */
  private readonly origin = new Map<string, string>();
  private credentials: RegistryCredential[] = [];

  constructor(
    private readonly file: string,
    private readonly doc: Record<string, unknown>,
    private readonly env: Record<string, string | undefined>,
  ) {}

  read(): AgentConfig {
    this.collect();
    const data = this.build();
    if (this.issues.length > 0) throw new ConfigError(this.issues);
    return new AgentConfig(data);
  }

  private issue(key: string, reason: string): void {
    const origin = this.origin.get(key);
    this.issues.push(origin ? { path: `${key} (${origin})`, reason } : { file: this.file, path: key, reason });
  }

  /**
   * The file's tables with `MCP_AGENT_<SECTION>_<KEY>` overrides laid over them, validated as
   * one document (AgentConfigFile), so an override is judged like the file and named in its
   * error. Only values that passed are kept for build().
   */
  private collect(): void {
    const merged: Table = { ...this.doc };
    for (const [section, type] of Object.entries(SECTIONS)) {
      for (const [key, kind] of Object.entries(KINDS.get(type) ?? {})) {
        const name = `MCP_AGENT_${section}_${key}`.toUpperCase();
        const raw = this.env[name];
        if (raw === undefined) continue;
        const body = merged[section];
        if (body !== undefined && !isTable(body)) continue;
        merged[section] = { ...body, [key]: envValue(raw, kind) };
        this.origin.set(`${section}.${key}`, `env ${name}`);
      }
    }
    const invalid = new Set<string>();
    for (const found of validateTable(AgentConfigFile, merged)) {
      invalid.add(found.path);
      this.issue(found.path, found.reason);
    }
    for (const [section, body] of Object.entries(merged)) {
      if (!Object.hasOwn(SECTIONS, section) || !isTable(body)) continue;
      const map = new Map<string, unknown>();
      this.values.set(section, map);
      for (const [key, value] of Object.entries(body)) {
        if (key !== 'credentials' && !invalid.has(`${section}.${key}`)) map.set(key, this.asKind(value, kindOf(section, key)));
      }
      if (section === 'registry' && Array.isArray(body.credentials) && !invalid.has('registry.credentials')) {
        body.credentials.filter(isTable).forEach((entry, index) => this.collectCredential(entry, index, invalid));
      }
    }
  }

  private collectCredential(entry: Table, index: number, invalid: Set<string>): void {
    const where = `registry.credentials[${index}]`;
    const value = <T>(key: string) => (invalid.has(`${where}.${key}`) ? undefined : (entry[key] as T | undefined));
    const server = value<string>('server');
    const username = value<string>('username');
    const passwordFile = value<string>('password_file');
    const tokenFile = value<string>('token_file');
    const tlsVerify = value<boolean>('tls_verify');
    if (!server) this.issue(`${where}.server`, 'required');
    if (!username) this.issue(`${where}.username`, 'required');
    if (!passwordFile === !tokenFile) this.issue(where, 'set exactly one of password_file, token_file');
    if (server && username) {
      this.credentials.push({
        server,
        username,
        passwordFile: passwordFile && this.resolvePath(passwordFile),
        tokenFile: tokenFile && this.resolvePath(tokenFile),
        tlsVerify: tlsVerify ?? true,
      });
    }
  }

  private raw(section: string, key: string): unknown {
    return this.values.get(section)?.get(key);
  }

  /** A valid value as its kind: durations in ms, sizes in bytes, integers as numbers. */
  private asKind(value: unknown, kind: Kind): unknown {
    switch (kind) {
      case 'int':
        return Number(value);
      case 'duration':
        return parseDuration(value as string);
      case 'bytes':
        return parseBytes(value);
      default:
        return value;
    }
  }

  private get<T>(section: string, key: string): T | undefined {
    return this.raw(section, key) as T | undefined;
  }

  private resolvePath(value: string): string {
    return path.resolve(path.dirname(this.file), value);
  }

  private pathOf(section: string, key: string): string | undefined {
    const value = this.get<string>(section, key);
    if (value === undefined) return undefined;
    if (value === '') {
      this.issue(`${section}.${key}`, 'must not be empty');
      return undefined;
    }
    return this.resolvePath(value);
  }

  private positive(section: string, key: string, fallback: number, min = 1): number {
    const value = this.get<number>(section, key);
    if (value === undefined) return fallback;
    if (value < min) this.issue(`${section}.${key}`, `must be at least ${min}`);
    return value;
  }

  /** `[monitor] alert_webhook*`: the webhook, or undefined when `alert_webhook` is unset. */
  private alertWebhook(): AgentConfigData['monitor']['alertWebhook'] {
    const url = this.get<string>('monitor', 'alert_webhook');
    const format = this.get<string>('monitor', 'alert_webhook_format') ?? 'json';
    if (format !== 'json' && format !== 'ntfy') this.issue('monitor.alert_webhook_format', 'must be "json" or "ntfy"');
    const tokenFile = this.pathOf('monitor', 'alert_webhook_token_file');
    const caCert = this.pathOf('monitor', 'alert_webhook_ca_cert');
    const timeoutMs = this.positive('monitor', 'alert_webhook_timeout', 10_000);
    const attempts = this.positive('monitor', 'alert_webhook_attempts', 4);
    if (url === undefined) {
      for (const key of ['alert_webhook_format', 'alert_webhook_token_file', 'alert_webhook_ca_cert', 'alert_webhook_timeout', 'alert_webhook_attempts']) {
        if (this.raw('monitor', key) !== undefined) this.issue(`monitor.${key}`, 'needs monitor.alert_webhook');
      }
      return undefined;
    }
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      this.issue('monitor.alert_webhook', 'must be an http:// or https:// URL');
      return undefined;
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      this.issue('monitor.alert_webhook', 'must be an http:// or https:// URL');
      return undefined;
    }
    if (caCert && parsed.protocol !== 'https:') this.issue('monitor.alert_webhook_ca_cert', 'only applies to an https:// alert_webhook');
    return {
      url,
      format: format === 'ntfy' ? 'ntfy' : 'json',
      ...(tokenFile ? { tokenFile } : {}),
      ...(caCert ? { caCert } : {}),
      timeoutMs,
      attempts,
    };
  }

  /**
   * `[backup]` (SPEC §14): the restic repository of this node's service data. A repository
   * with a backend prefix (`sftp:`, `s3:`, `rest:`, …) is kept as written; a plain path is
   * resolved like every other path of this file.
   */
  private serviceBackup(dataDir: string): AgentConfigData['backup'] {
    const raw = this.get<string>('backup', 'repository');
    let repository = path.join(dataDir, 'restic');
    if (raw !== undefined) {
      if (raw.trim() === '') this.issue('backup.repository', 'must not be empty');
      else if (/^[a-z0-9]+:/.test(raw) && !raw.startsWith('local:')) repository = raw;
      else repository = this.resolvePath(raw.replace(/^local:/, ''));
    }
    return {
      repository,
      passwordFile: this.pathOf('backup', 'password_file') ?? path.join(dataDir, 'restic.pass'),
      cacheDir: path.join(dataDir, 'restic-cache'),
      sshOptions: this.sshOptions(),
    };
  }

  /** `[backup] ssh_options`: argv items restic hands to ssh as one command line, so no blanks or quotes inside an item. */
  private sshOptions(): string[] {
    const options = this.get<string[]>('backup', 'ssh_options') ?? [];
    for (const option of options) {
      if (option === '' || /[\s'"\\]/.test(option)) this.issue('backup.ssh_options', `"${option}": an item may not be empty or hold blanks, quotes or backslashes (give "-i" and the path as two items)`);
    }
    return options;
  }

  /**
   * `[images]` (SPEC §13): the push cache (content-addressed blobs of unfinished pushes) and
   * the limits a push is held to. A blob may not exceed the push, and the defaults fit a node
   * with a few GiB free: 8 GiB per blob, 16 GiB per push, 1 GiB left free after one.
   */
  private images(dataDir: string): AgentConfigData['images'] {
    const maxBlobBytes = this.positive('images', 'max_blob_size', 8 * 1024 ** 3);
    const maxPushBytes = this.positive('images', 'max_push_size', 16 * 1024 ** 3);
    if (maxBlobBytes > maxPushBytes) this.issue('images.max_blob_size', `must not exceed images.max_push_size (${maxPushBytes} bytes)`);
    return {
      cacheDir: this.pathOf('images', 'cache_dir') ?? path.join(dataDir, 'image-cache'),
      maxBlobBytes,
      maxPushBytes,
      minFreeBytes: this.positive('images', 'min_free_space', 1024 ** 3),
    };
  }

  /** `MCP_AGENT_FAILPOINTS` (environment only: a config file cannot arm a crash point). */
  private failpoints(): FailpointSetting[] {
    const { settings, issues } = parseFailpoints(this.env[FAILPOINTS_ENV] ?? '');
    for (const issue of issues) this.issues.push({ path: `${issue.path} (env)`, reason: issue.reason });
    return settings;
  }

  private build(): AgentConfigData {
    const configDir = path.dirname(this.file);
    const dbPath = this.pathOf('database', 'path') ?? path.join(configDir, 'mcp.db');
    const dataDir = path.dirname(dbPath);

    const grpcAddr = this.get<string>('server', 'grpc_addr') ?? DEFAULT_GRPC_ADDR;
    if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(grpcAddr) || Number(grpcAddr.slice(grpcAddr.lastIndexOf(':') + 1)) > 65535) {
      this.issue('server.grpc_addr', 'must be host:port, like "0.0.0.0:9444"');
    }
    const tlsCert = this.pathOf('server', 'tls_cert') ?? path.join(configDir, 'tls', 'agent.crt');
    const tlsKey = this.pathOf('server', 'tls_key') ?? path.join(configDir, 'tls', 'agent.key');

    const mode = this.get<string>('auth', 'mode') ?? 'mcias';
    if (mode !== 'mcias' && mode !== 'static') this.issue('auth.mode', 'must be "mcias" or "static"');
    const tokensFile = this.pathOf('auth', 'tokens_file');
    if (mode === 'static' && !tokensFile) this.issue('auth.tokens_file', 'required when auth.mode is "static"');
    const allowedRoles = this.get<string[]>('auth', 'allowed_roles') ?? ['admin'];
    if (allowedRoles.length === 0) this.issue('auth.allowed_roles', 'must name at least one role');
    if (allowedRoles.includes('guest')) this.issue('auth.allowed_roles', '"guest" is never allowed');

    const serverUrl = this.get<string>('mcias', 'server_url');
    if (mode === 'mcias' && !serverUrl) this.issue('mcias.server_url', 'required when auth.mode is "mcias"');
    if (serverUrl !== undefined && !/^https:\/\/[^\s]+$/.test(serverUrl)) this.issue('mcias.server_url', 'must be an https:// URL');

    const portRangeStart = this.positive('agent', 'port_range_start', 10000, 1024);
    const portRangeEnd = this.positive('agent', 'port_range_end', 60000, 1024);
    if (portRangeEnd > 65535) this.issue('agent.port_range_end', 'must be at most 65535');
    if (portRangeStart > portRangeEnd) this.issue('agent.port_range_start', 'must not exceed agent.port_range_end');

    const nodeName = this.get<string>('agent', 'node_name') ?? os.hostname();
    if (nodeName === '') this.issue('agent.node_name', 'must not be empty');
    const routeDomain = this.get<string>('agent', 'route_domain') ?? DEFAULT_ROUTE_DOMAIN;
    if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(routeDomain)) this.issue('agent.route_domain', 'must be a DNS name');

    const metricsListen = this.get<string>('metrics', 'listen') ?? DEFAULT_METRICS_LISTEN;
    if (metricsListen !== '' && (!/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(metricsListen) || Number(metricsListen.slice(metricsListen.lastIndexOf(':') + 1)) > 65535)) {
      this.issue('metrics.listen', 'must be host:port, like "127.0.0.1:9445", or "" to serve no metrics');
    }

    const level = this.get<string>('log', 'level') ?? 'info';
    if (!['debug', 'info', 'warn', 'error'].includes(level)) this.issue('log.level', 'must be one of debug, info, warn, error');

    const acmeSection = this.values.has('acme');
    let acme: AgentConfigData['acme'];
    if (acmeSection) {
      const directoryUrl = this.get<string>('acme', 'directory_url');
      const accountKey = this.pathOf('acme', 'account_key');
      if (!directoryUrl) this.issue('acme.directory_url', 'required when [acme] is present');
      if (!accountKey) this.issue('acme.account_key', 'required when [acme] is present');
      acme = {
        directoryUrl: directoryUrl ?? '',
        accountKey: accountKey ?? '',
        caCert: this.pathOf('acme', 'ca_cert'),
        email: this.get<string>('acme', 'email'),
        eabKid: this.get<string>('acme', 'eab_kid'),
        eabHmac: this.get<string>('acme', 'eab_hmac'),
        renewBeforeMs: this.get<number>('acme', 'renew_before') ?? parseDuration('30d')!,
      };
    }

    const stopTimeoutMs = this.get<number>('agent', 'stop_timeout') ?? 10_000;
    const alertWebhook = this.alertWebhook();

    const runtimeAdapter = this.get<string>('runtime', 'adapter') ?? 'auto';
    if (!['auto', 'cli', 'rest'].includes(runtimeAdapter)) this.issue('runtime.adapter', 'must be one of auto, cli, rest');

    return {
      file: this.file,
      env: this.env,
      backup: this.serviceBackup(dataDir),
      images: this.images(dataDir),
      server: { grpcAddr, tlsCert, tlsKey },
      database: { path: dbPath },
      auth: { mode: mode === 'static' ? 'static' : 'mcias', tokensFile, allowedRoles },
      mcias: {
        serverUrl,
        caCert: this.pathOf('mcias', 'ca_cert'),
        serviceName: this.get<string>('mcias', 'service_name') ?? 'mcp-agent',
        timeoutMs: this.get<number>('mcias', 'timeout') ?? 5000,
      },
      agent: {
        nodeName,
        srvRoot: this.pathOf('agent', 'srv_root') ?? '/srv',
        bindAddress: this.get<string>('agent', 'bind_address') ?? '127.0.0.1',
        routeBindAddress: this.get<string>('agent', 'route_bind_address') ?? '127.0.0.1',
        routeDomain,
        portRangeStart,
        portRangeEnd,
        maxFileBytes: this.positive('agent', 'max_file_size', 1024 ** 3),
        stopTimeoutSeconds: Math.ceil(stopTimeoutMs / 1000),
        backupDir: this.pathOf('agent', 'backup_dir') ?? path.join(dataDir, 'backups'),
        backupKeep: this.positive('agent', 'backup_keep', 7),
        keepReleases: this.positive('agent', 'keep_releases', 5),
      },
      monitor: {
        enabled: this.get<boolean>('monitor', 'enabled') ?? true,
        intervalMs: this.positive('monitor', 'interval', 60_000, 1000),
        flapThreshold: this.positive('monitor', 'flap_threshold', 3, 2),
        flapWindowMs: this.positive('monitor', 'flap_window', 600_000),
        alertCommand: this.get<string[]>('monitor', 'alert_command') ?? [],
        alertCooldownMs: this.get<number>('monitor', 'alert_cooldown') ?? 900_000,
        alertTimeoutMs: this.positive('monitor', 'alert_timeout', 30_000),
        ...(alertWebhook ? { alertWebhook } : {}),
        eventRetentionMs: this.positive('monitor', 'event_retention', parseDuration('30d')!),
        eventKeepMax: this.positive('monitor', 'event_keep_max', 100_000),
      },
      runtime: {
        adapter: runtimeAdapter as AgentConfigData['runtime']['adapter'],
        // Stable, so an agent killed hard finds its podman service again instead of leaving
        // one more behind.
        socket: this.pathOf('runtime', 'socket') ?? path.join(dataDir, 'podman.sock'),
      },
      mcproxy: {
        socket: this.pathOf('mcproxy', 'socket'),
        certDir: this.pathOf('mcproxy', 'cert_dir') ?? '/srv/mc-proxy/certs',
      },
      registry: {
        authFile: this.pathOf('registry', 'auth_file') ?? path.join(dataDir, 'registry-auth.json'),
        credentials: this.credentials,
      },
      acme,
      log: { level: level as AgentConfigData['log']['level'] },
      metrics: { listen: metricsListen },
      failpoints: this.failpoints(),
    };
  }
}

/** Env values are strings; read them as the key's type so the same checks apply. */
function envValue(raw: string, kind: Kind): unknown {
  switch (kind) {
    case 'int':
      return /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
    case 'bool':
      return raw === 'true' ? true : raw === 'false' ? false : raw;
    case 'bytes':
      return /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
    case 'strings':
      if (raw.trim().startsWith('[')) {
        try {
          return JSON.parse(raw) as unknown;
        } catch {
          return raw;
        }
      }
      return raw === '' ? [] : raw.split(',').map((part) => part.trim());
    default:
      return raw;
  }
}

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, kb: 1000, mb: 1000 ** 2, gb: 1000 ** 3 };

function parseBytes(value: unknown): number | undefined {
  if (typeof value === 'number' || typeof value === 'bigint') {
    const n = Number(value);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+)\s*([kmg]i?b|b)?$/i.exec(value.trim());
  if (!match) return undefined;
  const unit = BYTE_UNITS[(match[2] ?? '').toLowerCase()];
  return unit ? Number(match[1]) * unit : undefined;
}
