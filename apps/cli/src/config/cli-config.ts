import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, ValidationIssue, parseDuration } from '@mcp/common';
import { parse as parseToml, TomlError } from 'smol-toml';

export interface NodeConfig {
  name: string;
  /** `host:port` of the node's agent. */
  address: string;
  /** TLS name to verify when `address` is an IP or a name the certificate lacks. */
  serverName?: string;
  /** Connect timeout and deadline of quick calls (default 10 s). */
  timeoutMs: number;
}

export interface CliConfig {
  /** The file read, or where it would be. */
  file: string;
  /** False when no file exists: defaults only. */
  exists: boolean;
  servicesDir: string;
  mcias: { serverUrl?: string; caCert?: string; serviceName: string };
  auth: { tokenPath: string };
  tls: { caCert?: string };
  nodes: NodeConfig[];
}

export const DEFAULT_NODE_TIMEOUT_MS = 10_000;

const SECTIONS: Record<string, readonly string[]> = {
  services: ['dir'],
  mcias: ['server_url', 'ca_cert', 'service_name'],
  auth: ['token_path'],
  tls: ['ca_cert'],
};
const NODE_KEYS = ['name', 'address', 'server_name', 'timeout'];

/** `MCP_*` variables that override one key each. */
export const ENV_OVERRIDES: Record<string, [section: string, key: string]> = {
  MCP_SERVICES_DIR: ['services', 'dir'],
  MCP_MCIAS_SERVER_URL: ['mcias', 'server_url'],
  MCP_MCIAS_CA_CERT: ['mcias', 'ca_cert'],
  MCP_MCIAS_SERVICE_NAME: ['mcias', 'service_name'],
  MCP_AUTH_TOKEN_PATH: ['auth', 'token_path'],
  MCP_TLS_CA_CERT: ['tls', 'ca_cert'],
};

export interface LoadCliConfigOptions {
  file: string;
  env: NodeJS.ProcessEnv;
  homeDir: string;
  /** True when the operator named the file (flag or env): then a missing file is an error. */
  mustExist: boolean;
}

type Table = Record<string, unknown>;

function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/**
 * Reads, validates and resolves the CLI's mcp.toml. Every problem is collected and thrown
 * as one ConfigError (`file: key: reason` per line). Relative paths are relative to the
 * file's folder; `~/` is the home folder.
 */
export function loadCliConfig(options: LoadCliConfigOptions): CliConfig {
  const { file, env, homeDir } = options;
  const issues: ValidationIssue[] = [];
  const issue = (key: string, reason: string) => issues.push({ file, path: key, reason });
  let doc: Table = {};
  let exists = false;
  try {
    const text = fs.readFileSync(file, 'utf8');
    exists = true;
    doc = parseToml(text) as Table;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      if (options.mustExist) issue('', 'file not found');
    } else if (error instanceof TomlError) {
      issue('', `invalid TOML: ${error.message.split('\n')[0]}`);
    } else {
      issue('', `cannot read: ${(error as Error).message}`);
    }
  }
  if (issues.length) throw new ConfigError(issues);

  const baseDir = path.dirname(file);
  const resolvePath = (value: string) => {
    if (value === '~') return homeDir;
    if (value.startsWith('~/')) return path.join(homeDir, value.slice(2));
    return path.resolve(baseDir, value);
  };

  const values: Record<string, Record<string, string>> = {};
  for (const [key, value] of Object.entries(doc)) {
    if (key === 'nodes') continue;
    const allowed = SECTIONS[key];
    if (!allowed) {
      issue(key, 'unknown key');
      continue;
    }
    if (!isTable(value)) {
      issue(key, 'must be a table');
      continue;
    }
    values[key] = {};
    for (const [sub, subValue] of Object.entries(value)) {
      if (!allowed.includes(sub)) issue(`${key}.${sub}`, 'unknown key');
      else if (typeof subValue !== 'string' || subValue === '') issue(`${key}.${sub}`, 'must be a non-empty string');
      else values[key][sub] = subValue;
    }
  }
  for (const [name, [section, key]] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value) (values[section] ??= {})[key] = value;
  }

  const nodes: NodeConfig[] = [];
  const rawNodes = doc.nodes;
  if (rawNodes !== undefined && !Array.isArray(rawNodes)) {
    issue('nodes', 'must be an array of tables ([[nodes]])');
  } else if (Array.isArray(rawNodes)) {
    const seen = new Set<string>();
    rawNodes.forEach((raw: unknown, index) => {
      const at = `nodes[${index}]`;
      if (!isTable(raw)) {
        issue(at, 'must be a table');
        return;
      }
      for (const key of Object.keys(raw)) if (!NODE_KEYS.includes(key)) issue(`${at}.${key}`, 'unknown key');
      const str = (key: string, required: boolean): string | undefined => {
        const value = raw[key];
        if (value === undefined) {
          if (required) issue(`${at}.${key}`, 'required');
          return undefined;
        }
        if (typeof value !== 'string' || value === '') {
          issue(`${at}.${key}`, 'must be a non-empty string');
          return undefined;
        }
        return value;
      };
      const name = str('name', true);
      const address = str('address', true);
      const serverName = str('server_name', false);
      const timeoutText = str('timeout', false);
      let timeoutMs = DEFAULT_NODE_TIMEOUT_MS;
      if (timeoutText !== undefined) {
        const parsed = parseDuration(timeoutText);
        if (parsed === undefined || parsed <= 0) issue(`${at}.timeout`, 'must be a duration like "10s"');
        else timeoutMs = parsed;
      }
      if (name !== undefined) {
        if (seen.has(name)) issue(`${at}.name`, `duplicate node "${name}"`);
        seen.add(name);
      }
      if (address !== undefined && !/^(\[[0-9a-fA-F:.]+\]|[^:\s/]+):\d{1,5}$/.test(address)) {
        issue(`${at}.address`, 'must be host:port');
      }
      if (name && address) nodes.push({ name, address, serverName, timeoutMs });
    });
  }
  if (values.mcias?.server_url && !/^https:\/\//.test(values.mcias.server_url)) {
    issue('mcias.server_url', 'must be an https:// URL');
  }
  if (issues.length) throw new ConfigError(issues);

  const maybePath = (value: string | undefined) => (value === undefined ? undefined : resolvePath(value));
  return {
    file,
    exists,
    servicesDir: resolvePath(values.services?.dir ?? '~/.config/mcp/services'),
    mcias: {
      serverUrl: values.mcias?.server_url,
      caCert: maybePath(values.mcias?.ca_cert),
      serviceName: values.mcias?.service_name ?? 'mcp',
    },
    auth: { tokenPath: resolvePath(values.auth?.token_path ?? '~/.config/mcp/token') },
    tls: { caCert: maybePath(values.tls?.ca_cert) },
    nodes,
  };
}
