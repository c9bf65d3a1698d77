import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeTokensFile } from '@mcp/auth';
import { AgentConfig, type AgentConfigData } from '../../apps/agent/src/config/agent-config';
import { makeRecordedTempDir } from './made-dirs';

type Sections = Omit<AgentConfigData, 'file' | 'env' | 'acme' | 'failpoints'>;
/** Per-section partial overrides of the test config. */
export type TestConfigOverrides = { [K in keyof Sections]?: Partial<Sections[K]> } & {
  dir?: string;
  acme?: AgentConfigData['acme'];
  env?: NodeJS.ProcessEnv;
};

/** Static tokens every test config accepts (the file holds only their hashes). */
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
export const TEST_GUEST_TOKEN = 'test-guest-token-0123456789abcdef';
export const TEST_VIEWER_TOKEN = 'test-viewer-token-0123456789abcdef';

/** A TCP port free on 127.0.0.1 right now (synchronous, so configs can be built inline). */
export function freePortSync(): number {
  const script = "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})";
  return Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
}

/**
 * An AgentConfig for tests, everything inside a fresh temp dir (database, srv root, cert
 * dir, backups, TLS files at `<dir>/tls/server.{crt,key}` — create them with
 * makeTlsFixture(path.join(dir, 'tls'))), static-token auth, a free loopback port, monitor off.
 */
export function makeTestConfig(overrides: TestConfigOverrides = {}): AgentConfig {
  const dir = overrides.dir ?? makeRecordedTempDir('mcp-agent-test-');
  fs.mkdirSync(dir, { recursive: true });
  const base: AgentConfigData = {
    file: path.join(dir, 'mcp-agent.toml'),
    env: process.env,
    server: { grpcAddr: `127.0.0.1:${freePortSync()}`, tlsCert: path.join(dir, 'tls', 'server.crt'), tlsKey: path.join(dir, 'tls', 'server.key') },
    database: { path: path.join(dir, 'mcp.db') },
    auth: { mode: 'static', tokensFile: path.join(dir, 'tokens.toml'), allowedRoles: ['admin'] },
    mcias: { serviceName: 'mcp-agent', timeoutMs: 5000 },
    agent: {
      nodeName: 'test-node',
      srvRoot: path.join(dir, 'srv'),
      bindAddress: '127.0.0.1',
      routeBindAddress: '127.0.0.1',
      routeDomain: 'svc.test.internal',
      portRangeStart: 20000,
      portRangeEnd: 59999,
      maxFileBytes: 1024 ** 3,
      stopTimeoutSeconds: 1,
      backupDir: path.join(dir, 'backups'),
      backupKeep: 7,
      keepReleases: 5,
    },
    monitor: {
      enabled: false,
      intervalMs: 60_000,
      flapThreshold: 3,
      flapWindowMs: 600_000,
      alertCommand: [],
      alertCooldownMs: 900_000,
      alertTimeoutMs: 10_000,
      eventRetentionMs: 30 * 86_400_000,
      eventKeepMax: 100_000,
    },
    runtime: { adapter: 'auto', socket: path.join(dir, 'podman.sock') },
    mcproxy: { certDir: path.join(dir, 'certs') },
    registry: { authFile: path.join(dir, 'registry-auth.json'), credentials: [] },
    log: { level: 'info' },
    // Off: agents run in parallel here; a test that scrapes sets a free port.
    metrics: { listen: '' },
    backup: { repository: path.join(dir, 'restic'), passwordFile: path.join(dir, 'restic.pass'), cacheDir: path.join(dir, 'restic-cache'), sshOptions: [] },
    images: { cacheDir: path.join(dir, 'image-cache'), maxBlobBytes: 1024 ** 3, maxPushBytes: 2 * 1024 ** 3, minFreeBytes: 1 },
    failpoints: [],
  };
  const merged = { ...base } as AgentConfigData;
  for (const key of Object.keys(base) as Array<keyof AgentConfigData>) {
    const override = (overrides as Record<string, unknown>)[key];
    if (override && typeof override === 'object' && !Array.isArray(override)) {
      (merged as unknown as Record<string, unknown>)[key] = { ...(base[key] as object), ...(override as object) };
    }
  }
  if (overrides.acme) merged.acme = overrides.acme;
  if (overrides.env) merged.env = overrides.env;
  return new AgentConfig(merged);
}

/** Writes the static tokens file: admin (role admin), guest (role guest), viewer (role viewer). */
export async function writeTestTokens(config: AgentConfig): Promise<void> {
  await writeTokensFile(config.auth.tokensFile!, [
    { token: TEST_ADMIN_TOKEN, username: 'test-admin', roles: ['admin'] },
    { token: TEST_GUEST_TOKEN, username: 'test-guest', roles: ['guest'] },
    { token: TEST_VIEWER_TOKEN, username: 'test-viewer', roles: ['viewer'] },
  ]);
}

const toml = (value: unknown): string => JSON.stringify(value);

