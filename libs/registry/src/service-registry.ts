import type { ComponentSpec, DesiredState, ObservedState, RouteMode } from '@mcp/common';

/**
 * The agent's store of desired and observed state (SPEC §2). The real adapter is
 * TypeormRegistry on SQLite. Methods that write several rows are transactional.
 */

export interface RouteRecord {
  /** Empty string for an unnamed route. */
  name: string;
  /** mc-proxy listener port. */
  port: number;
  mode: RouteMode;
  /** Resolved hostname (defaults already applied). */
  hostname: string;
  /** Allocated host port; null until allocated. */
  hostPort: number | null;
}

export interface ComponentRecord {
  service: string;
  name: string;
  /** The desired spec (routes inside it are as the operator wrote them). */
  spec: ComponentSpec;
  desiredState: DesiredState;
  observedState: ObservedState;
  /** The running image's tag, when known. */
  version: string;
  containerName: string;
  containerId: string;
  /** Hash of the spec the running container was created from; '' when never deployed. */
  deployedSpecHash: string;
  routes: RouteRecord[];
  createdAt: Date;
  updatedAt: Date;
}

/** One component's states, without its spec or routes: what a metrics scrape needs. */
export type ComponentStateRecord = Pick<ComponentRecord, 'service' | 'name' | 'desiredState' | 'observedState' | 'containerName'>;

export interface ServiceRecord {
  name: string;
  active: boolean;
  components: ComponentRecord[];
  createdAt: Date;
  updatedAt: Date;
}

export interface EventRecord {
  id: number;
  time: Date;
  service: string;
  /** '' for service-level events. */
  component: string;
  kind: string;
  message: string;
  fromState: string;
  toState: string;
}

export type NewEvent = Omit<EventRecord, 'id' | 'time' | 'fromState' | 'toState'> & {
  time?: Date;
  fromState?: string;
  toState?: string;
};

export interface SaveServiceInput {
  name: string;
  active: boolean;
  /** Components to insert or update; other existing components are left alone. */
  components: Array<{ spec: ComponentSpec; desiredState: DesiredState }>;
}

export interface ObservedUpdate {
  service: string;
  component: string;
  observedState: ObservedState;
  version?: string;
  containerName?: string;
  containerId?: string;
  deployedSpecHash?: string;
}

/** How a release ended; `in_progress` while its deploy runs (and after a crash in the middle). */
export type ReleaseOutcome = 'in_progress' | 'succeeded' | 'failed' | 'rolled_back';

/** One component's entry of a release (SPEC §8). */
export interface ReleaseRecord {
  service: string;
  /** Increases per service; one deploy that changes several components records one number. */
  number: number;
  component: string;
  spec: ComponentSpec;
  /** The reference as written in the spec. */
  image: string;
  /** The digest podman resolved the reference to; '' when unknown. */
  digest: string;
  deployedAt: Date;
  deployedBy: string;
  outcome: ReleaseOutcome;
  /** The release this one rolled back to; 0 for an ordinary deploy. */
  rollbackOf: number;
  /** Why it failed (or what happened), '' when it succeeded. */
  message: string;
  /** True when this deploy pulled the image: MCP may remove such images later ([agent] keep_releases). */
  pulled?: boolean;
}

export type NewRelease = Omit<ReleaseRecord, 'deployedAt'> & { deployedAt?: Date };

export interface SnapshotResult {
  path: string;
  bytes: number;
}

export abstract class ServiceRegistry {
  abstract saveService(input: SaveServiceInput): Promise<ServiceRecord>;
  abstract getService(name: string): Promise<ServiceRecord | null>;
  abstract listServices(): Promise<ServiceRecord[]>;
  /** Every component's states, by service then component name: one narrow read (no specs, no routes). */
  abstract listComponentStates(): Promise<ComponentStateRecord[]>;
  abstract setServiceActive(name: string, active: boolean): Promise<void>;
  /** Sets desired state of one component, or of every component when `component` is omitted. */
  abstract setDesiredState(input: { service: string; component?: string; state: DesiredState }): Promise<void>;
  abstract recordObserved(update: ObservedUpdate): Promise<void>;
  /** Replaces a component's routes (with their allocated host ports). */
  abstract setRoutes(input: { service: string; component: string; routes: RouteRecord[] }): Promise<void>;
  /** Every allocated host port, across all services. */
  abstract allocatedHostPorts(): Promise<Array<{ hostPort: number; service: string; component: string }>>;
  /** Sets hostPort to null on the routes of a service (or one component). */
  abstract releaseHostPorts(input: { service: string; component?: string }): Promise<void>;
  abstract deleteComponent(input: { service: string; component: string }): Promise<void>;
  /** Removes the service, its components and routes; events are kept (history). */
  abstract deleteService(name: string): Promise<void>;
  abstract addEvent(event: NewEvent): Promise<EventRecord>;
  /**
   * Events recorded after the one with id `afterId` (ids increase with every event), oldest
   * first, at most `limit`: how a follower catches up (`mcp events -f`).
   */
  abstract eventsAfter(query: { afterId: number; service?: string; limit: number }): Promise<EventRecord[]>;
  /** Calls `listener` with every event once it is stored; returns the unsubscribe function. */
  abstract onEventAdded(listener: (event: EventRecord) => void): () => void;
  /** Most recent first. */
  abstract listEvents(query: { service?: string; component?: string; since?: Date; limit?: number }): Promise<EventRecord[]>;
  /** Deletes events older than `before`, then the oldest beyond `keepMax`; returns how many went. */
  abstract pruneEvents(input: { before: Date; keepMax?: number }): Promise<number>;
  /**
   * In one transaction: the component's routes (with host ports) and observed state. A deploy
   * that switches a component to another container commits the switch with this, so after a
   * crash the registry names exactly one container as the one serving.
   */
  abstract recordDeployment(input: ObservedUpdate & { routes: RouteRecord[] }): Promise<void>;
  /** 1 + the highest release number of the service (1 for the first). */
  abstract nextReleaseNumber(service: string): Promise<number>;
  abstract addRelease(release: NewRelease): Promise<ReleaseRecord>;
  abstract setReleaseOutcome(input: { service: string; number: number; component: string; outcome: ReleaseOutcome; message?: string }): Promise<void>;
  /** Newest first (by number, then component). */
  abstract listReleases(query: { service: string; component?: string }): Promise<ReleaseRecord[]>;
  /** A consistent copy of the database at `path`, verified with `PRAGMA integrity_check`. */
  abstract snapshot(input: { path: string }): Promise<SnapshotResult>;
  abstract close(): Promise<void>;
}
