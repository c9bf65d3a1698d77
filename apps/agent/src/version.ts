import * as fs from 'node:fs';
import * as path from 'node:path';

/** The agent's version, from the nearest package.json above this file (source, dist or bundle). */
function readVersion(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'mcp' && pkg.version) return pkg.version;
    }
    dir = path.dirname(dir);
  }
  return '0.0.0';
}

export const AGENT_VERSION = readVersion();
