import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, formatIssue } from '@mcp/common';
import { DEFAULT_GRPC_ADDR, loadAgentConfig, parseAgentConfig, resolveAgentConfigPath } from './config-loader';

const FILE = '/etc/mcp/mcp-agent.toml';
const MINIMAL = `
[auth]
mode = "static"
tokens_file = "tokens.toml"
`;

function parse(text: string, env: Record<string, string> = {}) {
  return parseAgentConfig({ file: FILE, text, env });
}

function issuesOf(text: string, env: Record<string, string> = {}): string[] {
  try {
    parse(text, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map(formatIssue);
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('config loader', () => {
  describe(parseAgentConfig.name, () => {
    it('should arm failpoints only from MCP_AGENT_FAILPOINTS', () => {
      expect(parse(MINIMAL).failpoints).toEqual([]);
      expect(parse(MINIMAL, { MCP_AGENT_FAILPOINTS: 'deploy.after-pull=kill' }).failpoints).toEqual([{ name: 'deploy.after-pull', action: { kind: 'kill' } }]);
      expect(issuesOf(`${MINIMAL}\n[failpoints]\n"deploy.after-pull" = "kill"\n`)).toEqual([`${FILE}: failpoints: unknown section`]);
    });

    it('should refuse a malformed MCP_AGENT_FAILPOINTS', () => {
      expect(issuesOf(MINIMAL, { MCP_AGENT_FAILPOINTS: 'deploy.after-pull=boom' })).toEqual([
        'MCP_AGENT_FAILPOINTS[0] (env): deploy.after-pull: action must be "kill" or "pause:<absolute file>", not "boom"',
      ]);
    });

    it('should fill defaults relative to the config file', () => {
      const sut = parse(MINIMAL);

      expect(sut.server.grpcAddr).toBe(DEFAULT_GRPC_ADDR);
      expect(sut.database.path).toBe('/etc/mcp/mcp.db');
      expect(sut.auth).toEqual({ mode: 'static', tokensFile: '/etc/mcp/tokens.toml', allowedRoles: ['admin'] });
      expect(sut.agent).toMatchObject({
        srvRoot: '/srv',
        bindAddress: '127.0.0.1',
        routeBindAddress: '127.0.0.1',
        routeDomain: 'svc.mcp.metacircular.net',
        portRangeStart: 10000,
        portRangeEnd: 60000,
        maxFileBytes: 1024 ** 3,
        backupDir: '/etc/mcp/backups',
        backupKeep: 7,
        keepReleases: 5,
      });
      expect(sut.monitor).toMatchObject({
        enabled: true,
        intervalMs: 60_000,
        flapThreshold: 3,
        flapWindowMs: 600_000,
        alertCooldownMs: 900_000,
        eventRetentionMs: 30 * 86_400_000,
        alertCommand: [],
      });
      expect(sut.mcproxy).toEqual({ socket: undefined, certDir: '/srv/mc-proxy/certs' });
      expect(sut.log.level).toBe('info');
    });

    it('should read every section with durations and sizes', () => {
      const sut = parse(`
[server]
grpc_addr = "0.0.0.0:9555"
tls_cert = "/tls/a.crt"
tls_key = "/tls/a.key"
[database]
path = "/var/lib/mcp/registry.db"
[auth]
mode = "mcias"
allowed_roles = ["admin", "ops"]
[mcias]
server_url = "https://mcias.example.net:8443"
service_name = "agent-x"
timeout = "3s"
[agent]
node_name = "rift"
max_file_size = "512MiB"
stop_timeout = "20s"
[monitor]
interval = "30s"
flap_window = "5m"
alert_command = ["/usr/local/bin/alert", "--quiet"]
alert_cooldown = "1h"
event_retention = "7d"
[mcproxy]
socket = "/srv/mc-proxy/mc-proxy.sock"
[[registry.credentials]]
server = "mcr.example.net"
username = "mcp"
password_file = "/srv/mcp/mcr.password"
[acme]
directory_url = "https://ca.example.net/acme/directory"
account_key = "/srv/mcp/acme.key"
[log]
level = "debug"
`);
      expect(sut.server).toEqual({ grpcAddr: '0.0.0.0:9555', tlsCert: '/tls/a.crt', tlsKey: '/tls/a.key' });
      expect(sut.database.path).toBe('/var/lib/mcp/registry.db');
      expect(sut.agent.backupDir).toBe('/var/lib/mcp/backups');
      expect(sut.auth.allowedRoles).toEqual(['admin', 'ops']);
      expect(sut.mcias).toEqual({ serverUrl: 'https://mcias.example.net:8443', caCert: undefined, serviceName: 'agent-x', timeoutMs: 3000 });
      expect(sut.agent.maxFileBytes).toBe(512 * 1024 ** 2);
      expect(sut.agent.stopTimeoutSeconds).toBe(20);
      expect(sut.monitor).toMatchObject({ intervalMs: 30_000, flapWindowMs: 300_000, alertCooldownMs: 3_600_000, eventRetentionMs: 7 * 86_400_000 });
      expect(sut.monitor.alertCommand).toEqual(['/usr/local/bin/alert', '--quiet']);
      expect(sut.registry.credentials).toEqual([{ server: 'mcr.example.net', username: 'mcp', passwordFile: '/srv/mcp/mcr.password', tokenFile: undefined, tlsVerify: true }]);
      expect(sut.acme).toMatchObject({ directoryUrl: 'https://ca.example.net/acme/directory', accountKey: '/srv/mcp/acme.key', renewBeforeMs: 30 * 86_400_000 });
      expect(sut.log.level).toBe('debug');
    });

    it('should report every problem at once with file, key and reason', () => {
      const issues = issuesOf(`
[server]
grpc_addr = "nonsense"
colour = "blue"
[auth]
mode = "static"
[monitor]
interval = "60"
flap_threshold = "three"
[bogus]
x = 1
`);
      expect(issues).toEqual(
        expect.arrayContaining([
          `${FILE}: server.colour: unknown key`,
          `${FILE}: bogus: unknown section`,
          `${FILE}: server.grpc_addr: must be host:port, like "0.0.0.0:9444"`,
          `${FILE}: auth.tokens_file: required when auth.mode is "static"`,
          `${FILE}: monitor.interval: must be a duration with a unit, like "30s", "10m", "24h", "30d"`,
          `${FILE}: monitor.flap_threshold: must be an integer`,
        ]),
      );
      expect(issues).toHaveLength(6);
    });

    it('should refuse the guest role and an empty role list', () => {
      expect(issuesOf(`${MINIMAL}allowed_roles = ["admin", "guest"]\n`)).toEqual([`${FILE}: auth.allowed_roles: "guest" is never allowed`]);
      expect(issuesOf(`${MINIMAL}allowed_roles = []\n`)).toEqual([`${FILE}: auth.allowed_roles: must name at least one role`]);
    });

    it('should serve metrics on loopback 9445 by default, take a host:port or "" (off), and refuse anything else', () => {
      expect(parse(MINIMAL).metrics.listen).toBe('127.0.0.1:9445');
      expect(parse(`${MINIMAL}[metrics]\nlisten = "10.0.0.11:9100"\n`).metrics.listen).toBe('10.0.0.11:9100');
      expect(parse(`${MINIMAL}[metrics]\nlisten = ""\n`).metrics.listen).toBe('');
      expect(parse(MINIMAL, { MCP_AGENT_METRICS_LISTEN: '' }).metrics.listen).toBe('');
      expect(issuesOf(`${MINIMAL}[metrics]\nlisten = "9445"\n`)).toEqual([`${FILE}: metrics.listen: must be host:port, like "127.0.0.1:9445", or "" to serve no metrics`]);
      expect(issuesOf(`${MINIMAL}[metrics]\nlisten = "127.0.0.1:99999"\n`)).toHaveLength(1);
      expect(issuesOf(`${MINIMAL}[metrics]\nport = 9445\n`)[0]).toMatch(/metrics\.port/);
    });

    it('should require an MCIAS URL in mcias mode', () => {
      expect(issuesOf('[auth]\nmode = "mcias"\n')).toEqual([`${FILE}: mcias.server_url: required when auth.mode is "mcias"`]);
    });

    it('should report invalid TOML with its line', () => {
      const issues = issuesOf('[server]\ngrpc_addr = \n');
      expect(issues).toHaveLength(1);
      expect(issues[0]).toMatch(new RegExp(`^${FILE}: line 2: `));
    });

    it('should apply MCP_AGENT_<SECTION>_<KEY> overrides over the file', () => {
      const sut = parse(`${MINIMAL}[server]\ngrpc_addr = "127.0.0.1:1"\n`, {
        MCP_AGENT_SERVER_GRPC_ADDR: '127.0.0.1:9999',
        MCP_AGENT_MONITOR_INTERVAL: '5s',
        MCP_AGENT_MONITOR_ENABLED: 'false',
        MCP_AGENT_AGENT_PORT_RANGE_START: '30000',
        MCP_AGENT_MONITOR_ALERT_COMMAND: '["/bin/alert","x y"]',
      });
      expect(sut.server.grpcAddr).toBe('127.0.0.1:9999');
      expect(sut.monitor.intervalMs).toBe(5000);
      expect(sut.monitor.enabled).toBe(false);
      expect(sut.agent.portRangeStart).toBe(30000);
      expect(sut.monitor.alertCommand).toEqual(['/bin/alert', 'x y']);
    });

    it('should name the environment variable when an override is invalid', () => {
      expect(issuesOf(MINIMAL, { MCP_AGENT_MONITOR_FLAP_THRESHOLD: 'lots' })).toEqual([
        'monitor.flap_threshold (env MCP_AGENT_MONITOR_FLAP_THRESHOLD): must be an integer',
      ]);
    });

    it('should default the runtime to auto with a socket next to the database', () => {
      const sut = parse(MINIMAL);

      expect(sut.runtime).toEqual({ adapter: 'auto', socket: '/etc/mcp/podman.sock' });
    });

    it('should read the runtime section and refuse an unknown adapter', () => {
      expect(parse(`${MINIMAL}\n[runtime]\nadapter = "cli"\nsocket = "/run/x.sock"\n`).runtime).toEqual({ adapter: 'cli', socket: '/run/x.sock' });
      expect(issuesOf(`${MINIMAL}\n[runtime]\nadapter = "docker"\n`)).toEqual([`${FILE}: runtime.adapter: must be one of auto, cli, rest`]);
    });

    it('should default [agent] keep_releases to 5, read it, and refuse a bad value with file and key', () => {
      expect(parse(MINIMAL).agent.keepReleases).toBe(5);
      expect(parse(`${MINIMAL}[agent]\nkeep_releases = 2\n`).agent.keepReleases).toBe(2);
      expect(issuesOf(`${MINIMAL}[agent]\nkeep_releases = 0\n`)).toEqual([`${FILE}: agent.keep_releases: must be at least 1`]);
      expect(issuesOf(`${MINIMAL}[agent]\nkeep_releases = "five"\n`)).toEqual([expect.stringMatching(new RegExp(`^${FILE.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: agent\\.keep_releases: must be an? `))]);
    });

    it('should default [backup] beside the database, keep a backend URL as written, resolve a path, and refuse bad values with file and key', () => {
      expect(parse(MINIMAL).backup).toEqual({ repository: '/etc/mcp/restic', passwordFile: '/etc/mcp/restic.pass', cacheDir: '/etc/mcp/restic-cache', sshOptions: [] });
      expect(parse(`${MINIMAL}[backup]\nrepository = "sftp:backup@vault:/srv/restic"\npassword_file = "keys/restic.pass"\nssh_options = ["-i", "/etc/mcp/backup_key"]\n`).backup).toEqual({
        repository: 'sftp:backup@vault:/srv/restic',
        passwordFile: '/etc/mcp/keys/restic.pass',
        cacheDir: '/etc/mcp/restic-cache',
        sshOptions: ['-i', '/etc/mcp/backup_key'],
      });
      expect(issuesOf(`${MINIMAL}[backup]\nssh_options = ["-i /etc/mcp/key"]\n`)).toEqual([
        `${FILE}: backup.ssh_options: "-i /etc/mcp/key": an item may not be empty or hold blanks, quotes or backslashes (give "-i" and the path as two items)`,
      ]);
      expect(parse(`${MINIMAL}[backup]\nrepository = "data/restic"\n`).backup.repository).toBe('/etc/mcp/data/restic');
      expect(issuesOf(`${MINIMAL}[backup]\nrepository = ""\npassword_file = 7\nkeep = 2\n`)).toEqual([
        `${FILE}: backup.password_file: must be a string`,
        `${FILE}: backup.keep: unknown key`,
        `${FILE}: backup.repository: must not be empty`,
      ]);
    });

    it('should refuse a port range that is upside down', () => {
      expect(issuesOf(`${MINIMAL}[agent]\nport_range_start = 50000\nport_range_end = 40000\n`)).toEqual([
        `${FILE}: agent.port_range_start: must not exceed agent.port_range_end`,
      ]);
    });

    it('should leave the alert webhook off by default', () => {
      expect(parse(MINIMAL).monitor.alertWebhook).toBeUndefined();
    });

    it('should read the alert webhook keys, with paths relative to the config file', () => {
      const sut = parse(`${MINIMAL}[monitor]
alert_webhook = "https://ntfy.example.net/mcp-alerts"
alert_webhook_format = "ntfy"
alert_webhook_token_file = "alert-token"
alert_webhook_ca_cert = "/etc/ssl/ca.pem"
alert_webhook_timeout = "5s"
alert_webhook_attempts = 6
`);

      expect(sut.monitor.alertWebhook).toEqual({
        url: 'https://ntfy.example.net/mcp-alerts',
        format: 'ntfy',
        tokenFile: '/etc/mcp/alert-token',
        caCert: '/etc/ssl/ca.pem',
        timeoutMs: 5_000,
        attempts: 6,
      });
    });

    it('should default the alert webhook to json, a 10 s timeout and 4 attempts', () => {
      expect(parse(`${MINIMAL}[monitor]\nalert_webhook = "http://127.0.0.1:8080/hook"\n`).monitor.alertWebhook).toEqual({
        url: 'http://127.0.0.1:8080/hook',
        format: 'json',
        timeoutMs: 10_000,
        attempts: 4,
      });
    });

    it('should take the alert webhook from the environment', () => {
      expect(parse(MINIMAL, { MCP_AGENT_MONITOR_ALERT_WEBHOOK: 'http://127.0.0.1:9/x', MCP_AGENT_MONITOR_ALERT_WEBHOOK_ATTEMPTS: '2' }).monitor.alertWebhook).toMatchObject({
        url: 'http://127.0.0.1:9/x',
        attempts: 2,
      });
    });

    it('should report every invalid alert webhook key at once, naming file and key', () => {
      expect(
        issuesOf(`${MINIMAL}[monitor]
alert_webhook = "ftp://example.net/x"
alert_webhook_format = "xml"
alert_webhook_timeout = "soon"
alert_webhook_attempts = 0
`),
      ).toEqual([
        `${FILE}: monitor.alert_webhook_timeout: must be a duration with a unit, like "30s", "10m", "24h", "30d"`,
        `${FILE}: monitor.alert_webhook_format: must be "json" or "ntfy"`,
        `${FILE}: monitor.alert_webhook_attempts: must be at least 1`,
        `${FILE}: monitor.alert_webhook: must be an http:// or https:// URL`,
      ]);
    });

    it('should refuse alert webhook settings without an alert_webhook', () => {
      expect(issuesOf(`${MINIMAL}[monitor]\nalert_webhook_format = "ntfy"\n`)).toEqual([`${FILE}: monitor.alert_webhook_format: needs monitor.alert_webhook`]);
    });

    it('should refuse a CA certificate for a plain http webhook', () => {
      expect(issuesOf(`${MINIMAL}[monitor]\nalert_webhook = "http://127.0.0.1:9/x"\nalert_webhook_ca_cert = "ca.pem"\n`)).toEqual([
        `${FILE}: monitor.alert_webhook_ca_cert: only applies to an https:// alert_webhook`,
      ]);
    });
  });

  describe(loadAgentConfig.name, () => {
    it('should report a missing file as a config error naming it', () => {
      const file = path.join(os.tmpdir(), `missing-${process.pid}.toml`);
      expect(() => loadAgentConfig({ path: file, env: {} })).toThrow(ConfigError);
      expect(() => loadAgentConfig({ path: file, env: {} })).toThrow(`${file}: file not found`);
    });

    it('should load the file named by MCP_AGENT_CONFIG', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-config-'));
      const file = path.join(dir, 'agent.toml');
      fs.writeFileSync(file, MINIMAL);
      try {
        const sut = loadAgentConfig({ env: { MCP_AGENT_CONFIG: file } });
        expect(sut.file).toBe(file);
        expect(sut.database.path).toBe(path.join(dir, 'mcp.db'));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe(resolveAgentConfigPath.name, () => {
    it('should prefer --config, then MCP_AGENT_CONFIG, then the default', () => {
      expect(resolveAgentConfigPath({ path: '/a.toml', env: { MCP_AGENT_CONFIG: '/b.toml' } })).toBe('/a.toml');
      expect(resolveAgentConfigPath({ env: { MCP_AGENT_CONFIG: '/b.toml' } })).toBe('/b.toml');
      expect(resolveAgentConfigPath({ env: {} })).toBe('/srv/mcp/mcp-agent.toml');
    });
  });
});
