import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

/**
 * Runs once before every suite: points podman at the project's sandbox containers.conf
 * (unless the caller chose one) and makes sure the local test images exist.
 */
export default function globalSetup(): void {
  const root = path.resolve(__dirname, '..');
  process.env.CONTAINERS_CONF ??= path.join(root, 'test', 'podman', 'containers.conf');
  execFileSync(path.join(root, 'scripts', 'build-test-image.sh'), { stdio: 'inherit' });
}
