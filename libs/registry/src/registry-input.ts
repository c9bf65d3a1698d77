import { InvalidArgumentError, type ValidationIssue, ValidationError } from '@mcp/common';
import type { EventRecord, NewEvent, RouteRecord, SaveServiceInput } from './service-registry';

/*
 * Checks on what callers hand the registry, shared by every ServiceRegistry implementation so
 * they reject the same inputs. Full spec validation belongs to libs/servicedef; these only
 * guard the registry's own invariants.
 */

export function checkSaveServiceInput(input: SaveServiceInput): void {
  const issues: ValidationIssue[] = [];
  if (!input.name) issues.push({ path: 'name', reason: 'must not be empty' });
  const seen = new Set<string>();
  input.components.forEach(({ spec }, index) => {
    if (!spec.name) issues.push({ path: `components[${index}].name`, reason: 'must not be empty' });
    else if (seen.has(spec.name)) issues.push({ path: `components[${index}].name`, reason: `duplicate component "${spec.name}"` });
    seen.add(spec.name);
  });
  if (issues.length > 0) throw new ValidationError(issues);
}

export function checkRoutes(routes: RouteRecord[]): void {
  const issues: ValidationIssue[] = [];
  const hostPorts = new Set<number>();
  routes.forEach((route, index) => {
    if (!Number.isInteger(route.port) || route.port < 1 || route.port > 65535) {
      issues.push({ path: `routes[${index}].port`, reason: 'must be 1-65535' });
    }
    if (route.hostPort !== null) {
      if (!Number.isInteger(route.hostPort) || route.hostPort < 1 || route.hostPort > 65535) {
        issues.push({ path: `routes[${index}].hostPort`, reason: 'must be 1-65535 or null' });
      } else if (hostPorts.has(route.hostPort)) {
        issues.push({ path: `routes[${index}].hostPort`, reason: `host port ${route.hostPort} used twice` });
      }
      hostPorts.add(route.hostPort);
    }
  });
  if (issues.length > 0) throw new ValidationError(issues);
}

export function checkPruneEventsInput(input: { before: Date; keepMax?: number }): void {
  if (Number.isNaN(input.before.getTime())) throw new InvalidArgumentError('pruneEvents: "before" is not a valid date');
  if (input.keepMax !== undefined && (!Number.isInteger(input.keepMax) || input.keepMax < 0)) {
    throw new InvalidArgumentError(`pruneEvents: keepMax must be a whole number >= 0, got ${input.keepMax}`);
  }
}

export function checkListEventsQuery(query: { since?: Date; limit?: number }): void {
  if (query.since !== undefined && Number.isNaN(query.since.getTime())) {
    throw new InvalidArgumentError('listEvents: "since" is not a valid date');
  }
  if (query.limit !== undefined && (!Number.isInteger(query.limit) || query.limit < 0)) {
    throw new InvalidArgumentError(`listEvents: limit must be a whole number >= 0, got ${query.limit}`);
  }
}

export function checkEventsAfterQuery(query: { afterId: number; limit: number }): void {
  if (!Number.isInteger(query.afterId) || query.afterId < 0) {
    throw new InvalidArgumentError(`eventsAfter: afterId must be a whole number >= 0, got ${query.afterId}`);
  }
  if (!Number.isInteger(query.limit) || query.limit < 1) {
    throw new InvalidArgumentError(`eventsAfter: limit must be a whole number >= 1, got ${query.limit}`);
  }
}

/** The listeners of `onEventAdded`; one failing listener never stops the others or the write. */
export class EventListeners {
  private readonly listeners = new Set<(event: EventRecord) => void>();

  add(listener: (event: EventRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(event: EventRecord): void {
    for (const listener of this.listeners) {
      try {
        listener({ ...event, time: new Date(event.time.getTime()) });
      } catch {
        // a listener's own failure is its business
      }
    }
  }
}

export function checkNewEvent(event: NewEvent): void {
  if (event.time !== undefined && Number.isNaN(event.time.getTime())) {
    throw new InvalidArgumentError('addEvent: "time" is not a valid date');
  }
}
