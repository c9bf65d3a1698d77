import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { RuntimeUnavailableError } from '@mcp/common';

export interface PodmanServiceOptions {
  /** The podman binary; default `podman` from PATH. */
  podmanPath?: string;
  /**
   * The agent's environment (from its config loader): the service inherits it (so
   * XDG_RUNTIME_DIR, CONTAINERS_CONF apply) and the default sockets follow its XDG_RUNTIME_DIR.
   * Required: only config loading reads the process environment.
   */
  env: NodeJS.ProcessEnv;
  /**
   * The socket to use: if something answers `/_ping` there it is used as is; otherwise a
   * supervised `podman system service` is started on it. Default: the first of
   * `existingSockets` that answers, else a private socket in a new temporary folder.
   */
  socketPath?: string;
  /** Sockets tried before starting a service when no socketPath is given; default `defaultPodmanSockets(env)`. */
  existingSockets?: string[];
  /** Whether a service may be started at all; default true. */
  startService?: boolean;
  /** How long a started service may take to answer `/_ping`; default 15 s. */
  startTimeoutMs?: number;
  /** First delay before restarting a service that died; doubles per quick death up to 30 s. Default 500 ms. */
  restartDelayMs?: number;
}

/** podman's own API sockets: the rootless user's, then the system one (root). */
export function defaultPodmanSockets(env: NodeJS.ProcessEnv): string[] {
  const sockets: string[] = [];
  if (env.XDG_RUNTIME_DIR) sockets.push(path.join(env.XDG_RUNTIME_DIR, 'podman', 'podman.sock'));
  if (process.getuid?.() === 0) sockets.push('/run/podman/podman.sock');
  return sockets;
}

