import { promises as fs, constants as fsConstants, statSync } from 'node:fs';
import * as path from 'node:path';
import { FailedPreconditionError, NotFoundError } from '@mcp/common';

/**
 * The CLI's stored bearer token (`[auth] token_path`) and the agent's token files.
 * Upstream hit a rollout bug where a token file written by `echo` carried a trailing newline
 * that was then sent as part of the token; reading always trims.
 */
export async function readTokenFile(filePath: string): Promise<string> {
  let raw: string;
  try {
    raw = await fs.readFile(filePath, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) {
      throw new NotFoundError(`token file ${filePath} does not exist`, { cause: error });
    }
    throw new FailedPreconditionError(`cannot read token file ${filePath}: ${errnoCode(error)}`, {
      cause: error,
    });
  }
  const token = raw.trim();
  if (token === '') {
    throw new FailedPreconditionError(`token file ${filePath} is empty`);
  }
  if (/\s/.test(token)) {
    throw new FailedPreconditionError(`token file ${filePath} holds more than one line or word`);
  }
  return token;
}

/**
 * Writes `token` + newline to `filePath` with mode 0600, creating parent directories (0700).
 * An existing file's mode is tightened too, since `writeFile`'s mode only applies on create.
 */
export async function writeTokenFile(filePath: string, token: string): Promise<void> {
  const trimmed = token.trim();
  if (trimmed === '') throw new FailedPreconditionError('refusing to write an empty token');
  await fs.mkdir(path.dirname(filePath), { recursive: true, mode: 0o700 });
  const handle = await fs.open(filePath, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC, 0o600);
  try {
    await handle.chmod(0o600);
    await handle.writeFile(`${trimmed}\n`, 'utf8');
  } finally {
    await handle.close();
  }
}

/**
 * A warning line when group or others have any access to the file; undefined when it is
 * private (or does not exist, which the reader reports on its own).
 */
export function tokenFileModeWarning(filePath: string): string | undefined {
  try {
    return modeWarning(filePath, statSync(filePath).mode);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw error;
  }
}

/** Shared by the async helper and the static-token adapter (which already has a stat). */
export function modeWarning(filePath: string, mode: number): string | undefined {
  const loose = mode & 0o077;
  if (loose === 0) return undefined;
  const octal = (mode & 0o777).toString(8).padStart(4, '0');
  return `token file ${filePath} has mode ${octal}; it should be 0600 (chmod 600 ${filePath})`;
}

function isErrno(error: unknown, code: string): boolean {
  return errnoCode(error) === code;
}

function errnoCode(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') return error.code;
  return 'unknown error';
}
