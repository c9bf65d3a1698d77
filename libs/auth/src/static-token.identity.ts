import { promises as fs, constants as fsConstants } from 'node:fs';
import * as path from 'node:path';
import type { LoggerService } from '@nestjs/common';
import { parse, stringify } from 'smol-toml';
import { Clock, ConfigError, IdentityUnavailableError, SystemClock, ValidationIssue } from '@mcp/common';
import { Caller, IdentityClient, TokenValidation } from './identity-client';
import { hashesEqual, hashToken } from './token-hash';
import { modeWarning } from './token-file';

/**
 * The tokens file of `[auth] mode = "static"`:
 *
 *   [[tokens]]
 *   sha256 = "<hex SHA-256 of the token>"
 *   username = "ops"
 *   roles = ["admin"]
 *   expires_at = 2027-01-01T00:00:00Z   # optional (TOML datetime or RFC 3339 string)
 *
 * Only hashes are stored, so the file leaks no usable token.
 */
export interface StaticTokenEntry {
  sha256: string;
  username: string;
  roles: string[];
  expiresAt?: Date;
}

/** For writeTokensFile: give the plain `token` (hashed before writing) or its `sha256`. */
export type StaticTokenInput = { username: string; roles: string[]; expiresAt?: Date } & (
  | { token: string; sha256?: never }
  | { sha256: string; token?: never }
);

export interface StaticTokenIdentityOptions {
  tokensFile: string;
  clock?: Clock;
  /** Where warnings go (loose file mode); Nest's Logger by default. */
  warn?: (message: string) => void;
}

/**
 * Nest's Logger, loaded on first use: the `mcp` CLI loads this lib for its token-file helpers,
 * and Nest's logger module (console logger and every core decorator) cost each `mcp ps` about
 * 20 ms (bench P2, issue #20).
 */
function nestLogger(): LoggerService {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Logger } = require('@nestjs/common/services/logger.service') as typeof import('@nestjs/common/services/logger.service');
  return Logger;
}

interface Snapshot {
  /** mtime (ns), size and inode: any change means the file was rewritten or replaced. */
  version: string;
  entries: StaticTokenEntry[];
}

/**
 * IdentityClient backed by a file of SHA-256 token hashes. The file is re-read whenever its
 * mtime, size or inode changes, so rotating a token is "rewrite the file", no restart.
 * A file that is missing or invalid fails closed (IdentityUnavailableError) rather than
 * falling back to the previous contents, since a rewrite is how tokens are revoked.
 */
export class StaticTokenIdentity extends IdentityClient {
  private snapshot?: Snapshot;
  private readonly clock: Clock;
  private readonly warn: (message: string) => void;

  constructor(private readonly options: StaticTokenIdentityOptions) {
    super();
    this.clock = options.clock ?? new SystemClock();
    this.warn = options.warn ?? ((message) => nestLogger().warn(message, StaticTokenIdentity.name));
  }

  /** Reads the file now; throws ConfigError for an invalid file (fail fast at start-up). */
  async load(): Promise<StaticTokenEntry[]> {
    const snapshot = await this.current();
    return snapshot.entries;
  }

