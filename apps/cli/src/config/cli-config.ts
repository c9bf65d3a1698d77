import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Check,
  ConfigError,
  isTable,
  ok,
  parseDuration,
  problem,
  SubTable,
  TableList,
  tableList,
  validateTable,
  type FieldRule,
  type RuleProblem,
  type Table,
  type ValidationIssue,
} from '@mcp/common';
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

function text(required: boolean, then: (value: string) => RuleProblem[] = () => ok): FieldRule {
  return (value) => {
    if (value === undefined) return required ? problem('required') : ok;
    if (typeof value !== 'string' || value === '') return problem('must be a non-empty string');
    return then(value);
  };
}

const ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[^:\s/]+):\d{1,5}$/;

/** `[services]` */
class ServicesSection {
  @Check('text', text(false)) dir?: string;
}

/** `[mcias]` */
class MciasSection {
  @Check('text', text(false)) server_url?: string;
  @Check('text', text(false)) ca_cert?: string;
  @Check('text', text(false)) service_name?: string;
}

/** `[auth]` */
class AuthSection {
  @Check('text', text(false)) token_path?: string;
}

/** `[tls]` */
class TlsSection {
  @Check('text', text(false)) ca_cert?: string;
}

/** `[[nodes]]` */
class NodeTable {
  @Check('text', text(true)) name!: string;
  @Check('text', text(true)) address!: string;
  @Check('text', text(false)) server_name?: string;
  @Check('text', text(false)) timeout?: string;
}

/** mcp.toml, one class per table. Checks over several keys (duplicate nodes, env overrides) follow. */
class CliConfigFile {
  @SubTable(() => ServicesSection) services?: ServicesSection;
  @SubTable(() => MciasSection) mcias?: MciasSection;
  @SubTable(() => AuthSection) auth?: AuthSection;
  @SubTable(() => TlsSection) tls?: TlsSection;
  @TableList(() => NodeTable, tableList({ notArray: 'must be an array of tables ([[nodes]])' })) nodes?: NodeTable[];
}

const SECTIONS = new Set(['services', 'mcias', 'auth', 'tls']);

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

  issues.push(...validateTable(CliConfigFile, doc).map((found) => ({ file, ...found })));
  // Only well-typed values from here on: the walk reported the rest.
  const values: Record<string, Record<string, string>> = {};
  for (const [key, value] of Object.entries(doc)) {
    if (!SECTIONS.has(key) || !isTable(value)) continue;
    values[key] = Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  }
  for (const [name, [section, key]] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value) (values[section] ??= {})[key] = value;
  }

  const nodes: NodeConfig[] = [];
  const seen = new Set<string>();
  (Array.isArray(doc.nodes) ? doc.nodes : []).forEach((raw: unknown, index) => {
    if (!isTable(raw)) return;
    const str = (key: string) => {
      const value = raw[key];
      return typeof value === 'string' && value !== '' ? value : undefined;
    };
    const [name, address, serverName, timeout] = [str('name'), str('address'), str('server_name'), str('timeout')];
    if (address !== undefined && !ADDRESS.test(address)) issue(`nodes[${index}].address`, 'must be host:port');
    const timeoutMs = timeout === undefined ? DEFAULT_NODE_TIMEOUT_MS : (parseDuration(timeout) ?? 0);
    if (timeoutMs <= 0) issue(`nodes[${index}].timeout`, 'must be a duration like "10s"');
    if (name !== undefined) {
      if (seen.has(name)) issue(`nodes[${index}].name`, `duplicate node "${name}"`);
      seen.add(name);
    }
    if (name && address) nodes.push({ name, address, serverName, timeoutMs });
  });
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
