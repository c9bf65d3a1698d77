import * as fs from 'node:fs';
import * as path from 'node:path';

/** What the e2e suites and the binary tests run: tsc's output bundled by `npm run build`. */
const BUNDLES = ['mcp-agent.js', 'mcp.js'];
const SOURCE_ROOTS = ['apps', 'libs', 'proto'];

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'testing') newest = Math.max(newest, newestSource(full));
    } else if (!entry.name.endsWith('.spec.ts')) {
      newest = Math.max(newest, fs.statSync(full).mtimeMs);
    }
  }
  return newest;
}

/**
 * Why dist/ cannot be trusted, or undefined when it is current: a bundle missing, or older
 * than a source file (a stale bundle silently tests old code).
 */
export function staleDistReason(root: string): string | undefined {
  const bundles = BUNDLES.map((name) => path.join(root, 'dist', name));
  const missing = bundles.find((file) => !fs.existsSync(file));
  if (missing) return `${path.relative(root, missing)} is missing`;
  const built = Math.min(...bundles.map((file) => fs.statSync(file).mtimeMs));
  const newest = Math.max(...SOURCE_ROOTS.map((dir) => newestSource(path.join(root, dir))));
  return newest > built ? 'dist/ is older than the sources' : undefined;
}
