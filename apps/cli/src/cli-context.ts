import type { Readable, Writable } from 'node:stream';

export interface GlobalFlags {
  /** `--config PATH` */
  config?: string;
  /** `--debug`: stack traces on errors. */
  debug: boolean;
  /** `--quiet`: only results and errors. */
  quiet: boolean;
  /** `--no-color` */
  noColor: boolean;
}

export interface CliIo {
  stdin: Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean };
}

/**
 * Everything the CLI takes from its process: argv-level flags, environment and streams.
 * The one place that holds `process.env` (main.ts passes it in; tests pass their own).
 */
export class CliContext {
  /**
   * Set by a command whose exit status is another program's (`mcp exec`, `mcp run`): `mcp`
   * exits with it when the command itself did not fail.
   */
  exitStatus?: number;

  constructor(
    readonly flags: GlobalFlags,
    readonly env: NodeJS.ProcessEnv,
    readonly io: CliIo,
    readonly homeDir: string,
    readonly version: string,
  ) {}

  get stdoutIsTty(): boolean {
    return this.io.stdout.isTTY === true;
  }

  get stderrIsTty(): boolean {
    return this.io.stderr.isTTY === true;
  }

  get stdinIsTty(): boolean {
    return this.io.stdin.isTTY === true;
  }

  /** Colour only on a terminal, never with NO_COLOR (any value) or --no-color. */
  get color(): boolean {
    return this.stdoutIsTty && !this.flags.noColor && this.env.NO_COLOR === undefined;
  }
}

const VALUE_FLAGS = new Set(['--config']);
const BOOLEAN_FLAGS: Record<string, keyof Omit<GlobalFlags, 'config'>> = {
  '--debug': 'debug',
  '--quiet': 'quiet',
  '-q': 'quiet',
  '--no-color': 'noColor',
};

/**
 * Pulls the global flags out of argv wherever they appear (before `--`), so every command
 * accepts them and the rest goes to commander unchanged.
 */
export function extractGlobalFlags(argv: readonly string[]): { flags: GlobalFlags; rest: string[] } {
  const flags: GlobalFlags = { debug: false, quiet: false, noColor: false };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (VALUE_FLAGS.has(name)) {
      if (eq > 0) flags.config = arg.slice(eq + 1);
      else if (i + 1 < argv.length) flags.config = argv[++i];
      else rest.push(arg);
      continue;
    }
    const key = BOOLEAN_FLAGS[arg];
    if (key) {
      flags[key] = true;
      continue;
    }
    rest.push(arg);
  }
  return { flags, rest };
}
