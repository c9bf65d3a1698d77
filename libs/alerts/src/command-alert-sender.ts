import { spawn } from 'node:child_process';
import { Logger } from '@nestjs/common';
import { type Alert, AlertSender, alertEnvironment } from './alert-sender';

export interface CommandAlertSenderOptions {
  /** argv; run without a shell. */
  command: string[];
  /** The command (and everything it started) is killed after this long. */
  timeoutMs: number;
  /** The environment the MCP_ALERT_* variables are added to (the agent's own). */
  baseEnv: NodeJS.ProcessEnv;
}

/** Most of an alert command's stderr kept, for the log line of a failure. */
const MAX_STDERR_CHARS = 2000;

/**
 * Runs the configured `alert_command` once per alert with the details in MCP_ALERT_*
 * variables. The command runs in its own process group so a timeout kills whatever it
 * started too (a hung `curl` in a script must not keep the monitor waiting).
 */
export class CommandAlertSender extends AlertSender {
  private readonly logger = new Logger(CommandAlertSender.name);

  constructor(private readonly options: CommandAlertSenderOptions) {
    super();
  }

  send(alert: Alert): Promise<void> {
    const [file, ...args] = this.options.command;
    if (!file) return Promise.resolve();
    const what = `${alert.kind} ${alert.service}/${alert.component}`;
    return new Promise<void>((resolve) => {
      let timedOut = false;
      let stderr = '';
      // spawn, not execFile: execFile drops `detached`, and the command needs its own
      // process group so a timeout can kill what it started as well. argv only, no shell.
      const child = spawn(file, args, {
        env: { ...this.options.baseEnv, ...alertEnvironment(alert) },
        detached: true,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (data: string) => {
        if (stderr.length < MAX_STDERR_CHARS) stderr += data.slice(0, MAX_STDERR_CHARS - stderr.length);
      });
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup(child.pid);
      }, this.options.timeoutMs);
      const finish = (problem?: string): void => {
        clearTimeout(timer);
        if (problem) this.logger.warn(`alert command ${problem} (${what})`);
        resolve();
      };
      child.once('error', (error) => finish(`could not run: ${error.message}`));
      // 'exit', not 'close': a child the command left running may hold stderr open.
      child.once('exit', (code, signal) => {
        if (timedOut) return finish(`timed out after ${this.options.timeoutMs} ms and was killed`);
        if (code !== 0) return finish(`failed with ${signal ? `signal ${signal}` : `exit code ${code}`}${stderr ? `: ${stderr.trim()}` : ''}`);
        finish();
      });
    });
  }
}

function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** The sender used when no alert command is configured: alerts go to the log only. */
export class LogAlertSender extends AlertSender {
  private readonly logger = new Logger('Alert');

  async send(alert: Alert): Promise<void> {
    this.logger.warn(`${alert.kind}: ${alert.service}/${alert.component}: ${alert.message}`);
  }
}
