import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Temp dirs tests make for agent configs. Under Jest, test/global-setup.ts names a list file
 * in this variable (workers inherit it), each dir made is appended, and
 * test/global-teardown.ts removes them all once every suite is done.
 */
export const MADE_DIRS_ENV = 'MCP_TEST_MADE_DIRS';

export function makeRecordedTempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const list = process.env[MADE_DIRS_ENV];
  if (list) fs.appendFileSync(list, `${dir}\n`);
  return dir;
}

export function removeRecordedTempDirs(): void {
  const list = process.env[MADE_DIRS_ENV];
  if (!list) return;
  const dirs = fs.existsSync(list) ? fs.readFileSync(list, 'utf8').split('\n').filter((line) => line) : [];
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(path.dirname(list), { recursive: true, force: true });
}
