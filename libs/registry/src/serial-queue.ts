/**
 * Runs async tasks one at a time, in call order.
 *
 * Every registry operation goes through the queue of its database file, shared by all
 * TypeormRegistry instances of this process on that file, for two reasons: better-sqlite3
 * gives TypeORM one connection and one query runner, so interleaved transactions of one
 * instance would share one SQLite transaction; and better-sqlite3 is synchronous, so when a
 * second connection of the same process waits for a lock (busy_timeout) it blocks the very
 * thread that would release that lock. Other processes need no queue: SQLite's locks and
 * busy_timeout serialise them.
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

const shared = new Map<string, { queue: SerialQueue; users: number }>();

/** The queue for `key` (a resolved database path); call releaseSharedQueue once per acquire. */
export function acquireSharedQueue(key: string): SerialQueue {
  let entry = shared.get(key);
  if (!entry) {
    entry = { queue: new SerialQueue(), users: 0 };
    shared.set(key, entry);
  }
  entry.users++;
  return entry.queue;
}

export function releaseSharedQueue(key: string): void {
  const entry = shared.get(key);
  if (!entry) return;
  entry.users--;
  if (entry.users <= 0) shared.delete(key);
}
