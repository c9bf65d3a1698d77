import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Injectable } from '@nestjs/common';
import { InvalidArgumentError } from '@mcp/common';
import {
  BackupDiskFullError,
  BackupFailedError,
  BackupRepository,
  BackupRepositoryUnavailableError,
  type BackupProgress,
  type BackupSummary,
  type RetentionPolicy,
  type SnapshotInfo,
} from './backup-repository';
import { ResticConfig } from './restic-config';

const STDERR_LIMIT = 8192;
/**
 * ssh's own bounds for an `sftp:` repository: a host that does not answer, or a server that
 * accepts and never speaks, fails the call after SSH_CONNECT_TIMEOUT_S (connect and the
 * protocol handshake); one that stops answering mid-session after about 3 × the alive interval.
 * BatchMode: never a password prompt nobody can answer.
 */
export const SSH_CONNECT_TIMEOUT_S = 10;
const SSH_BOUNDS = ['-o', 'BatchMode=yes', '-o', `ConnectTimeout=${SSH_CONNECT_TIMEOUT_S}`, '-o', 'ServerAliveInterval=10', '-o', 'ServerAliveCountMax=3'];
/** Variables that would make restic read another password or repository than ours. */
const RESTIC_ENV = /^RESTIC_/;

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `BackupRepository` on the restic binary. Every call is an argv array; the password reaches
 * restic only as `--password-file <path>` (the path, never the value), and restic's own
 * `RESTIC_*` variables are removed from its environment so nothing else overrides them.
 * Answers are read from `--json` output (backup status and summary lines, snapshots, stats,
 * forget, ls); `init`, `prune`, `restore` and `check` have no JSON in restic 0.14, so for
 * them only the exit status and restic's `Fatal:` line count.
 */
@Injectable()
export class ResticRepository extends BackupRepository {
  private ready = false;

  constructor(private readonly config: ResticConfig) {
    super();
  }

  async ensureReady(): Promise<void> {
    if (this.ready) {
      // A local repository that vanished after first use (unmounted, moved) is never
      // initialised again in its place: that would hide the real one. A stat, not a restic run.
      const local = localPath(this.config.repository);
      if (local !== undefined && !fs.existsSync(path.join(local, 'config'))) {
        throw new BackupRepositoryUnavailableError(`backup repository ${this.config.repository}: unreachable: it was there and is gone (not mounted?); nothing was changed`);
      }
      return;
    }
    await this.ensurePasswordFile();
    const probe = await this.run(['cat', 'config', '--json']);
    if (probe.code !== 0) {
      if (!/unable to open config file|is there a repository/i.test(probe.stderr)) throw this.failure('open', probe);
      const local = localPath(this.config.repository);
      if (local !== undefined && !fs.existsSync(path.dirname(local))) {
        throw new BackupRepositoryUnavailableError(`backup repository ${this.config.repository}: its directory ${path.dirname(local)} does not exist (not mounted?)`);
      }
      const init = await this.run(['init', '--json']);
      if (init.code !== 0) throw this.failure('init', init);
    }
    this.ready = true;
  }

  async backup(input: { paths: string[]; tags: string[]; onProgress?: (progress: BackupProgress) => void }): Promise<BackupSummary> {
    await this.ensureReady();
    const args = ['backup', '--json', '--host', this.config.host, ...input.tags.flatMap((tag) => ['--tag', tag]), '--', ...input.paths];
    let summary: BackupSummary | undefined;
    const errors: string[] = [];
    const result = await this.run(args, {
      env: { RESTIC_PROGRESS_FPS: '2' },
      onLine: (line) => {
        const message = parseLine(line);
        if (!message) return;
        if (message.message_type === 'status' && input.onProgress) input.onProgress(toProgress(message));
        else if (message.message_type === 'summary') summary = toSummary(message);
        else if (message.message_type === 'error') errors.push(errorText(message));
      },
    });
    if (result.code !== 0 || !summary) {
      if (result.code === 3 && errors.length) throw new BackupFailedError(`restic backup: some files could not be read: ${errors[0]}`);
      throw this.failure('backup', result, errors[0]);
    }
    return summary;
  }