/** The config as the TOML file `mcp-agent serve --config` reads (inverse of the loader). */
export function agentConfigToToml(config: AgentConfig): string {
  const ms = (n: number) => toml(`${n}ms`);
  const lines = [
    '[server]',
    `grpc_addr = ${toml(config.server.grpcAddr)}`,
    `tls_cert = ${toml(config.server.tlsCert)}`,
    `tls_key = ${toml(config.server.tlsKey)}`,
    '[database]',
    `path = ${toml(config.database.path)}`,
    '[auth]',
    `mode = ${toml(config.auth.mode)}`,
    ...(config.auth.tokensFile ? [`tokens_file = ${toml(config.auth.tokensFile)}`] : []),
    `allowed_roles = ${toml(config.auth.allowedRoles)}`,
    '[mcias]',
    ...(config.mcias.serverUrl ? [`server_url = ${toml(config.mcias.serverUrl)}`] : []),
    ...(config.mcias.caCert ? [`ca_cert = ${toml(config.mcias.caCert)}`] : []),
    `service_name = ${toml(config.mcias.serviceName)}`,
    `timeout = ${ms(config.mcias.timeoutMs)}`,
    '[agent]',
    `node_name = ${toml(config.agent.nodeName)}`,
    `srv_root = ${toml(config.agent.srvRoot)}`,
    `bind_address = ${toml(config.agent.bindAddress)}`,
    `route_bind_address = ${toml(config.agent.routeBindAddress)}`,
    `route_domain = ${toml(config.agent.routeDomain)}`,
    `port_range_start = ${config.agent.portRangeStart}`,
    `port_range_end = ${config.agent.portRangeEnd}`,
    `max_file_size = ${config.agent.maxFileBytes}`,
    `stop_timeout = ${toml(`${config.agent.stopTimeoutSeconds}s`)}`,
    `backup_dir = ${toml(config.agent.backupDir)}`,
    `backup_keep = ${config.agent.backupKeep}`,
    `keep_releases = ${config.agent.keepReleases}`,
    '[monitor]',
    `enabled = ${config.monitor.enabled}`,
    `interval = ${ms(config.monitor.intervalMs)}`,
    `flap_threshold = ${config.monitor.flapThreshold}`,
    `flap_window = ${ms(config.monitor.flapWindowMs)}`,
    `alert_command = ${toml(config.monitor.alertCommand)}`,
    `alert_cooldown = ${ms(config.monitor.alertCooldownMs)}`,
    `alert_timeout = ${ms(config.monitor.alertTimeoutMs)}`,
    ...(config.monitor.alertWebhook
      ? [
          `alert_webhook = ${toml(config.monitor.alertWebhook.url)}`,
          `alert_webhook_format = ${toml(config.monitor.alertWebhook.format)}`,
          ...(config.monitor.alertWebhook.tokenFile ? [`alert_webhook_token_file = ${toml(config.monitor.alertWebhook.tokenFile)}`] : []),
          ...(config.monitor.alertWebhook.caCert ? [`alert_webhook_ca_cert = ${toml(config.monitor.alertWebhook.caCert)}`] : []),
          `alert_webhook_timeout = ${ms(config.monitor.alertWebhook.timeoutMs)}`,
          `alert_webhook_attempts = ${config.monitor.alertWebhook.attempts}`,
        ]
      : []),
    `event_retention = ${ms(config.monitor.eventRetentionMs)}`,
    `event_keep_max = ${config.monitor.eventKeepMax}`,
    '[runtime]',
    `adapter = ${toml(config.runtime.adapter)}`,
    `socket = ${toml(config.runtime.socket)}`,
    '[mcproxy]',
    ...(config.mcproxy.socket ? [`socket = ${toml(config.mcproxy.socket)}`] : []),
    `cert_dir = ${toml(config.mcproxy.certDir)}`,
    '[registry]',
    `auth_file = ${toml(config.registry.authFile)}`,
    ...config.registry.credentials.flatMap((c) => [
      '[[registry.credentials]]',
      `server = ${toml(c.server)}`,
      `username = ${toml(c.username)}`,
      ...(c.passwordFile ? [`password_file = ${toml(c.passwordFile)}`] : []),
      ...(c.tokenFile ? [`token_file = ${toml(c.tokenFile)}`] : []),
      `tls_verify = ${c.tlsVerify}`,
    ]),
    '[log]',
    `level = ${toml(config.log.level)}`,
    '[metrics]',
    `listen = ${toml(config.metrics.listen)}`,
    '[images]',
    `cache_dir = ${toml(config.images.cacheDir)}`,
    `max_blob_size = ${config.images.maxBlobBytes}`,
    `max_push_size = ${config.images.maxPushBytes}`,
    `min_free_space = ${config.images.minFreeBytes}`,
    '[backup]',
    `repository = ${toml(config.backup.repository)}`,
    `password_file = ${toml(config.backup.passwordFile)}`,
    `ssh_options = [${config.backup.sshOptions.map(toml).join(', ')}]`,
  ];
  return lines.join('\n') + '\n';
}

/** Writes the config file (at config.file) and returns its path. */
export function writeAgentConfigFile(config: AgentConfig): string {
  fs.mkdirSync(path.dirname(config.file), { recursive: true });
  fs.writeFileSync(config.file, agentConfigToToml(config), { mode: 0o600 });
  return config.file;
}
