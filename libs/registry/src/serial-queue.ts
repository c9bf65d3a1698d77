/**
 * Runs async tasks one at a time, in call order. better-sqlite3 gives TypeORM a single
 * connection and a single query runner, so two interleaved transactions in one process would
 * share one SQLite transaction; every registry operation goes through this queue instead.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
