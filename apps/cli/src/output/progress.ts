import type { Output } from './output';

/** `1.5 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** "12.0 MiB / 40.0 MiB  8.1 MiB/s" for the TTY progress line. */
export class Progress {
  private readonly started = Date.now();
  private lastShown = 0;
  constructor(
    private readonly output: Output,
    private readonly label: string,
    private readonly total: number,
  ) {}

  update(done: number): void {
    const now = Date.now();
    if (now - this.lastShown < 100 && done < this.total) return;
    this.lastShown = now;
    const seconds = Math.max((now - this.started) / 1000, 0.001);
    this.output.progress(`${this.label} ${formatBytes(done)} / ${formatBytes(this.total)}  ${formatBytes(done / seconds)}/s`);
  }
}
