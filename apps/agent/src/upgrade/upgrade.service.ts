import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Injectable, Logger } from '@nestjs/common';
import {
  ChecksumMismatchError,
  DiskFullError,
  FailedPreconditionError,
  Failpoints,
  FileTooLargeError,
  InvalidArgumentError,
  releaseName,
} from '@mcp/common';
import { MalformedRequest, malformedRequestError } from '../errors/malformed-request';
import { nextMessage } from '../streaming/stream-call';
import { ReleaseLayout, releaseEnvironment, syncDirectory, type ReleaseEnvironment } from './release-layout';
import { AgentConfig } from '../config/agent-config';
import { unpackBundle, UNPACK_LIMITS } from './unpack';

/** An upgrade's messages: the header first, then chunks of the bundle tarball (UpgradeController reads them off the call). */
export interface UpgradePart {
  header?: { version: string; size: number; sha256: string };
  chunk?: Buffer;
}

/** The messages of one upgrade and the signal that aborts when its client goes away. */
export interface UpgradeInput {
  messages: AsyncIterator<UpgradePart | MalformedRequest>;
  /** Aborts with UpgradeCancelledError (`upgradeCancelled`). */
  signal: AbortSignal;
}

/** The release switched to and the one it replaced. */
export interface ReleaseSwitch {
  release: string;
  previousRelease: string;
}

/** An upgrade's switch, with the version it announced. */
export type UpgradeResult = ReleaseSwitch & { version: string };

/** Limits and margins of one upgrade. */
export const UPGRADE_LIMITS = {
  /** Bytes of the bundle tarball itself. */
  bundleBytes: 256 * 1024 * 1024,
  /**
   * Free bytes needed under releases/ before anything is received: the tarball, what it
   * unpacks to (taken as 6 times the tarball: the bundle's JavaScript compresses about 4:1)
   * and a reserve so that the node's other users of that disk are not squeezed out.
   */
  unpackFactor: 6,
  reserveBytes: 64 * 1024 * 1024,
  /** Releases kept on disk: current, previous and this many more, newest first. */
  keepReleases: 3,
} as const;

const VERSION = /^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]{1,64})?$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Temporary entries of releases/ that a killed upgrade may leave; removed by the next one. */
const TEMP_PREFIXES = ['.incoming-', '.partial-'];

/** The client went away in the middle of the upload: nothing was switched. */
export class UpgradeCancelledError extends Error {
  constructor() {
    super('cancelled by the client');
    this.name = UpgradeCancelledError.name;
  }
}

/** The cancelled error of an upgrade's signal (UpgradeController's cancelSignal). */
export const upgradeCancelled = (): Error => new UpgradeCancelledError();

/** Reads the free bytes of the filesystem holding `dir` (a port, so tests can make a disk "full"). */
export abstract class DiskSpace {
  abstract free(dir: string): Promise<number>;
}

export class StatfsDiskSpace extends DiskSpace {
  async free(dir: string): Promise<number> {
    const stats = await fs.statfs(dir);
    return stats.bavail * stats.bsize;
  }
}

/**
 * How the agent leaves after an upgrade or a rollback has been answered: SIGTERM to itself,
 * the normal graceful shutdown; the supervisor (systemd Restart=always) starts the launcher
 * again, which starts `current`. A port, so an in-process test agent does not end the test run.
 */
export abstract class AgentExit {
  abstract exitSoon(reason: string): void;
}

/** After the answer has gone out: grpc-js sends it on the next turns of the event loop. */
const EXIT_DELAY_MS = 250;

export class SignalAgentExit extends AgentExit {
  private readonly logger = new Logger('AgentExit');

  exitSoon(reason: string): void {
    this.logger.log(`exiting for the supervisor to start the new release: ${reason}`);
    setTimeout(() => process.kill(process.pid, 'SIGTERM'), EXIT_DELAY_MS).unref();
  }
}

/**
 * UpgradeAgent and RollbackAgent (SPEC §16, docs/self-management.md). An upgrade receives the
 * bundle into a temporary file beside the releases, checks its size and SHA-256, unpacks it
 * into a temporary directory (unpack.ts: limits, no path escapes), checks that it is an agent
 * of the announced version, renames it to `releases/<version>-<sha12>`, and only then points
 * `previous` at the running release and `current` at the new one (each a rename: atomic).
 * A failure or a kill at any step before the last rename leaves `current` as it was.
 */
@Injectable()
export class UpgradeService {
  private readonly logger = new Logger(UpgradeService.name);
  private busy = false;

  constructor(
    private readonly failpoints: Failpoints,
    private readonly disk: DiskSpace,
    private readonly exit: AgentExit,
    private readonly config: AgentConfig,
  ) {}