/** Whether an HTTP server on the Unix socket answers libpod's `GET /_ping` with OK within `timeoutMs`. */
export function pingPodmanSocket(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get({ socketPath, path: '/_ping', agent: false, timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve(response.statusCode === 200 && body.trim() === 'OK'));
      response.on('error', () => resolve(false));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

const PING_INTERVAL_MS = 50;
const STOP_GRACE_MS = 5000;
const MAX_RESTART_DELAY_MS = 30_000;
/** A service that lived this long before dying gets the first restart delay again. */
const HEALTHY_LIFETIME_MS = 60_000;
const STDERR_TAIL = 2048;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Provides podman's REST API socket: an existing one that answers, or a supervised
 * `podman system service --time=0 unix://PATH` (argv, no shell) that is restarted when it
 * dies and stopped on module destroy. A private socket lives in a new 0700 temporary folder,
 * removed on stop. A service this process started dies with `stop()`, not with a SIGKILL of
 * this process: a later start on the same socketPath then finds it answering and reuses it.
 */
export class PodmanService implements OnApplicationShutdown {
  private readonly logger = new Logger(PodmanService.name);
  private readonly podmanPath: string;
  private readonly startTimeoutMs: number;
  private readonly restartDelayMs: number;
  private child: ChildProcess | undefined;
  private stderrTail = '';
  private socket: string | undefined;
  private privateDir: string | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private nextRestartDelayMs: number;
  private startedAt = 0;
  private restarts = 0;

  constructor(private readonly options: PodmanServiceOptions) {
    this.podmanPath = options.podmanPath ?? 'podman';
    this.startTimeoutMs = options.startTimeoutMs ?? 15_000;
    this.restartDelayMs = options.restartDelayMs ?? 500;
    this.nextRestartDelayMs = this.restartDelayMs;
  }

  /** The socket in use once `start` resolved. */
  get socketPath(): string | undefined {
    return this.socket;
  }

  /** Whether this process runs the service (rather than using one that was there). */
  get supervised(): boolean {
    return this.child !== undefined;
  }

  /** The service process's pid, while one runs. */
  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  /** How many times a dead service was restarted. */
  get restartCount(): number {
    return this.restarts;
  }

  /**
   * Resolves to a socket that answers `/_ping`; RuntimeUnavailableError when none answers
   * and a service cannot be started (or may not be).
   */
  async start(): Promise<string> {
    if (this.socket) return this.socket;
    this.stopping = false;
    const candidates = this.options.socketPath
      ? [this.options.socketPath]
      : (this.options.existingSockets ?? defaultPodmanSockets(this.options.env));
    for (const candidate of candidates) {
      if (await pingPodmanSocket(candidate)) {
        this.socket = candidate;
        return candidate;
      }
    }
    if (this.options.startService === false) {
      throw new RuntimeUnavailableError(
        `container runtime unavailable: no podman API socket answers (${candidates.join(', ') || 'none given'})`,
      );
    }
    const socket = this.options.socketPath ?? this.makePrivateSocketPath();
    try {
      await this.spawnService(socket);
    } catch (error) {
      this.removePrivateDir();
      throw error;
    }
    this.socket = socket;
    return socket;
  }

  /** Stops a service this process started (SIGTERM, then SIGKILL after 5 s); an existing one is left alone. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    this.child = undefined;
    this.socket = undefined;
    this.removePrivateDir();
  }

  /**
   * At application shutdown, not module destroy: Nest destroys modules before it closes the
   * gRPC server, and in-flight RPCs (a deploy finishing on SIGTERM) still need podman.
   */
  async onApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  private makePrivateSocketPath(): string {
    this.privateDir = mkdtempSync(path.join(tmpdir(), 'mcp-podman-'));
    return path.join(this.privateDir, 'podman.sock');
  }

  private removePrivateDir(): void {
    if (this.privateDir) rmSync(this.privateDir, { recursive: true, force: true });
    this.privateDir = undefined;
  }

  private async spawnService(socket: string): Promise<void> {
    mkdirSync(path.dirname(socket), { recursive: true, mode: 0o700 });
    removeStaleSocket(socket);
    // The service's stderr goes to a file beside the socket, not a pipe to this process, and
    // it runs in its own process group: if the agent dies hard (SIGKILL, a crash), a pipe
    // would kill podman with SIGPIPE at its next log line, and a terminal's Ctrl-C would hit
    // both. The next agent start finds the service answering and reuses it.
    const logFile = `${socket}.log`;
    const logFd = openSync(logFile, 'a', 0o600);
    let child: ChildProcess;
    try {
      child = spawn(this.podmanPath, ['system', 'service', '--time=0', `unix://${socket}`], {
        env: this.options.env,
        stdio: ['ignore', 'ignore', logFd],
        detached: true,
      });
    } finally {
      closeSync(logFd);
    }
    this.child = child;
    this.startedAt = Date.now();
    this.stderrTail = '';
    const readTail = () => {
      try {
        this.stderrTail = readFileSync(logFile, 'utf8').slice(-STDERR_TAIL);
      } catch {
        this.stderrTail = '';
      }
    };
    let spawnError: NodeJS.ErrnoException | undefined;
    child.on('error', (error: NodeJS.ErrnoException) => {
      spawnError = error;
    });
    child.on('exit', (code, signal) => this.onExit(child, socket, code, signal));
    const deadline = Date.now() + this.startTimeoutMs;
    for (;;) {
      if (spawnError) {
        throw new RuntimeUnavailableError(
          `container runtime unavailable: ${this.podmanPath}: ${spawnError.code === 'ENOENT' ? 'not found' : (spawnError.code ?? spawnError.message)}`,
          { cause: spawnError },
        );
      }
      if (child.exitCode !== null || child.signalCode !== null) {
        readTail();
        throw new RuntimeUnavailableError(
          `podman system service on ${socket} exited (${child.exitCode ?? child.signalCode}) before answering: ${this.stderrTail.trim().split('\n').at(-1) ?? ''}`,
        );
      }
      if (await pingPodmanSocket(socket, 500)) return;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new RuntimeUnavailableError(
          `podman system service on ${socket}: no answer to /_ping within ${this.startTimeoutMs} ms`,
        );
      }
      await pause(PING_INTERVAL_MS);
    }
  }

  private onExit(child: ChildProcess, socket: string, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopping || this.child !== child || this.socket !== socket) return;
    this.logger.warn(`podman system service on ${socket} died (${code ?? signal}); restarting it`);
    this.scheduleRestart(socket);
  }

  private scheduleRestart(socket: string): void {
    if (this.stopping || this.restartTimer) return;
    if (Date.now() - this.startedAt >= HEALTHY_LIFETIME_MS) this.nextRestartDelayMs = this.restartDelayMs;
    const delay = this.nextRestartDelayMs;
    this.nextRestartDelayMs = Math.min(delay * 2, MAX_RESTART_DELAY_MS);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.restarts++;
      this.spawnService(socket).then(
        () => this.logger.log(`podman system service on ${socket} is back (restart ${this.restarts})`),
        (error: unknown) => {
          this.logger.error(`podman system service on ${socket} did not come back: ${String(error)}`);
          this.scheduleRestart(socket);
        },
      );
    }, delay);
    this.restartTimer.unref();
  }
}

/** podman will not listen on a path that exists; one nobody answers on is left over from a dead service. */
function removeStaleSocket(socket: string): void {
  try {
    if (lstatSync(socket).isSocket()) unlinkSync(socket);
  } catch {
    // not there: nothing to remove
  }
}
