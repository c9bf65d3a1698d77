import { Injectable } from '@nestjs/common';

/**
 * Tells whoever listens that a service's definition or run state changed (a deploy, a sync,
 * stop, start, undeploy, purge), by name. The jobs scheduler (SPEC §12: jobs deploy, stop and
 * undeploy with their service) re-reads the service from the registry when told; features
 * thereby need not import each other.
 */
@Injectable()
export class ServiceChanges {
  private readonly listeners = new Set<(service: string) => void>();

  /** Calls `listener` with the service's name after each change; returns the unsubscribe function. */
  onChange(listener: (service: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed(service: string): void {
    for (const listener of this.listeners) {
      try {
        listener(service);
      } catch {
        // A listener's failure is its own (it logs); the change itself happened.
      }
    }
  }
}
