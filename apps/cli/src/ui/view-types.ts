// The JSON the dashboard's server sends and its page renders. Shared by the CLI (node) and
// the page (browser), so it imports nothing.

/**
 * What the dashboard shows, as plain JSON the page renders. Everything in here that came
 * from an agent (names, images, messages) is untrusted text: the page puts it into the DOM
 * only as text nodes.
 */
export interface FleetView {
  /** ISO time of the poll that produced this view. */
  polledAt: string;
  nodes: NodeView[];
  services: ServiceView[];
  /** Containers on the nodes that MCP does not manage (desired `ignore`). */
  unmanaged: UnmanagedView[];
}

export type NodeState = 'up' | 'unreachable' | 'unauthenticated' | 'error';

export interface NodeView {
  name: string;
  address: string;
  state: NodeState;
  /** Why the node did not answer (one line), when it did not. */
  error?: string;
  agentNode?: string;
  agentVersion?: string;
  runtimeVersion?: string;
  startedAt?: string;
  containers?: number;
  runningContainers?: number;
  cpus?: number;
  memoryFreeBytes?: number;
  memoryTotalBytes?: number;
  diskFreeBytes?: number;
  diskTotalBytes?: number;
  /** The node takes no new services (SPEC §15). */
  cordoned?: boolean;
}

export interface RouteView {
  name: string;
  /** The mc-proxy listener port. */
  port: number;
  mode: string;
  hostname: string;
  /** The host port MCP allocated (0: none yet). */
  hostPort: number;
}

export interface ComponentView {
  name: string;
  image: string;
  version: string;
  desired: string;
  /** Live from podman (the agent's status call lists containers once). */
  observed: string;
  drift: boolean;
  /** `healthy`, `unhealthy`, `starting`, or `-` when the agent reports none. */
  health: string;
  /** Fields where the running container differs from the deployed spec (image, env, …). */
  driftFields: string[];
  /** The release running (0: none recorded, or an agent without releases). */
  release: number;
  container: string;
  /** ISO time the running container started, for uptime. */
  startedAt?: string;
  routes: RouteView[];
}

/** `drift` and `unhealthy` are what an operator must look at; `stopped` is intended. */
export type ServiceState = 'ok' | 'drift' | 'unhealthy' | 'stopped' | 'stale';

export interface ServiceView {
  node: string;
  name: string;
  active: boolean;
  state: ServiceState;
  /** True when the node did not answer this time: the components are the last known. */
  stale: boolean;
  components: ComponentView[];
}

export interface UnmanagedView {
  node: string;
  container: string;
  image: string;
  state: string;
}

export interface EventView {
  node: string;
  time: string;
  service: string;
  component: string;
  kind: string;
  message: string;
  fromState: string;
  toState: string;
}

export interface ReleaseView {
  release: number;
  component: string;
  image: string;
  digest: string;
  deployedAt: string;
  deployedBy: string;
  outcome: string;
  /** Why it failed or was rolled back, when it was. */
  message: string;
  /** Non-zero when this release rolled back to that release. */
  rollbackOf: number;
}

/** One run of a job (SPEC §12), as the service page shows it. */
export interface JobRunView {
  /** schedule, manual or catch_up. */
  trigger: string;
  startedAt: string;
  /** Empty while it runs. */
  finishedAt: string;
  /** running, succeeded, failed, timed_out, skipped, interrupted or stopped. */
  result: string;
  /** Absent while it runs, when skipped, interrupted or stopped, or when no container started. */
  exitCode?: number;
  durationMs: number;
  message: string;
}

/** One `[[jobs]]` table of a service and what the agent knows of it (ListJobs). */
export interface JobView {
  name: string;
  schedule: string;
  /** The schedule's time zone (UTC when the definition gives none). */
  tz: string;
  /** Whether its schedule is registered (the service is active and its component should run). */
  scheduled: boolean;
  /** How many of its runs go now. */
  running: number;
  /** Absent before its first run. */
  lastRun?: JobRunView;
  /** Its newest runs, newest first (JOB_HISTORY of them; only the last run from an agent before ListJobs' `recent`). */
  recentRuns: JobRunView[];
  /** When the schedule fires next; empty when not scheduled. */
  nextRun: string;
}

export type FleetUpdate = { type: 'fleet'; fleet: FleetView } | { type: 'events'; events: EventView[] };

export interface ServiceDetail {
  node: string;
  service: string;
  events: EventView[];
  /** Undefined when the node's agent does not record releases. */
  releases?: ReleaseView[];
  /** The newest backup runs of the service's data (SPEC §14), newest first; undefined when the agent has no backups. */
  backups?: BackupRunView[];
  /** The service's jobs (SPEC §12); undefined when the node's agent has no jobs (ListJobs). */
  jobs?: JobView[];
}

export interface BackupRunView {
  /** ISO time it ended. */
  time: string;
  ok: boolean;
  snapshotId: string;
  files: number;
  bytes: number;
  durationSeconds: number;
  pausedSeconds: number;
  /** Why it failed; '' when it succeeded. */
  message: string;
}

export interface LogLine {
  stream: string;
  text: string;
}
