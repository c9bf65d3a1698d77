import * as fs from 'node:fs/promises';
import * as path from 'node:path';

/**
 * The installed agent's release layout (SPEC §16), as deploy/mcp-agent-launch makes and reads
 * it — that file's header is the reference; the two must agree:
 *
 *   <install>/releases/<version>-<sha12>/   current -> releases/<name>   previous -> releases/<name>
 *   <install>/boot.json {release, starts, good}   <install>/rollback.json   <install>/output/<release>.log
 *
 * The launcher tells the agent where it is with two environment variables, the only
 * configuration upgrades need (read in one place: `releaseEnvironment`).
 */
export const INSTALL_DIR_ENV = 'MCP_AGENT_INSTALL_DIR';
export const RELEASE_ENV = 'MCP_AGENT_RELEASE';

export interface ReleaseEnvironment {
  installDir: string;
  release: string;
}

/** Where the running agent's release layout is; undefined when not started by the launcher. */
export function releaseEnvironment(env: NodeJS.ProcessEnv): ReleaseEnvironment | undefined {
  const installDir = env[INSTALL_DIR_ENV];
  const release = env[RELEASE_ENV];
  if (!installDir || !release || !path.isAbsolute(installDir)) return undefined;
  return { installDir, release };
}

export interface BootState {
  release: string;
  starts: number;
  good: boolean;
}

export interface RollbackRecord {
  failedRelease: string;
  restoredRelease: string;
  at: string;
  starts: number;
  logTail: string;
}

export class ReleaseLayout {
  constructor(readonly installDir: string) {}

  get releasesDir(): string {
    return path.join(this.installDir, 'releases');
  }

  releaseDir(name: string): string {
    return path.join(this.releasesDir, name);
  }

  /** The release a link (`current`, `previous`) points at, if it is set. */
  async linked(link: 'current' | 'previous'): Promise<string | undefined> {
    try {
      return path.basename(await fs.readlink(path.join(this.installDir, link)));
    } catch {
      return undefined;
    }
  }

  /** Points `link` at a release atomically: a symlink under a temporary name, renamed over it. */
  async point(link: 'current' | 'previous', release: string): Promise<void> {
    const temp = path.join(this.installDir, `.${link}.${process.pid}.tmp`);
    await fs.rm(temp, { force: true });
    await fs.symlink(path.join('releases', release), temp);
    await fs.rename(temp, path.join(this.installDir, link));
    await syncDirectory(this.installDir);
  }

  async unlink(link: 'previous'): Promise<void> {
    await fs.rm(path.join(this.installDir, link), { force: true });
  }

  async bootState(): Promise<BootState | undefined> {
    return readJson<BootState>(path.join(this.installDir, 'boot.json'));
  }

  async lastRollback(): Promise<RollbackRecord | undefined> {
    return readJson<RollbackRecord>(path.join(this.installDir, 'rollback.json'));
  }

  async clearRollback(): Promise<void> {
    await fs.rm(path.join(this.installDir, 'rollback.json'), { force: true });
  }

  /** Marks `release` good in boot.json, if it is the release the launcher last started. */
  async markGood(release: string): Promise<boolean> {
    const state = await this.bootState();
    if (!state || state.release !== release) return false;
    if (state.good) return true;
    await writeJson(path.join(this.installDir, 'boot.json'), { ...state, good: true });
    return true;
  }

  /** Gives the next start of `release` a fresh count (an upgrade or a manual rollback to it). */
  async resetBoot(release: string): Promise<void> {
    await writeJson(path.join(this.installDir, 'boot.json'), { release, starts: 0, good: false });
  }
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

async function writeJson(file: string, value: unknown): Promise<void> {
  const temp = `${path.dirname(file)}/.${path.basename(file)}.${process.pid}.tmp`;
  await fs.writeFile(temp, `${JSON.stringify(value)}\n`, { mode: 0o644 });
  await fs.rename(temp, file);
}

export async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
