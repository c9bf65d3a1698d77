import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type { mcpv1 } from '@mcp/proto';
import { Authenticated } from '../auth/auth.decorators';
import { StatusService } from './status.service';

@Controller()
export class StatusController implements Pick<mcpv1.McpAgentServiceController, 'listServices' | 'getServiceStatus' | 'liveCheck' | 'nodeStatus'> {
  constructor(private readonly status: StatusService) {}

  @GrpcMethod('McpAgentService', 'ListServices')
  @Authenticated()
  listServices(_request: mcpv1.ListServicesRequest): Promise<mcpv1.ListServicesResponse> {
    return this.status.listServices();
  }

  @GrpcMethod('McpAgentService', 'GetServiceStatus')
  @Authenticated()
  getServiceStatus(request: mcpv1.GetServiceStatusRequest): Promise<mcpv1.GetServiceStatusResponse> {
    return this.status.serviceStatus({ service: request.service || undefined, eventLimit: request.eventLimit });
  }

  @GrpcMethod('McpAgentService', 'LiveCheck')
  @Authenticated()
  liveCheck(_request: mcpv1.LiveCheckRequest): Promise<mcpv1.LiveCheckResponse> {
    return this.status.liveCheck();
  }

  @GrpcMethod('McpAgentService', 'NodeStatus')
  @Authenticated()
  nodeStatus(_request: mcpv1.NodeStatusRequest): Promise<mcpv1.NodeStatusResponse> {
    return this.status.nodeStatus();
  }
}
