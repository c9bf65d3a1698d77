import type { AgentAnswer } from '../client/agent-client';
import { fromTimestamp } from '../client/timestamps';
import type { BackupRunView, ComponentView, EventView, FleetView, JobRunView, JobView, NodeState, NodeView, ReleaseView, ServiceState, ServiceView, UnmanagedView } from './view-types';

export type * from './view-types';

/** One node's answers in one poll. */
export type NodePoll =
  | {
      node: { name: string; address: string };
      ok: true;
      status: AgentAnswer<'nodeStatus'>;
      services: AgentAnswer<'listServices'>;
      live: AgentAnswer<'getServiceStatus'>;
      containers: AgentAnswer<'liveCheck'>;
    }
  | { node: { name: string; address: string }; ok: false; state: Exclude<NodeState, 'up'>; error: string };

const iso = (ts: Parameters<typeof fromTimestamp>[0]): string | undefined => fromTimestamp(ts)?.toISOString();

/** Health as the agent reports it (SPEC §8); `-` when it reports none (older agents too). */
function healthOf(...reports: Array<string | undefined>): string {
  return reports.find((h) => h !== undefined && h !== '' && h !== '-') ?? '-';
}

function serviceState(active: boolean, components: ComponentView[]): ServiceState {
  if (components.some((c) => c.drift)) return 'drift';
  if (components.some((c) => c.health === 'unhealthy')) return 'unhealthy';
  if (!active || components.every((c) => c.desired === 'stopped')) return 'stopped';
  return 'ok';
}

function nodeView(poll: NodePoll): NodeView {
  if (!poll.ok) return { name: poll.node.name, address: poll.node.address, state: poll.state, error: poll.error };
  const s = poll.status;
  return {
    name: poll.node.name,
    address: poll.node.address,
    state: 'up',
    agentNode: s.node,
    agentVersion: s.version,
    runtimeVersion: s.runtimeVersion,
    startedAt: iso(s.startedAt),
    containers: s.containers,
    runningContainers: s.runningContainers,
    cpus: s.cpus,
    memoryFreeBytes: Number(s.memoryFreeBytes),
    memoryTotalBytes: Number(s.memoryTotalBytes),
    diskFreeBytes: Number(s.diskFreeBytes),
    diskTotalBytes: Number(s.diskTotalBytes),
    cordoned: s.cordoned,
  };
}

function servicesOf(poll: Extract<NodePoll, { ok: true }>): ServiceView[] {
  const live = new Map(poll.live.components.map((c) => [`${c.service}\u0000${c.component}`, c]));
  const running = new Map(poll.containers.containers.map((c) => [c.container, c]));
  return poll.services.services.map((service) => {
    const components = service.components.map((component): ComponentView => {
      const status = live.get(`${service.name}\u0000${component.name}`);
      const container = status?.container || component.container;
      return {
        name: component.name,
        image: component.image,
        version: status?.version || component.version,
        desired: status?.desiredState || component.desiredState,
        observed: status?.observedState || component.observedState,
        drift: status?.drift ?? false,
        health: healthOf(status?.health, running.get(container)?.health),
        driftFields: status?.driftFields ?? [],
        release: status?.release ?? 0,
        container,
        startedAt: iso(running.get(container)?.startedAt),
        routes: component.routes.map((r) => ({ name: r.name, port: r.port, mode: r.mode, hostname: r.hostname, hostPort: r.hostPort })),
      };
    });
    return { node: poll.node.name, name: service.name, active: service.active, state: serviceState(service.active, components), stale: false, components };
  });
}

/**
 * Joins one poll of every node into the view. A node that did not answer keeps its services
 * from `previous`, marked stale, so they do not vanish from the page while it is away.
 */
export function buildFleetView(polls: NodePoll[], polledAt: Date, previous?: FleetView): FleetView {
  const services: ServiceView[] = [];
  const unmanaged: UnmanagedView[] = [];
  for (const poll of polls) {
    if (poll.ok) {
      services.push(...servicesOf(poll));
      for (const c of poll.containers.containers) {
        if (c.desiredState === 'ignore') unmanaged.push({ node: poll.node.name, container: c.container, image: c.image, state: c.state });
      }
    } else {
      for (const s of previous?.services ?? []) {
        if (s.node === poll.node.name) services.push({ ...s, stale: true, state: 'stale' });
      }
    }
  }
  services.sort((a, b) => a.name.localeCompare(b.name) || a.node.localeCompare(b.node));
  return { polledAt: polledAt.toISOString(), nodes: polls.map(nodeView), services, unmanaged };
}

export function eventView(node: string, e: AgentAnswer<'getServiceStatus'>['events'][number]): EventView {
  return {
    node,
    time: iso(e.time) ?? '',
    service: e.service,
    component: e.component,
    kind: e.kind,
    message: e.message,
    fromState: e.fromState,
    toState: e.toState,
  };
}

export function releaseView(r: AgentAnswer<'listReleases'>['releases'][number]): ReleaseView {
  return {
    release: r.number,
    component: r.component,
    image: r.image,
    digest: r.digest,
    deployedAt: iso(r.deployedAt) ?? '',
    deployedBy: r.deployedBy,
    outcome: r.outcome,
    message: r.message,
    rollbackOf: r.rollbackOf,
  };
}

export function backupRunView(r: AgentAnswer<'listBackups'>['runs'][number]): BackupRunView {
  return {
    time: iso(r.time) ?? '',
    ok: r.ok,
    snapshotId: r.snapshotId,
    files: Number(r.files),
    bytes: Number(r.bytes),
    durationSeconds: r.durationSeconds,
    pausedSeconds: r.pausedSeconds,
    message: r.message,
  };
}

type JobStatusAnswer = AgentAnswer<'listJobs'>['jobs'][number];

function jobRunView(run: NonNullable<JobStatusAnswer['lastRun']>): JobRunView {
  return {
    trigger: run.trigger,
    startedAt: iso(run.startedAt) ?? '',
    finishedAt: iso(run.finishedAt) ?? '',
    result: run.result,
    ...(run.exitCode !== undefined ? { exitCode: run.exitCode } : {}),
    durationMs: run.durationMs,
    message: run.message,
  };
}

export function jobView(j: JobStatusAnswer): JobView {
  const lastRun = j.lastRun ? jobRunView(j.lastRun) : undefined;
  // An agent from before ListJobs' `recent` sends no history: the last run is all there is.
  const recent = j.recentRuns ?? [];
  return {
    name: j.spec?.name ?? '',
    schedule: j.spec?.schedule ?? '',
    tz: j.spec?.tz || 'UTC',
    scheduled: j.scheduled,
    running: j.running,
    lastRun,
    recentRuns: recent.length ? recent.map(jobRunView) : lastRun ? [lastRun] : [],
    nextRun: iso(j.nextRun) ?? '',
  };
}

/** Identity of an event across polls (the agent has no event ids on the wire). */
export function eventKey(e: EventView): string {
  return [e.node, e.time, e.service, e.component, e.kind, e.message].join('\u0000');
}

/** Newest first. */
export function byTimeDesc(a: { time: string }, b: { time: string }): number {
  return a.time < b.time ? 1 : a.time > b.time ? -1 : 0;
}
