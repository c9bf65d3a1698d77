import { Injectable } from '@nestjs/common';

/**
 * Tells whoever listens that a service's definition or run state changed (a deploy, a sync,
 * stop, start, undeploy, purge), by name. The jobs scheduler (SPEC §12: jobs deploy, stop and
 * undeploy with their service) re-reads the service from the registry when told; features
 * thereby need not import each other.
 */
@Injectable()
export class ServiceChanges {
  private readonly listeners = new Set<(service: string) => unknown>();

  /**
   * Calls `listener` with the service's name after each change; returns the unsubscribe
   * function. A listener may answer a promise: `changed` waits for it (so a stop answers once
   * its jobs' runs are killed and their schedules gone).
   */
  onChange(listener: (service: string) => unknown): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tells every listener; resolves when each has done with it (never rejects). */
  async changed(service: string): Promise<void> {
    const pending: unknown[] = [];
    for (const listener of this.listeners) {
      try {
        pending.push(listener(service));
      } catch {
        // A listener's failure is its own (it logs); the change itself happened.
      }
    }
    await Promise.allSettled(pending);
  }
}
