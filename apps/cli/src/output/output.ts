// Deep import: @nestjs/common's index loads every service and pipe (~20 ms of `mcp ps`, bench P2).
import 'reflect-metadata'; // what @nestjs/common's index would have loaded first
import { Injectable } from '@nestjs/common/decorators/core/injectable.decorator';
import { CliContext } from '../cli-context';

export type Style = 'red' | 'green' | 'yellow' | 'bold' | 'dim';
const CODES: Record<Style, [number, number]> = {
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  bold: [1, 22],
  dim: [2, 22],
};

/** A table cell: plain text, or text with a style applied only when colour is on. */
export type Cell = string | { text: string; style?: Style };

/**
 * Everything the CLI prints goes through here: results to stdout, diagnostics to stderr,
 * colour only on a terminal without NO_COLOR, progress only on a terminal, `--quiet` honoured.
 */
@Injectable()
export class Output {
  private progressShown = false;

  constructor(private readonly context: CliContext) {}

  get quiet(): boolean {
    return this.context.flags.quiet;
  }

  /** A result line: always printed. */
  line(text = ''): void {
    this.clearProgress();
    this.context.io.stdout.write(`${text}\n`);
  }

  /** Chatter (what was done): suppressed by --quiet. */
  info(text: string): void {
    if (!this.quiet) this.line(text);
  }

  warn(text: string): void {
    this.clearProgress();
    this.context.io.stderr.write(`${this.paint('warning:', 'yellow')} ${text}\n`);
  }

  error(text: string): void {
    this.clearProgress();
    this.context.io.stderr.write(`${text}\n`);
  }

  json(value: unknown): void {
    this.line(JSON.stringify(value, null, 2));
  }

  paint(text: string, style?: Style): string {
    if (!style || !this.context.color) return text;
    const [open, close] = CODES[style];
    return `\u001b[${open}m${text}\u001b[${close}m`;
  }

  /** Aligned columns; the last column is not padded. */
  table(headers: string[], rows: Cell[][]): void {
    const texts = rows.map((row) => row.map((cell) => (typeof cell === 'string' ? cell : cell.text)));
    const widths = headers.map((header, i) => Math.max(header.length, ...texts.map((row) => (row[i] ?? '').length)));
    const render = (cells: Cell[]) =>
      cells
        .map((cell, i) => {
          const text = typeof cell === 'string' ? cell : cell.text;
          const style = typeof cell === 'string' ? undefined : cell.style;
          const padded = i === cells.length - 1 ? text : text.padEnd(widths[i]);
          return style ? this.paint(text, style) + padded.slice(text.length) : padded;
        })
        .join('  ')
        .trimEnd();
    this.line(render(headers.map((text) => ({ text, style: 'bold' as const }))));
    for (const row of rows) this.line(render(row));
  }

  /** Whether progress() shows anything: stderr is a terminal and no --quiet. */
  get progressOn(): boolean {
    return this.context.stderrIsTty && !this.quiet;
  }

  /** A transient status line on stderr, shown only on a terminal and without --quiet. */
  progress(text: string): void {
    if (!this.progressOn) return;
    this.context.io.stderr.write(`\r\u001b[2K${text}`);
    this.progressShown = true;
  }

  clearProgress(): void {
    if (!this.progressShown) return;
    this.context.io.stderr.write('\r\u001b[2K');
    this.progressShown = false;
  }

  /** Raw bytes (logs, pulled data) to stdout or stderr. */
  write(stream: 'stdout' | 'stderr', data: Buffer | string): void {
    this.context.io[stream].write(data);
  }
}

export function stateStyle(state: string): Style | undefined {
  if (state === 'running' || state === 'healthy') return 'green';
  if (state === 'exited' || state === 'removed' || state === 'dead' || state === 'unreachable' || state === 'unhealthy') return 'red';
  if (state === 'stopped' || state === 'unknown' || state === 'paused' || state === 'created' || state === 'starting') return 'yellow';
  return undefined;
}
