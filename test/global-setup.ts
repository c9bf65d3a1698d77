import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { staleDistReason } from './support/dist-freshness';
import { MADE_DIRS_ENV } from './support/made-dirs';

/**
 * Runs once before every suite: points podman at the project's sandbox containers.conf
 * (unless the caller chose one), makes sure the local test images exist, and rebuilds dist/
 * when it is missing or older than the sources, since e2e suites run the bundles.
 */
export default function globalSetup(): void {
  const root = path.resolve(__dirname, '..');
  process.env.CONTAINERS_CONF ??= path.join(root, 'test', 'podman', 'containers.conf');
  // makeTestConfig lists its temp dirs here; global-teardown.ts removes them (workers inherit the env).
  process.env[MADE_DIRS_ENV] = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-test-run-')), 'made-dirs');
  execFileSync(path.join(root, 'scripts', 'build-test-image.sh'), { stdio: 'inherit' });
  const stale = staleDistReason(root);
  if (stale) {
    process.stdout.write(`\ntest setup: ${stale}: running npm run build\n`);
    execFileSync(process.execPath, [path.join(root, 'scripts', 'build.js')], { cwd: root, stdio: 'inherit' });
  }
}
