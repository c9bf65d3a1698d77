import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Injectable, Optional } from '@nestjs/common';
import { Clock, isDrift, ServiceNotFoundError, type RouteMode, type ServiceSpec } from '@mcp/common';
import { ContainerOps, DriftDetail, HealthStates, type HealthStatus } from '@mcp/deployer';
import { ServiceRegistry, type ComponentRecord, type EventRecord, type ReleaseRecord, type ServiceRecord } from '@mcp/registry';
import { componentContainerName, ContainerRuntime, imageTag, LiveContainers, splitContainerName, type ContainerSummary } from '@mcp/runtime';
import { componentSpecHash } from '@mcp/servicedef';
import { AgentConfig } from '../config/agent-config';
import { ReleaseLayout, releaseEnvironment } from '../upgrade/release-layout';
import { AGENT_VERSION } from '../version';

const DEFAULT_EVENT_LIMIT = 20;

/** ListServices: the registry's services (StatusMapper makes the proto messages). */
export interface ServiceListing {
  node: string;
  services: ServiceView[];
  cordoned: boolean;
}

export interface ServiceView {
  name: string;
  active: boolean;
  components: ComponentView[];
  spec: ServiceSpec;
}

export interface ComponentView {
  name: string;
  image: string;
  desiredState: string;
  observedState: string;
  version: string;
  routes: Array<{ name: string; port: number; mode: RouteMode; hostname: string; hostPort: number }>;
  updatedAt: Date;
  container: string;
}

/** GetServiceStatus. */
export interface ServiceStatusView {
  node: string;
  components: ComponentStatusView[];
  /** Most recent first. */
  events: EventRecord[];
}

export interface ComponentStatusView {
  service: string;
  component: string;
  desiredState: string;
  observedState: string;
  version: string;
  drift: boolean;
  container: string;
  driftFields: string[];
  health: HealthStatus;
  healthDetail: string;
  /** The release it runs; undefined when none is recorded. */
  release: number | undefined;
}

/** LiveCheck. */
export interface LiveView {
  node: string;
  containers: ContainerView[];
  cordoned: boolean;
  oneOffs: ContainerView[];
}

export interface ContainerView {
  service: string;
  component: string;
  container: string;
  state: string;
  image: string;
  version: string;
  startedAt: Date | undefined;
  desiredState: string;
  id: string;
  health: HealthStatus;
  /** '' for a component's container; `run`, `job` or `hook` for a one-off (SPEC §12). */
  kind: string;
}

/** SetCordon. */
export interface CordonChange {
  node: string;
  cordoned: boolean;
  changed: boolean;
}

/** NodeStatus. */
export interface NodeView {
  node: string;
  version: string;
  startedAt: Date;
  uptimeSeconds: number;
  containers: number;
  runningContainers: number;
  cpus: number;
  memoryTotalBytes: number;
  memoryFreeBytes: number;
  diskFreeBytes: number;
  diskTotalBytes: number;
  runtimeVersion: string;
  release: string;
  releaseGood: boolean;
  lastRollback: { failedRelease: string; restoredRelease: string; at: Date | undefined; logTail: string } | undefined;
  cordoned: boolean;
  cordonedAt: Date | undefined;
  cordonedBy: string;
}

/** ListServices, GetServiceStatus, LiveCheck and NodeStatus (SPEC §2 "Status views", "Node status"). */
@Injectable()
export class StatusService {
  private readonly startedAt: Date;

  constructor(
    private readonly config: AgentConfig,
    private readonly registry: ServiceRegistry,
    private readonly runtime: ContainerRuntime,
    private readonly live: LiveContainers,
    private readonly clock: Clock,
    private readonly health: HealthStates,
    private readonly drift: DriftDetail,
    @Optional() private readonly oneOffs?: ContainerOps,
  ) {
    this.startedAt = clock.now();
  }

  /** Registry only: no runtime call. */
  async listServices(): Promise<ServiceListing> {
    const services = await this.registry.listServices();
    const cordon = await this.registry.getCordon();
    return { node: this.config.agent.nodeName, services: services.map((s) => this.serviceInfo(s)), cordoned: cordon !== null };
  }