  /** The layout this agent runs from; refused when it was not started by mcp-agent-launch. */
  private running(): { env: ReleaseEnvironment; layout: ReleaseLayout } {
    const env = releaseEnvironment(this.config.env);
    if (!env) {
      throw new FailedPreconditionError(
        'this agent was not started by mcp-agent-launch (no release layout): install it with deploy/install.sh, then upgrade (docs/self-management.md)',
      );
    }
    return { env, layout: new ReleaseLayout(env.installDir) };
  }

  async upgrade(input: UpgradeInput): Promise<UpgradeResult> {
    const { env, layout } = this.running();
    if (this.busy) throw new FailedPreconditionError('an upgrade or rollback of this agent is already in progress');
    this.busy = true;
    let done = false;
    try {
      const response = await this.receiveAndSwitch(input, env, layout);
      done = true;
      return response;
    } finally {
      // After a switch the agent exits; until it does, nothing else may switch.
      if (!done) this.busy = false;
    }
  }

  /** Called once the answer is sent. */
  exitAfterSwitch(release: string): void {
    this.exit.exitSoon(`current is now ${release}`);
  }

  private async receiveAndSwitch({ messages, signal }: UpgradeInput, env: ReleaseEnvironment, layout: ReleaseLayout): Promise<UpgradeResult> {
    const first = await nextMessage(messages, signal, upgradeCancelled);
    if (first instanceof MalformedRequest) throw malformedRequestError(first.reason);
    const header = first?.header;
    if (!header) throw new InvalidArgumentError('the first message of an upgrade must be its header (version, size, sha256)');
    if (!VERSION.test(header.version)) throw new InvalidArgumentError(`version "${header.version}" is not a release version like 1.2.3`);
    const declared = Number(header.size);
    if (!Number.isSafeInteger(declared) || declared <= 0) throw new InvalidArgumentError('size must be the bundle\'s size in bytes, more than 0');
    if (declared > UPGRADE_LIMITS.bundleBytes) throw new FileTooLargeError(`bundle of ${declared} bytes exceeds the limit of ${UPGRADE_LIMITS.bundleBytes} bytes`);
    const expectedSha = header.sha256.toLowerCase();
    if (!SHA256_HEX.test(expectedSha)) throw new InvalidArgumentError('sha256 must be 64 hex digits');

    await fs.mkdir(layout.releasesDir, { recursive: true, mode: 0o755 });
    await this.removeLeftovers(layout);
    const needed = declared + Math.min(declared * UPGRADE_LIMITS.unpackFactor, UNPACK_LIMITS.totalBytes) + UPGRADE_LIMITS.reserveBytes;
    const free = await this.disk.free(layout.releasesDir);
    if (free < needed) {
      throw new DiskFullError(`not enough free space under ${layout.releasesDir}: ${free} bytes free, the upgrade needs ${needed}; nothing was switched`);
    }

    const token = randomBytes(6).toString('hex');
    const incoming = path.join(layout.releasesDir, `.incoming-${token}.tar.gz`);
    const partial = path.join(layout.releasesDir, `.partial-${token}`);
    try {
      const sha256 = await receive({ messages, signal, file: incoming, declared });
      if (sha256 !== expectedSha) {
        throw new ChecksumMismatchError(`SHA-256 of the received bundle (${sha256}) does not match the header's (${expectedSha}): nothing was switched`);
      }
      const name = releaseName(header.version, sha256);
      if (name === env.release) throw new FailedPreconditionError(`release ${name} is already the one running`);
      const target = layout.releaseDir(name);
      if (await exists(target)) {
        // Unpacked by an earlier upgrade (renamed into place only when complete): check it again.
        await checkRelease(target, header.version);
      } else {
        await unpackBundle({ file: incoming, dir: partial });
        await checkRelease(partial, header.version);
        await checkSameDependencies({ bundle: partial, running: layout.releaseDir(env.release) });
        await fs.rename(partial, target);
        await syncDirectory(layout.releasesDir);
      }
      await fs.rm(incoming, { force: true });
      if (signal.aborted) throw new UpgradeCancelledError();
      await this.failpoints.hit('upgrade.before-switch');
      // A retried release gets a fresh record: an old rollback of it is not this upgrade's.
      const rollback = await layout.lastRollback();
      if (rollback?.failedRelease === name) await layout.clearRollback();
      await layout.point('previous', env.release);
      await layout.point('current', name);
      this.logger.log(`upgrade: current is now ${name} (was ${env.release})`);
      await this.prune(layout, [name, env.release]);
      return { release: name, previousRelease: env.release, version: header.version };
    } catch (error) {
      await fs.rm(incoming, { force: true });
      await fs.rm(partial, { recursive: true, force: true });
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') {
        throw new DiskFullError(`no space left under ${layout.releasesDir} receiving the bundle: nothing was switched`, { cause: error });
      }
      throw error;
    }
  }

  async rollback(): Promise<ReleaseSwitch> {
    const { env, layout } = this.running();
    if (this.busy) throw new FailedPreconditionError('an upgrade or rollback of this agent is already in progress');
    const previous = await layout.linked('previous');
    if (!previous || previous === env.release) throw new FailedPreconditionError('there is no previous release to go back to');
    if (!(await exists(path.join(layout.releaseDir(previous), 'bin', 'mcp-agent.js')))) {
      throw new FailedPreconditionError(`the previous release ${previous} is no longer installed`);
    }
    this.busy = true;
    await layout.point('previous', env.release);
    await layout.point('current', previous);
    this.logger.log(`rollback: current is now ${previous} (was ${env.release})`);
    return { release: previous, previousRelease: env.release };
  }

  private async removeLeftovers(layout: ReleaseLayout): Promise<void> {
    for (const entry of await fs.readdir(layout.releasesDir)) {
      if (TEMP_PREFIXES.some((prefix) => entry.startsWith(prefix))) {
        await fs.rm(path.join(layout.releasesDir, entry), { recursive: true, force: true });
      }
    }
  }

  /** Removes releases beyond `keep` and the newest UPGRADE_LIMITS.keepReleases others. */
  private async prune(layout: ReleaseLayout, keep: string[]): Promise<void> {
    try {
      const entries = (await fs.readdir(layout.releasesDir)).filter((e) => !e.startsWith('.') && !keep.includes(e));
      const dated = await Promise.all(entries.map(async (e) => ({ e, mtime: (await fs.stat(layout.releaseDir(e))).mtimeMs })));
      dated.sort((a, b) => b.mtime - a.mtime);
      for (const { e } of dated.slice(UPGRADE_LIMITS.keepReleases)) await fs.rm(layout.releaseDir(e), { recursive: true, force: true });
    } catch (error) {
      this.logger.warn(`could not prune old releases: ${(error as Error).message}`);
    }
  }
}

