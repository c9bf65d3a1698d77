import * as fs from 'node:fs';
import * as path from 'node:path';

let cached: string | undefined;

/** The version from the project's package.json, found upward from this file (source, dist or bundle). */
export function cliVersion(): string {
  if (cached) return cached;
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'mcp' && pkg.version) return (cached = pkg.version);
    } catch {
      // keep looking upward
    }
    dir = path.dirname(dir);
  }
  return (cached = 'unknown');
}

/**
 * The root of the installed (or checked-out) MCP package this CLI runs from: the directory
 * of the package.json named "mcp" found upward from this file. `mcp node upgrade` bundles it.
 */
export function cliPackageRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'mcp') return dir;
    } catch {
      // keep looking upward
    }
    dir = path.dirname(dir);
  }
  return path.resolve(__dirname, '..');
}
