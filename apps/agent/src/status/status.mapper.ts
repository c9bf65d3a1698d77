import { Injectable } from '@nestjs/common';
import { toTimestamp, type mcpv1 } from '@mcp/proto';
import { toProtoServiceSpec } from '@mcp/servicedef';
import { toProtoEvent } from '../event.mapper';
import type { ComponentStatusView, ContainerView, CordonChange, LiveView, NodeView, ServiceListing, ServiceStatusView } from './status.service';

/** StatusService's views as the status RPCs' proto messages: StatusService never sees a proto type. */
@Injectable()
export class StatusMapper {
  listServicesResponse(listing: ServiceListing): mcpv1.ListServicesResponse {
    return {
      node: listing.node,
      cordoned: listing.cordoned,
      services: listing.services.map((service) => ({
        name: service.name,
        active: service.active,
        components: service.components.map((c) => ({ ...c, updatedAt: toTimestamp(c.updatedAt) })),
        spec: toProtoServiceSpec(service.spec),
      })),
    };
  }

  serviceStatusResponse(view: ServiceStatusView): mcpv1.GetServiceStatusResponse {
    return { node: view.node, components: view.components.map(componentStatus), events: view.events.map(toProtoEvent) };
  }

  liveCheckResponse(view: LiveView): mcpv1.LiveCheckResponse {
    return { node: view.node, containers: view.containers.map(containerInfo), cordoned: view.cordoned, oneOffs: view.oneOffs.map(containerInfo) };
  }

  setCordonResponse(change: CordonChange): mcpv1.SetCordonResponse {
    return { ...change };
  }

  nodeStatusResponse(view: NodeView): mcpv1.NodeStatusResponse {
    const { lastRollback } = view;
    return {
      ...view,
      startedAt: toTimestamp(view.startedAt),
      lastRollback: lastRollback ? { ...lastRollback, at: toTimestamp(lastRollback.at) } : undefined,
      cordonedAt: toTimestamp(view.cordonedAt),
    };
  }
}

function componentStatus(c: ComponentStatusView): mcpv1.ComponentStatus {
  return { ...c };
}

function containerInfo(c: ContainerView): mcpv1.ContainerInfo {
  return { ...c, startedAt: toTimestamp(c.startedAt) };
}
