import { Controller } from '@nestjs/common';
import type { Metadata } from '@grpc/grpc-js';
import { Payload } from '@nestjs/microservices';
import type { Caller } from '@mcp/auth';
import type { mcpv1 } from '@mcp/proto';
import { CurrentCaller } from '../auth/auth.decorators';
import { Rpc } from '../auth/rpc.decorator';
import { StatusService } from './status.service';

@Controller()
export class StatusController {
  constructor(private readonly status: StatusService) {}

  @Rpc()
  listServices(_request: mcpv1.ListServicesRequest): Promise<mcpv1.ListServicesResponse> {
    return this.status.listServices();
  }

  @Rpc()
  getServiceStatus(request: mcpv1.GetServiceStatusRequest): Promise<mcpv1.GetServiceStatusResponse> {
    return this.status.serviceStatus({ service: request.service || undefined, eventLimit: request.eventLimit });
  }

  @Rpc()
  liveCheck(_request: mcpv1.LiveCheckRequest): Promise<mcpv1.LiveCheckResponse> {
    return this.status.liveCheck();
  }

  @Rpc()
  nodeStatus(_request: mcpv1.NodeStatusRequest): Promise<mcpv1.NodeStatusResponse> {
    return this.status.nodeStatus();
  }

  @Rpc()
  setCordon(@Payload() request: mcpv1.SetCordonRequest, _metadata?: Metadata, @CurrentCaller() caller?: Caller): Promise<mcpv1.SetCordonResponse> {
    return this.status.setCordon({ cordoned: request.cordoned, caller: caller?.username ?? '' });
  }
}
