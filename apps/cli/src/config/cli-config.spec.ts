import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from '@mcp/common';
import { loadCliConfig } from './cli-config';

describe(loadCliConfig.name, () => {
  let dir: string;
  let file: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-cli-config-'));
    file = path.join(dir, 'mcp.toml');
  });

  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function load(text: string | undefined, env: NodeJS.ProcessEnv = {}, mustExist = false) {
    if (text !== undefined) fs.writeFileSync(file, text);
    return loadCliConfig({ file, env, homeDir: '/home/op', mustExist });
  }

  function issuesOf(fn: () => unknown): string[] {
    try {
      fn();
    } catch (error) {
      if (error instanceof ConfigError) return error.message.split('\n');
      throw error;
    }
    throw new Error('expected a ConfigError');
  }

  it('should use the documented defaults when the file is missing', () => {
    const sut = load(undefined);
    expect(sut).toEqual({
      file,
      exists: false,
      servicesDir: '/home/op/.config/mcp/services',
      mcias: { serverUrl: undefined, caCert: undefined, serviceName: 'mcp' },
      auth: { tokenPath: '/home/op/.config/mcp/token' },
      tls: { caCert: undefined },
      nodes: [],
    });
  });

  it('should read every section, resolving paths against the file and home', () => {
    const sut = load(`
[services]
dir = "services"
[mcias]
server_url = "https://mcias.example.net:8443"
ca_cert = "~/ca/mcias.pem"
service_name = "mcp-prod"
[auth]
token_path = "/run/op/token"
[tls]
ca_cert = "ca.pem"
[[nodes]]
name = "rift"
address = "100.95.252.120:9444"
server_name = "rift.example.net"
timeout = "3s"
`);
    expect(sut).toEqual({
      file,
      exists: true,
      servicesDir: path.join(dir, 'services'),
      mcias: { serverUrl: 'https://mcias.example.net:8443', caCert: '/home/op/ca/mcias.pem', serviceName: 'mcp-prod' },
      auth: { tokenPath: '/run/op/token' },
      tls: { caCert: path.join(dir, 'ca.pem') },
      nodes: [{ name: 'rift', address: '100.95.252.120:9444', serverName: 'rift.example.net', timeoutMs: 3000 }],
    });
  });

  it('should let MCP_* variables override the file', () => {
    const sut = load('[services]\ndir = "/a"\n[auth]\ntoken_path = "/b"\n', {
      MCP_SERVICES_DIR: '/env/services',
      MCP_AUTH_TOKEN_PATH: '/env/token',
      MCP_MCIAS_SERVER_URL: 'https://env.example.net',
      MCP_TLS_CA_CERT: '/env/ca.pem',
      MCP_MCIAS_SERVICE_NAME: 'svc',
    });
    expect(sut.servicesDir).toBe('/env/services');
    expect(sut.auth.tokenPath).toBe('/env/token');
    expect(sut.mcias.serverUrl).toBe('https://env.example.net');
    expect(sut.mcias.serviceName).toBe('svc');
    expect(sut.tls.caCert).toBe('/env/ca.pem');
  });

  it('should report every bad key at once as file: key: reason', () => {
    const issues = issuesOf(() =>
      load(`
colour = true
[services]
dir = ""
[mcias]
server_url = "http://plain"
tokn = "x"
[[nodes]]
name = "a"
address = "nohost"
port = 1
[[nodes]]
name = "a"
address = "h:1"
timeout = "soon"
`),
    );
    expect(issues).toEqual([
      `${file}: colour: unknown key`,
      `${file}: services.dir: must be a non-empty string`,
      `${file}: mcias.tokn: unknown key`,
      `${file}: nodes[0].port: unknown key`,
      `${file}: nodes[0].address: must be host:port`,
      `${file}: nodes[1].timeout: must be a duration like "10s"`,
      `${file}: nodes[1].name: duplicate node "a"`,
      `${file}: mcias.server_url: must be an https:// URL`,
    ]);
  });

  it('should name the line of a TOML syntax error', () => {
    expect(issuesOf(() => load('[services\n'))).toEqual([expect.stringMatching(new RegExp(`^${file}: invalid TOML: `))]);
  });

  it('should fail when an explicitly named file is missing', () => {
    expect(issuesOf(() => load(undefined, {}, true))).toEqual([`${file}: file not found`]);
  });

  it('should accept IPv6 addresses in brackets', () => {
    expect(load('[[nodes]]\nname = "v6"\naddress = "[::1]:9444"\n').nodes[0].address).toBe('[::1]:9444');
  });
});