  async snapshots(input: { tags: string[] }): Promise<SnapshotInfo[]> {
    await this.ensureReady();
    const args = ['snapshots', '--json', ...(input.tags.length ? ['--tag', input.tags.join(',')] : [])];
    const list = this.json<RawSnapshot[] | null>('snapshots', await this.run(args)) ?? [];
    return list.map(toSnapshot).sort((a, b) => a.time.getTime() - b.time.getTime());
  }

  async stats(input: { snapshotId: string }): Promise<{ files: number; bytes: number }> {
    await this.ensureReady();
    const raw = this.json<{ total_size?: number; total_file_count?: number }>('stats', await this.run(['stats', '--json', '--', snapshotArg(input.snapshotId)]));
    return { files: raw.total_file_count ?? 0, bytes: raw.total_size ?? 0 };
  }

  async forget(input: { tags: string[]; policy: RetentionPolicy }): Promise<string[]> {
    await this.ensureReady();
    const keep: string[] = [];
    if (input.policy.keepLast !== undefined) keep.push('--keep-last', String(input.policy.keepLast));
    if (input.policy.keepDaily !== undefined) keep.push('--keep-daily', String(input.policy.keepDaily));
    if (input.policy.keepWeekly !== undefined) keep.push('--keep-weekly', String(input.policy.keepWeekly));
    if (keep.length === 0 || input.tags.length === 0) return [];
    const args = ['forget', '--json', '--group-by', 'host', '--tag', input.tags.join(','), ...keep];
    const groups = this.json<Array<{ remove?: RawSnapshot[] | null }> | null>('forget', await this.run(args)) ?? [];
    const removed = groups.flatMap((group) => (group.remove ?? []).map((snapshot) => snapshot.id));
    if (removed.length > 0) {
      const prune = await this.run(['prune']);
      if (prune.code !== 0) throw this.failure('prune', prune);
    }
    return removed;
  }

  async restore(input: { snapshotId: string; include: string; target: string }): Promise<void> {
    await this.ensureReady();
    const result = await this.run(['restore', '--target', input.target, '--include', input.include, '--', snapshotArg(input.snapshotId)]);
    if (result.code !== 0) throw this.failure('restore', result);
  }

  async check(): Promise<void> {
    await this.ensureReady();
    const result = await this.run(['check']);
    if (result.code !== 0) throw this.failure('check', result);
  }

  async list(input: { snapshotId: string }): Promise<string[]> {
    await this.ensureReady();
    const paths: string[] = [];
    const result = await this.run(['ls', '--json', '--', snapshotArg(input.snapshotId)], {
      onLine: (line) => {
        const entry = parseLine(line);
        if (entry?.struct_type === 'node' && typeof entry.path === 'string') paths.push(entry.path);
      },
    });
    if (result.code !== 0) throw this.failure('ls', result);
    return paths;
  }

