import type { BackupPolicy, ComponentSpec, JobSpec, DesiredState, ObservedState, RouteMode } from '@mcp/common';

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
  /** The `[backup]` policy of the last deploy (SPEC §14); absent without one. */
  backup?: BackupPolicy;
  /** The `[[jobs]]` of the last deploy (SPEC §12); absent without any. */
  jobs?: JobSpec[];
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
  /** The `[backup]` policy: null removes it; undefined leaves the stored one alone. */
  backup?: BackupPolicy | null;
  /** The `[[jobs]]`: null removes them; undefined leaves the stored ones alone. */
  jobs?: JobSpec[] | null;
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

/** A cordoned node (SPEC §15): who cordoned it and when. */
export interface CordonRecord {
  by: string;
  at: Date;
}

/** One backup run of a service's data (SPEC §14). */
export interface BackupRunRecord {
  id: number;
  service: string;
  startedAt: Date;
  finishedAt: Date;
  ok: boolean;
  /** '' when it failed before restic made a snapshot. */
  snapshotId: string;
  files: number;
  bytes: number;
  durationMs: number;
  /** How long the service's containers were paused or stopped for it (0 in live mode). */
  pausedMs: number;
  /** Why it failed; '' when it succeeded. */
  message: string;
}

export type NewBackupRun = Omit<BackupRunRecord, 'id'>;

/**
 * How a job run ended (`running` while it goes). `interrupted`: the agent stopped (or was
 * killed) or the `mcp jobs run` caller went away; `stopped`: its service (or the job's
 * component) was stopped or undeployed while it ran (SPEC §12: jobs stop with their service).
 */
export type JobRunResult = 'running' | 'succeeded' | 'failed' | 'timed_out' | 'skipped' | 'interrupted' | 'stopped';

/** One run of a job (SPEC §12): scheduled, started by hand, a catch-up, or skipped. */
export interface JobRunRecord {
  id: number;
  service: string;
  job: string;
  /** `schedule`, `manual` (`mcp jobs run`) or `catch_up`. */
  trigger: string;
  startedAt: Date;
  /** null while it runs. */
  finishedAt: Date | null;
  result: JobRunResult;
  /** null while it runs, when skipped, interrupted or stopped, or the container never started. */
  exitCode: number | null;
  durationMs: number;
  /** The one-off container's name ('' when none was started). */
  container: string;
  /** Why it failed or was skipped; '' when it succeeded. */
  message: string;
  /** The end of its output (at most JOB_OUTPUT_KEPT bytes; stdout and stderr interleaved). */
  output: string;
}

export type NewJobRun = Pick<JobRunRecord, 'service' | 'job' | 'trigger' | 'startedAt' | 'result' | 'container' | 'message'> & Partial<Pick<JobRunRecord, 'finishedAt' | 'exitCode' | 'durationMs' | 'output'>>;

export type JobRunEnd = Pick<JobRunRecord, 'id' | 'finishedAt' | 'result' | 'exitCode' | 'durationMs' | 'message' | 'output'> & { container?: string };

/** Job runs kept per job (SPEC §12: the newest 50). */
export const JOB_RUNS_KEPT = 50;
/** Bytes of a job run's output kept (its end). */
export const JOB_OUTPUT_KEPT = 64 * 1024;

/**
 * A backup operation in flight, recorded before it changes anything so that a crash can be
 * finished or undone at the next start: `paused`/`stopped` name the containers to unpause or
 * start again; `restore` carries the restore's step and its directories.
 */
export interface BackupIntentRecord {
  service: string;
  kind: 'paused' | 'stopped' | 'restore';
  detail: Record<string, unknown>;
  createdAt: Date;
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
  /** The node's cordon, null when it is not cordoned. */
  abstract getCordon(): Promise<CordonRecord | null>;
  /** Cordons the node (a record) or uncordons it (null); returns whether that changed anything. */
  abstract setCordon(cordon: CordonRecord | null): Promise<boolean>;
  /** A consistent copy of the database at `path`, verified with `PRAGMA integrity_check`. */
  /** Appends a backup run and keeps the newest 50 per service; with `event`, adds it in the same transaction (one commit per backup). */
  abstract recordBackupRun(run: NewBackupRun, event?: NewEvent): Promise<BackupRunRecord>;
  /** Newest first; every service when `service` is absent. */
  abstract listBackupRuns(query: { service?: string; limit?: number }): Promise<BackupRunRecord[]>;
  /** Writes (or replaces) the service's intent; durable when it resolves. */
  abstract setBackupIntent(intent: Omit<BackupIntentRecord, 'createdAt'>): Promise<void>;
  abstract clearBackupIntent(service: string): Promise<void>;
  abstract listBackupIntents(): Promise<BackupIntentRecord[]>;
  /** Appends a job run (SPEC §12) and keeps the newest JOB_RUNS_KEPT per job. */
  abstract addJobRun(run: NewJobRun): Promise<JobRunRecord>;
  abstract finishJobRun(end: JobRunEnd): Promise<void>;
  /** Newest first. */
  abstract listJobRuns(query: { service: string; job?: string; limit?: number }): Promise<JobRunRecord[]>;
  /** Marks every run still `running` (its agent process died) `interrupted`; answers them. */
  abstract interruptRunningJobRuns(now: Date): Promise<JobRunRecord[]>;
  abstract snapshot(input: { path: string }): Promise<SnapshotResult>;
  abstract close(): Promise<void>;
}