/** An unpacked bundle is an agent of `version`: MCP's package.json with it, and the programs. */
export async function checkRelease(dir: string, version: string): Promise<void> {
  let pkg: { name?: unknown; version?: unknown };
  try {
    pkg = JSON.parse(await fs.readFile(path.join(dir, 'package.json'), 'utf8')) as typeof pkg;
  } catch {
    throw new InvalidArgumentError('the bundle has no readable package.json: not an agent bundle');
  }
  if (pkg.name !== 'mcp') throw new InvalidArgumentError(`the bundle's package.json is not MCP's (name "${String(pkg.name)}")`);
  if (pkg.version !== version) throw new InvalidArgumentError(`the bundle's package.json says version ${String(pkg.version)}, the upgrade announced ${version}`);
  for (const file of ['bin/mcp-agent.js', 'dist/mcp-agent.js']) {
    const stat = await fs.lstat(path.join(dir, file)).catch(() => undefined);
    if (!stat?.isFile()) throw new InvalidArgumentError(`the bundle has no ${file}: not an agent bundle`);
  }
}

/**
 * Releases share `<install>/node_modules`, installed for the running release's
 * dependencies: a bundle that needs other ones cannot run on them (install.sh brings them).
 */
export async function checkSameDependencies(input: { bundle: string; running: string }): Promise<void> {
  const dependencies = async (dir: string): Promise<string | undefined> => {
    try {
      const pkg = JSON.parse(await fs.readFile(path.join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
      return JSON.stringify(Object.entries(pkg.dependencies ?? {}).sort(([a], [b]) => a.localeCompare(b)));
    } catch {
      return undefined;
    }
  };
  const running = await dependencies(input.running);
  if (running === undefined) return;
  const bundle = await dependencies(input.bundle);
  if (bundle !== running) {
    throw new FailedPreconditionError(
      "the bundle's package.json dependencies differ from the running release's, whose node_modules all releases share: install this build with deploy/install.sh instead",
    );
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.lstat(file).then(
    () => true,
    () => false,
  );
}

/** Writes the chunks to `file` (created new, 0600), hashing them; answers the hex SHA-256. */
async function receive(input: { messages: UpgradeInput['messages']; signal: AbortSignal; file: string; declared: number }): Promise<string> {
  const out = await fs.open(input.file, 'wx', 0o600);
  try {
    const hash = createHash('sha256');
    let size = 0;
    for (;;) {
      const message = await nextMessage(input.messages, input.signal, upgradeCancelled);
      if (!message) break;
      if (message instanceof MalformedRequest) throw malformedRequestError(message.reason);
      if (message.header) throw new InvalidArgumentError('an upgrade carries exactly one header');
      const chunk = message.chunk;
      if (!chunk || chunk.length === 0) continue;
      size += chunk.length;
      if (size > input.declared) throw new InvalidArgumentError(`more bytes arrived than the declared size of ${input.declared}`);
      hash.update(chunk);
      await out.write(chunk);
    }
    if (size !== input.declared) throw new InvalidArgumentError(`received ${size} bytes, the header declared ${input.declared}`);
    await out.sync();
    return hash.digest('hex');
  } finally {
    await out.close();
  }
}
