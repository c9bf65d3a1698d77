import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Injectable } from '@nestjs/common';
import { Clock, ServiceNotFoundError } from '@mcp/common';
import { toTimestamp, type mcpv1 } from '@mcp/proto';
import { DriftDetail, HealthStates } from '@mcp/deployer';
import { ServiceRegistry, type ComponentRecord, type ReleaseRecord, type ServiceRecord } from '@mcp/registry';
import { componentContainerName, ContainerRuntime, imageTag, LiveContainers, splitContainerName, type ContainerSummary } from '@mcp/runtime';
import { componentSpecHash, toProtoServiceSpec } from '@mcp/servicedef';
import { AgentConfig } from '../config/agent-config';
import { toProtoEvent } from '../event.mapper';
import { AGENT_VERSION } from '../version';

const DEFAULT_EVENT_LIMIT = 20;

/** Desired vs observed: `ignore` never drifts; otherwise running must match running. */
export function isDrift(desired: string, observed: string): boolean {
  if (desired === 'ignore') return false;
  return (desired === 'running') !== (observed === 'running');
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
  ) {
    this.startedAt = clock.now();
  }

  /** Registry only: no runtime call. */
  async listServices(): Promise<mcpv1.ListServicesResponse> {
    const services = await this.registry.listServices();
    return { node: this.config.agent.nodeName, services: services.map((s) => this.serviceInfo(s)) };
  }

  /**
   * Desired vs observed per component (live state), health, and drift detail: for a named
   * service from one inspect of each of its containers, for all services from the listing
   * alone (made by hand, image). A component drifts when its state differs from desired or
   * its container from the deployed spec. Events most recent first.
   */
  async serviceStatus(input: { service?: string; eventLimit?: number }): Promise<mcpv1.GetServiceStatusResponse> {
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
    const components: mcpv1.ComponentStatus[] = [];
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
          release: runningRelease(component, releases),
        });
      }
    }
    const events = await this.registry.listEvents({ service: input.service, limit: input.eventLimit || DEFAULT_EVENT_LIMIT });
    return {
      node: this.config.agent.nodeName,
      components,
      events: events.map(toProtoEvent),
    };
  }

  /**
   * From the containers kept live from podman's events (a listing only when the stream is
   * not open); unmanaged containers show desired `ignore`.
   */
  async liveCheck(): Promise<mcpv1.LiveCheckResponse> {
    const [containers, services] = await Promise.all([this.live.current(), this.registry.listServices()]);
    const known = services.map((s) => s.name);
    const byService = new Map(services.map((s) => [s.name, s]));
    return {
      node: this.config.agent.nodeName,
      containers: containers.map((c) => this.containerInfo(c, known, byService)),
    };
  }

  async nodeStatus(): Promise<mcpv1.NodeStatusResponse> {
    const [containers, runtimeVersion, disk] = await Promise.all([
      this.live.current(),
      this.runtime.version().catch(() => 'unavailable'),
      diskOf(path.dirname(this.config.database.path)),
    ]);
    const now = this.clock.now();
    return {
      node: this.config.agent.nodeName,
      version: AGENT_VERSION,
      startedAt: toTimestamp(this.startedAt),
      uptimeSeconds: Math.max(0, Math.floor((now.getTime() - this.startedAt.getTime()) / 1000)),
      containers: containers.length,
      runningContainers: containers.filter((c) => c.state === 'running').length,
      cpus: os.cpus().length,
      memoryTotalBytes: os.totalmem(),
      memoryFreeBytes: os.freemem(),
      diskFreeBytes: disk.free,
      diskTotalBytes: disk.total,
      runtimeVersion,
    };
  }

  private containerInfo(c: ContainerSummary, known: string[], byService: Map<string, ServiceRecord>): mcpv1.ContainerInfo {
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
      startedAt: c.state === 'running' ? toTimestamp(c.startedAt) : undefined,
      desiredState: record?.desiredState ?? 'ignore',
      id: c.id,
      health: serves ? this.health.status({ service, component }) : '-',
    };
  }

  private serviceInfo(service: ServiceRecord): mcpv1.ServiceInfo {
    return {
      name: service.name,
      active: service.active,
      components: service.components.map((c) => componentInfo(c)),
      spec: toProtoServiceSpec({ name: service.name, node: this.config.agent.nodeName, active: service.active, components: service.components.map((c) => c.spec) }),
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

function componentInfo(c: ComponentRecord): mcpv1.ComponentInfo {
  return {
    name: c.name,
    image: c.spec.image,
    desiredState: c.desiredState,
    observedState: c.observedState,
    version: c.version,
    routes: c.routes.map((r) => ({ name: r.name, port: r.port, mode: r.mode, hostname: r.hostname, hostPort: r.hostPort ?? 0 })),
    updatedAt: toTimestamp(c.updatedAt),
    container: c.containerName,
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