  /** Creates the password file (random, 0600) on first use; refuses one that others can read. */
  private async ensurePasswordFile(): Promise<void> {
    const file = this.config.passwordFile;
    let stat: fs.Stats;
    try {
      stat = await fs.promises.stat(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new BackupFailedError(`backup password_file ${file}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`);
      await fs.promises.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      try {
        const handle = await fs.promises.open(file, 'wx', 0o600);
        try {
          await handle.writeFile(`${randomBytes(32).toString('base64url')}\n`);
          await handle.sync();
        } finally {
          await handle.close();
        }
      } catch (created) {
        if ((created as NodeJS.ErrnoException).code !== 'EEXIST') throw new BackupFailedError(`backup password_file ${file}: cannot create it: ${(created as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      return;
    }
    if (!stat.isFile()) throw new BackupFailedError(`backup password_file ${file}: not a regular file`);
    if ((stat.mode & 0o077) !== 0) {
      throw new BackupFailedError(`backup password_file ${file}: mode ${(stat.mode & 0o777).toString(8)} lets others read it; chmod 600 it`);
    }
    if (stat.size === 0) throw new BackupFailedError(`backup password_file ${file}: empty`);
  }

  private json<T>(verb: string, result: RunResult): T {
    if (result.code !== 0) throw this.failure(verb, result);
    try {
      return JSON.parse(result.stdout) as T;
    } catch {
      throw new BackupFailedError(`restic ${verb}: answered with something that is not JSON`);
    }
  }

  /** One line naming what went wrong; never restic's whole stderr, never the password. */
  private failure(verb: string, result: RunResult, said?: string): Error {
    const fatal = fatalLine(result.stderr) ?? said ?? `exit code ${result.code ?? 'unknown'}`;
    const where = `backup repository ${this.config.repository}`;
    // ssh says why it could not reach the server (refused, timed out); restic only that the session ended.
    const ssh = /^(?:subprocess ssh: )?(?:ssh: )?((?:connect to host|Connection timed out|Connection to \S+ port \d+ timed out|Could not resolve hostname|Permission denied|Host key verification failed).*)$/m.exec(result.stderr)?.[1];
    if (ssh && /unable to start the sftp session|sftp/i.test(fatal)) return new BackupRepositoryUnavailableError(`${where}: unreachable: ssh: ${ssh.trim()}`);
    if (/wrong password|no key found/i.test(fatal)) return new BackupFailedError(`${where}: wrong password (password_file ${this.config.passwordFile})`);
    if (/no space left on device|disk quota exceeded/i.test(result.stderr + fatal)) return new BackupDiskFullError(`${where}: no space left on device (restic ${verb}); the snapshots already there are kept`);
    if (/unable to open config file|is there a repository|connection refused|no route to host|network is unreachable|i\/o timeout|ssh: |dial tcp|no such host|unable to start the sftp session/i.test(fatal + result.stderr)) {
      return new BackupRepositoryUnavailableError(`${where}: unreachable: ${fatal}`);
    }
    if (/unable to create lock|repository is already locked/i.test(fatal)) return new BackupFailedError(`${where}: locked by another restic process: ${fatal}`);
    return new BackupFailedError(`restic ${verb}: ${fatal}`);
  }

  private async run(args: string[], options: { onLine?: (line: string) => void; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
    if (!this.config.repository.startsWith('sftp:')) return this.spawnRestic(args, options);
    // ssh's own reason (refused, timed out) goes to a log file of this run: restic passes
    // ssh's stderr on only sometimes before it gives up ("unable to start the sftp session, EOF").
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-ssh-'));
    const log = path.join(dir, 'ssh.log');
    try {
      const result = await this.spawnRestic(args, options, log);
      const said = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(-STDERR_LIMIT) : '';
      return said ? { ...result, stderr: `${result.stderr}\n${said}` } : result;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  private spawnRestic(args: string[], options: { onLine?: (line: string) => void; env?: NodeJS.ProcessEnv }, sshLog?: string): Promise<RunResult> {
    const sftp = sftpCommand(this.config.repository, this.config.sshOptions, sshLog);
    const argv = ['--repo', this.config.repository, '--password-file', this.config.passwordFile, '--cache-dir', this.config.cacheDir, ...(sftp ? ['-o', `sftp.command=${sftp}`] : []), ...args];
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(this.config.env).filter(([key]) => !RESTIC_ENV.test(key)));
    Object.assign(env, options.env);
    return new Promise((resolve, reject) => {
      const child = spawn(this.config.resticPath, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let pending = '';
      let stderr = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        if (!options.onLine) {
          stdout += chunk;
          return;
        }
        pending += chunk;
        let newline = pending.indexOf('\n');
        while (newline >= 0) {
          options.onLine(pending.slice(0, newline));
          pending = pending.slice(newline + 1);
          newline = pending.indexOf('\n');
        }
      });
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        stderr = (stderr + chunk).slice(-STDERR_LIMIT);
      });
      child.once('error', (error: NodeJS.ErrnoException) => {
        reject(new BackupRepositoryUnavailableError(`restic cannot run (${this.config.resticPath}: ${error.code ?? error.message}); install the restic package`));
      });
      child.once('close', (code) => {
        if (options.onLine && pending) options.onLine(pending);
        resolve({ code, stdout, stderr });
      });
    });
  }
}

interface RawSnapshot {
  id: string;
  short_id?: string;
  time: string;
  hostname?: string;
  paths?: string[] | null;
  tags?: string[] | null;
}

type JsonLine = Record<string, unknown>;

function parseLine(line: string): JsonLine | undefined {
  const text = line.trim();
  if (!text.startsWith('{')) return undefined;
  try {
    return JSON.parse(text) as JsonLine;
  } catch {
    return undefined;
  }
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function toProgress(line: JsonLine): BackupProgress {
  return {
    percentDone: num(line.percent_done),
    totalFiles: num(line.total_files),
    filesDone: num(line.files_done),
    totalBytes: num(line.total_bytes),
    bytesDone: num(line.bytes_done),
    secondsElapsed: num(line.seconds_elapsed),
  };
}

function toSummary(line: JsonLine): BackupSummary {
  return {
    snapshotId: typeof line.snapshot_id === 'string' ? line.snapshot_id : '',
    filesNew: num(line.files_new),
    filesChanged: num(line.files_changed),
    filesUnmodified: num(line.files_unmodified),
    totalFiles: num(line.total_files_processed),
    totalBytes: num(line.total_bytes_processed),
    dataAdded: num(line.data_added),
    durationSeconds: num(line.total_duration),
  };
}

function errorText(line: JsonLine): string {
  const error = line.error as { message?: string } | undefined;
  const where = typeof line.item === 'string' ? `${line.item}: ` : '';
  return `${where}${error?.message ?? 'error'}`;
}

function toSnapshot(raw: RawSnapshot): SnapshotInfo {
  return {
    id: raw.id,
    shortId: raw.short_id ?? raw.id.slice(0, 8),
    time: new Date(raw.time),
    hostname: raw.hostname ?? '',
    paths: raw.paths ?? [],
    tags: raw.tags ?? [],
  };
}

/** restic's `Fatal: …` line (the reason it gave up), without the prefix. */
function fatalLine(stderr: string): string | undefined {
  const lines = stderr.split('\n').map((line) => line.trim()).filter(Boolean);
  const fatal = lines.find((line) => line.startsWith('Fatal:'));
  if (fatal) return fatal.slice('Fatal:'.length).trim();
  return lines.at(-1);
}

/** A snapshot id from a caller: hex only, so it can never be read as a flag or a path. */
function snapshotArg(id: string): string {
  if (!/^[0-9a-f]{4,64}$/.test(id)) throw new InvalidArgumentError(`"${id}" is not a snapshot id (hex, as \`mcp backups\` lists them)`);
  return id;
}

/**
 * restic's `sftp.command` for an `sftp:` repository: ssh with the agent's bounds, the
 * operator's options, the port and `[user@]host` of the repository, and the sftp subsystem;
 * with `logFile`, ssh's messages go there (`-E`) instead of its stderr.
 * restic splits it at blanks (the config refuses blanks inside an option). Undefined for
 * other backends.
 */
export function sftpCommand(repository: string, options: string[], logFile?: string): string | undefined {
  if (!repository.startsWith('sftp:')) return undefined;
  let target: string;
  let port: string | undefined;
  if (repository.startsWith('sftp://')) {
    const url = new URL(repository);
    target = `${url.username ? `${decodeURIComponent(url.username)}@` : ''}${url.hostname.replace(/^\[|\]$/g, '')}`;
    port = url.port || undefined;
  } else {
    // sftp:[user@]host:/path, the host possibly in brackets (IPv6).
    const rest = repository.slice('sftp:'.length);
    const match = /^((?:[^@/:]+@)?(?:\[[^\]]+\]|[^:/]+)):/.exec(rest);
    if (!match) throw new InvalidArgumentError(`backup repository ${repository}: not sftp:[user@]host:/path nor sftp://[user@]host[:port]//path`);
    target = match[1].replace(/\[([^\]]+)\]/, '$1');
  }
  return ['ssh', ...SSH_BOUNDS, ...(logFile ? ['-E', logFile] : []), ...options, ...(port ? ['-p', port] : []), target, '-s', 'sftp'].join(' ');
}

/** The directory of a local repository (`/path` or `local:/path`); undefined for remote backends. */
export function localPath(repository: string): string | undefined {
  if (repository.startsWith('local:')) return repository.slice('local:'.length);
  if (path.isAbsolute(repository)) return repository;
  return undefined;
}