  /**
   * Desired vs observed per component (live state), health, and drift detail: for a named
   * service from one inspect of each of its containers, for all services from the listing
   * alone (made by hand, image). A component drifts when its state differs from desired or
   * its container from the deployed spec. Events most recent first.
   */
  async serviceStatus(input: { service?: string; eventLimit?: number }): Promise<ServiceStatusView> {
    let services: ServiceRecord[];
    if (input.service) {
      const one = await this.registry.getService(input.service);
      if (!one) throw new ServiceNotFoundError(input.service);
      services = [one];
    } else {
      services = await this.registry.listServices();
    }
    const live = new Map((await this.live.current()).map((c) => [c.name, c]));
    const detail = input.service ? await this.drift.forService({ service: services[0].name, components: services[0].components }) : undefined;
    const components: ComponentStatusView[] = [];
    for (const service of services) {
      const releases = await this.registry.listReleases({ service: service.name });
      for (const component of service.components) {
        const container = componentContainerName(component);
        const seen = live.get(container);
        const observed = seen?.state ?? 'removed';
        const driftFields = !seen ? [] : detail ? (detail.get(component.name) ?? []) : await this.drift.fromListing({ service: service.name, component, container: seen });
        components.push({
          service: service.name,
          component: component.name,
          desiredState: component.desiredState,
          observedState: observed,
          version: seen ? imageTag(seen.image) : component.version,
          drift: isDrift(component.desiredState, observed) || driftFields.length > 0,
          container,
          driftFields,
          health: this.health.status({ service: service.name, component: component.name }),
          healthDetail: this.health.get({ service: service.name, component: component.name })?.detail ?? '',
          release: runningRelease(component, releases),
        });
      }
    }
    const events = await this.registry.listEvents({ service: input.service, limit: input.eventLimit || DEFAULT_EVENT_LIMIT });
    return {
      node: this.config.agent.nodeName,
      components,
      events,
    };
  }

  /**
   * From the containers kept live from podman's events (a listing only when the stream is
   * not open); unmanaged containers show desired `ignore`.
   */
  async liveCheck(): Promise<LiveView> {
    const [containers, services, cordon] = await Promise.all([this.live.current(), this.registry.listServices(), this.registry.getCordon()]);
    const known = services.map((s) => s.name);
    const byService = new Map(services.map((s) => [s.name, s]));
    return {
      node: this.config.agent.nodeName,
      containers: containers.map((c) => this.containerInfo(c, known, byService)),
      cordoned: cordon !== null,
      // SPEC §12: runs, job runs and hooks while they run (KIND in `mcp ps`).
      oneOffs: (this.oneOffs?.runningOneOffs() ?? []).map((o) => {
        const [kind, name] = o.kind.split(':');
        return {
          service: o.service,
          component: kind === 'job' && name ? name : o.component,
          container: o.name,
          state: 'running',
          image: o.image,
          version: imageTag(o.image),
          startedAt: o.startedAt,
          desiredState: '',
          id: '',
          health: '-',
          kind,
        };
      }),
    };
  }

  /** Cordons or uncordons the node (SPEC §15); the registry keeps it across restarts. */
  async setCordon(input: { cordoned: boolean; caller: string }): Promise<CordonChange> {
    const changed = await this.registry.setCordon(input.cordoned ? { by: input.caller, at: this.clock.now() } : null);
    return { node: this.config.agent.nodeName, cordoned: input.cordoned, changed };
  }

