import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { FailedPreconditionError, NotFoundError } from '@mcp/common';

/** `podman secret inspect` / `GET /secrets/{name}/json`, as far as reading a value needs it. */
export interface PodmanSecretInspect {
  ID: string;
  Spec?: { Name?: string; Driver?: { Name?: string; Options?: Record<string, string> } };
}

/**
 * A secret's value (SPEC §15 `mcp move --copy-secrets`). podman 4.3 cannot print a value
 * (`--showsecret` came with 4.5), so this reads it the way podman's own `file` driver does:
 * `secretsdata.json` in the driver's `path` option holds each secret's value, base64, by ID.
 * That directory is this user's own podman store (mode 0700); other drivers are refused.
 */
export async function readSecretValue(entry: PodmanSecretInspect): Promise<Buffer> {
  const name = entry.Spec?.Name ?? entry.ID;
  const driver = entry.Spec?.Driver?.Name ?? '';
  const dir = entry.Spec?.Driver?.Options?.path ?? '';
  if (driver !== 'file' || !path.isAbsolute(dir)) {
    throw new FailedPreconditionError(`secret ${name} uses podman's "${driver || 'unknown'}" driver, whose values the agent cannot read: set it on the other node with mcp secret set`);
  }
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(await fs.readFile(path.join(dir, 'secretsdata.json'), 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new FailedPreconditionError(`secret ${name}: podman's file driver data cannot be read (${(error as NodeJS.ErrnoException).code ?? 'not JSON'})`);
  }
  const value = data[entry.ID];
  if (typeof value !== 'string') throw new NotFoundError(`secret ${name} has no value in podman's file driver data`);
  return Buffer.from(value, 'base64');
}