  override async validate(token: string): Promise<TokenValidation> {
    let snapshot: Snapshot;
    try {
      snapshot = await this.current();
    } catch (error) {
      throw new IdentityUnavailableError(
        `static tokens file ${this.options.tokensFile} is unusable: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    const presented = hashToken(token);
    // Compare against every entry so timing does not reveal which one matched.
    let match: StaticTokenEntry | undefined;
    for (const entry of snapshot.entries) {
      if (hashesEqual(presented, entry.sha256) && !match) match = entry;
    }
    if (!match) return { valid: false, reason: 'unknown token' };
    if (match.expiresAt && match.expiresAt.getTime() <= this.clock.now().getTime()) {
      return { valid: false, reason: 'token expired' };
    }
    const caller: Caller = { subject: match.username, username: match.username, roles: [...match.roles] };
    if (match.expiresAt) caller.expiresAt = match.expiresAt;
    return { valid: true, caller };
  }

  private async current(): Promise<Snapshot> {
    const file = this.options.tokensFile;
    const stat = await fs.stat(file, { bigint: true });
    const version = `${stat.mtimeNs}:${stat.size}:${stat.ino}`;
    if (this.snapshot?.version === version) return this.snapshot;
    const warning = modeWarning(file, Number(stat.mode));
    if (warning) this.warn(warning);
    const entries = parseTokensFile(file, await fs.readFile(file, 'utf8'));
    this.snapshot = { version, entries };
    return this.snapshot;
  }
}

/** Parses and validates a tokens file, reporting every problem at once (ConfigError). */
export function parseTokensFile(file: string, text: string): StaticTokenEntry[] {
  let document: Record<string, unknown>;
  try {
    document = parse(text);
  } catch (error) {
    throw new ConfigError([{ file, path: '', reason: `not valid TOML: ${firstLine(error)}` }]);
  }
  const issues: ValidationIssue[] = [];
  const entries: StaticTokenEntry[] = [];
  const tokens = document.tokens ?? [];
  if (!Array.isArray(tokens)) {
    throw new ConfigError([{ file, path: 'tokens', reason: 'must be an array of tables ([[tokens]])' }]);
  }
  const seen = new Set<string>();
  tokens.forEach((raw: unknown, index) => {
    const at = `tokens[${index}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      issues.push({ file, path: at, reason: 'must be a table' });
      return;
    }
    const item = raw as Record<string, unknown>;
    const before = issues.length;
    const sha256 = item.sha256;
    if (typeof sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(sha256)) {
      issues.push({ file, path: `${at}.sha256`, reason: 'must be 64 hex digits (SHA-256 of the token)' });
    } else if (seen.has(sha256.toLowerCase())) {
      issues.push({ file, path: `${at}.sha256`, reason: 'duplicate token hash' });
    }
    if (typeof item.username !== 'string' || item.username.trim() === '') {
      issues.push({ file, path: `${at}.username`, reason: 'must be a non-empty string' });
    }
    const roles = item.roles;
    if (!Array.isArray(roles) || !roles.every((role) => typeof role === 'string' && role !== '')) {
      issues.push({ file, path: `${at}.roles`, reason: 'must be an array of role names' });
    }
    let expiresAt: Date | undefined;
    if (item.expires_at !== undefined) {
      const value = item.expires_at;
      expiresAt = value instanceof Date ? new Date(value.getTime()) : typeof value === 'string' ? new Date(value) : undefined;
      if (!expiresAt || Number.isNaN(expiresAt.getTime())) {
        issues.push({ file, path: `${at}.expires_at`, reason: 'must be a date-time (e.g. 2027-01-01T00:00:00Z)' });
      }
    }
    for (const key of Object.keys(item)) {
      if (!['sha256', 'username', 'roles', 'expires_at'].includes(key)) {
        issues.push({ file, path: `${at}.${key}`, reason: 'unknown key' });
      }
    }
    if (issues.length > before) return;
    seen.add((sha256 as string).toLowerCase());
    const entry: StaticTokenEntry = {
      sha256: (sha256 as string).toLowerCase(),
      username: item.username as string,
      roles: [...(roles as string[])],
    };
    if (expiresAt) entry.expiresAt = expiresAt;
    entries.push(entry);
  });
  for (const key of Object.keys(document)) {
    if (key !== 'tokens') issues.push({ file, path: key, reason: 'unknown key' });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return entries;
}

/**
 * Writes a tokens file (mode 0600, atomically via rename so a reader never sees half a file).
 * Plain tokens are hashed here; only hashes reach the disk. Used by the quick start.
 */
export async function writeTokensFile(filePath: string, tokens: StaticTokenInput[]): Promise<void> {
  const document = {
    tokens: tokens.map((input) => {
      const entry: Record<string, unknown> = {
        sha256: input.token !== undefined ? hashToken(input.token) : input.sha256.toLowerCase(),
        username: input.username,
        roles: [...input.roles],
      };
      if (input.expiresAt) entry.expires_at = input.expiresAt;
      return entry;
    }),
  };
  // Validate what we are about to write with the same rules the reader applies.
  const text = `# mcp-agent static tokens: SHA-256 hashes only (SPEC §6)\n${stringify(document)}\n`;
  parseTokensFile(filePath, text);
  await fs.mkdir(path.dirname(filePath), { recursive: true, mode: 0o700 });
  const temp = `${filePath}.${process.pid}.${Date.now()}.tmp`;
  const handle = await fs.open(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(temp, filePath);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}
