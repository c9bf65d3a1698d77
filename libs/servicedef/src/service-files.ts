import { readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { InvalidServiceDefinitionError, NotFoundError, ServiceSpec, ValidationIssue } from '@mcp/common';
import { parseServiceDefinition } from './service-definition';

/** By `code`, not `instanceof Error`: fs errors can come from another realm (jest's sandbox). */
function isMissing(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || !('code' in error)) return false;
  return error.code === 'ENOENT' || error.code === 'ENOTDIR';
}

/**
 * Reads and validates one definition file. Issues name the file by `file` as given.
 * A missing file is a NotFoundError.
 */
export async function loadServiceFile(file: string): Promise<ServiceSpec> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error: unknown) {
    if (isMissing(error)) throw new NotFoundError(`service definition ${file} not found`);
    throw error;
  }
  return parseServiceDefinition(text, file);
}

/**
 * Reads every `*.toml` file in `dir` (sorted by file name) and returns their specs in that
 * order. Problems from all files are collected and thrown as one InvalidServiceDefinitionError,
 * including a file whose `name` differs from its base name and a service defined twice.
 * A missing directory is a NotFoundError; an empty one gives `[]`.
 */
export async function loadServiceDir(dir: string): Promise<ServiceSpec[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error: unknown) {
    if (isMissing(error)) throw new NotFoundError(`services directory ${dir} not found`);
    throw error;
  }
  const files: string[] = [];
  for (const entry of entries.filter((name) => name.endsWith('.toml')).sort()) {
    const file = path.join(dir, entry);
    // stat follows symlinks, so a linked definition counts; folders named *.toml do not.
    if ((await stat(file)).isFile()) files.push(file);
  }

  const specs: ServiceSpec[] = [];
  const issues: ValidationIssue[] = [];
  const definedIn = new Map<string, string>();
  for (const file of files) {
    let spec: ServiceSpec;
    try {
      spec = await loadServiceFile(file);
    } catch (error: unknown) {
      if (!(error instanceof InvalidServiceDefinitionError)) throw error;
      issues.push(...error.issues);
      continue;
    }
    const expected = path.basename(file, '.toml');
    if (spec.name !== expected) {
      issues.push({ file, path: 'name', reason: `"${spec.name}" does not match the file name (expected "${expected}")` });
    }
    const first = definedIn.get(spec.name);
    if (first !== undefined) {
      issues.push({ file, path: 'name', reason: `service "${spec.name}" is also defined in ${first}` });
    } else {
      definedIn.set(spec.name, file);
    }
    specs.push(spec);
  }
  if (issues.length > 0) throw new InvalidServiceDefinitionError(issues);
  return specs;
}
