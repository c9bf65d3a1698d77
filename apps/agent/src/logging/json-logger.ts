import type { LoggerService, LogLevel } from '@nestjs/common';

export type JsonLogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<JsonLogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Where lines go; stdout by default (journald picks it up under systemd). */
export type LineSink = (line: string) => void;

/**
 * The agent's logger: one JSON object per line, `{"time","level","msg",...fields}`.
 * Implements Nest's LoggerService so framework messages come out in the same format.
 * Callers pass fields explicitly; nothing here knows about tokens or file contents, so the
 * rule "never log them" is kept by never passing them.
 */
export class JsonLogger implements LoggerService {
  constructor(
    private readonly level: JsonLogLevel = 'info',
    private readonly sink: LineSink = (line) => process.stdout.write(line + '\n'),
  ) {}

  /** A structured line with arbitrary fields (used by the audit log). */
  write(level: JsonLogLevel, msg: string, fields: Record<string, unknown> = {}): void {
    if (RANK[level] < RANK[this.level]) return;
    this.sink(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.emit('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.emit('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.emit('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.emit('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.emit('debug', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.emit('error', message, rest);
  }
  setLogLevels(_levels: LogLevel[]): void {
    // The level comes from the agent config; Nest's own level list is not used.
  }

  private emit(level: JsonLogLevel, message: unknown, rest: unknown[]): void {
    // Nest passes (message, context) or (message, stack, context).
    const strings = rest.filter((item): item is string => typeof item === 'string');
    const context = strings.length > 0 ? strings[strings.length - 1] : undefined;
    const stack = strings.length > 1 ? strings[0] : undefined;
    const fields: Record<string, unknown> = {};
    if (context) fields.context = context;
    if (stack) fields.stack = stack;
    if (message instanceof Error) {
      fields.error = message.name;
      if (message.stack) fields.stack = message.stack;
      this.write(level, message.message, fields);
    } else if (typeof message === 'object' && message !== null) {
      this.write(level, typeof (message as { msg?: unknown }).msg === 'string' ? (message as { msg: string }).msg : 'log', {
        ...fields,
        ...(message as Record<string, unknown>),
      });
    } else {
      this.write(level, String(message), fields);
    }
  }
}
