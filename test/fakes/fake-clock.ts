import { Clock } from '@mcp/common';

/** A Clock that moves only when the test says so. Starts at 2026-01-01T00:00:00Z. */
export class FakeClock extends Clock {
  private current: number;

  constructor(start: Date = new Date('2026-01-01T00:00:00Z')) {
    super();
    this.current = start.getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  advance(ms: number): void {
    if (ms < 0) throw new Error('FakeClock.advance: time does not go backwards; use set()');
    this.current += ms;
  }

  set(date: Date): void {
    this.current = date.getTime();
  }
}