  async nodeStatus(): Promise<NodeView> {
    const [containers, runtimeVersion, disk, release, cordon] = await Promise.all([
      this.live.current(),
      this.runtime.version().catch(() => 'unavailable'),
      diskOf(path.dirname(this.config.database.path)),
      agentRelease(this.config.env),
      this.registry.getCordon(),
    ]);
    const now = this.clock.now();
    return {
      node: this.config.agent.nodeName,
      version: AGENT_VERSION,
      startedAt: this.startedAt,
      uptimeSeconds: Math.max(0, Math.floor((now.getTime() - this.startedAt.getTime()) / 1000)),
      containers: containers.length,
      runningContainers: containers.filter((c) => c.state === 'running').length,
      cpus: os.cpus().length,
      memoryTotalBytes: os.totalmem(),
      memoryFreeBytes: os.freemem(),
      diskFreeBytes: disk.free,
      diskTotalBytes: disk.total,
      runtimeVersion,
      ...release,
      cordoned: cordon !== null,
      cordonedAt: cordon?.at,
      cordonedBy: cordon?.by ?? '',
    };
  }

  private containerInfo(c: ContainerSummary, known: string[], byService: Map<string, ServiceRecord>): ContainerView {
    const { service, component } = splitContainerName(c.name, known);
    const record = byService.get(service)?.components.find((k) => k.name === component);
    // Health belongs to the container that serves (not a start-first deploy's temporary one).
    const serves = record !== undefined && componentContainerName(record) === c.name;
    return {
      service,
      component,
      container: c.name,
      state: c.state,
      image: c.image,
      version: imageTag(c.image),
      startedAt: c.state === 'running' ? c.startedAt : undefined,
      desiredState: record?.desiredState ?? 'ignore',
      id: c.id,
      health: serves ? this.health.status({ service, component }) : '-',
      kind: '',
    };
  }

  private serviceInfo(service: ServiceRecord): ServiceView {
    return {
      name: service.name,
      active: service.active,
      components: service.components.map((c) => componentInfo(c)),
      spec: { name: service.name, node: this.config.agent.nodeName, active: service.active, components: service.components.map((c) => c.spec) },
    };
  }
}

/**
 * The release a component runs: the newest succeeded one (a rollback records a new succeeded
 * release) whose spec hashes to the deployed spec hash; else the newest succeeded (the deploy
 * hash of a component with secrets also covers secret versions); none for an adopted or
 * never-deployed component.
 */
export function runningRelease(component: ComponentRecord, releases: ReleaseRecord[]): number | undefined {
  const succeeded = releases.filter((r) => r.component === component.name && r.outcome === 'succeeded');
  return (succeeded.find((r) => componentSpecHash(r.spec) === component.deployedSpecHash) ?? succeeded[0])?.number;
}

function componentInfo(c: ComponentRecord): ComponentView {
  return {
    name: c.name,
    image: c.spec.image,
    desiredState: c.desiredState,
    observedState: c.observedState,
    version: c.version,
    routes: c.routes.map((r) => ({ name: r.name, port: r.port, mode: r.mode, hostname: r.hostname, hostPort: r.hostPort ?? 0 })),
    updatedAt: c.updatedAt,
    container: c.containerName,
  };
}

/** The release this agent runs from (mcp-agent-launch's layout), whether it is marked good, and the launcher's last rollback. */
async function agentRelease(environment: NodeJS.ProcessEnv): Promise<Pick<NodeView, 'release' | 'releaseGood' | 'lastRollback'>> {
  const env = releaseEnvironment(environment);
  if (!env) return { release: '', releaseGood: false, lastRollback: undefined };
  const layout = new ReleaseLayout(env.installDir);
  const [boot, rollback] = await Promise.all([layout.bootState(), layout.lastRollback()]);
  const at = rollback ? new Date(rollback.at) : undefined;
  return {
    release: env.release,
    releaseGood: boot?.release === env.release && boot.good === true,
    lastRollback: rollback
      ? { failedRelease: rollback.failedRelease, restoredRelease: rollback.restoredRelease, at: at && !Number.isNaN(at.getTime()) ? at : undefined, logTail: rollback.logTail ?? '' }
      : undefined,
  };
}

async function diskOf(dir: string): Promise<{ free: number; total: number }> {
  try {
    const stats = await fs.promises.statfs(dir);
    return { free: stats.bavail * stats.bsize, total: stats.blocks * stats.bsize };
  } catch {
    return { free: 0, total: 0 };
  }
}
