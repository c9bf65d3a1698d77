import { spawn, type ChildProcess } from 'node:child_process';

/**
 * A stand-in for systemd's `Restart=always` (this machine's PID 1 is not systemd): runs one
 * command, and whenever it exits, for any reason and with any status, starts it again after
 * `restartMs` (systemd's RestartSec), until `stop()`. `stop()` is `systemctl stop` with
 * KillMode=process: SIGTERM to the main process only (the launcher passes it on).
 */
export class TestSupervisor {
  /** Starts so far, and how each run ended. */
  starts = 0;
  readonly exits: Array<{ code: number | null; signal: NodeJS.Signals | null }> = [];
  private child: ChildProcess | undefined;
  private stopping = false;
  private output = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly input: { command: string; args: string[]; env: NodeJS.ProcessEnv; restartMs: number },
  ) {}

  start(): void {
    this.stopping = false;
    this.spawnOnce();
  }

  /** Everything every run wrote (stdout and stderr), in order. */
  logs(): string {
    return this.output;
  }

  /** The pid of the running main process (the launcher), if one runs. */
  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  }

  private spawnOnce(): void {
    this.starts += 1;
    const child = spawn(this.input.command, this.input.args, { env: this.input.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.once('exit', (code, signal) => {
      this.exits.push({ code, signal });
      if (this.stopping) return;
      this.timer = setTimeout(() => this.spawnOnce(), this.input.restartMs);
    });
  }
}
