import { Controller } from '@nestjs/common';
import type { Metadata } from '@grpc/grpc-js';
import { Payload } from '@nestjs/microservices';
import type { Caller } from '@mcp/auth';
import type { mcpv1 } from '@mcp/proto';
import { CurrentCaller } from '../auth/auth.decorators';
import { Rpc } from '../auth/rpc.decorator';
import { StatusMapper } from './status.mapper';
import { StatusService } from './status.service';

@Controller()
export class StatusController {
  constructor(
    private readonly status: StatusService,
    private readonly map: StatusMapper,
  ) {}

  @Rpc()
  async listServices(_request: mcpv1.ListServicesRequest): Promise<mcpv1.ListServicesResponse> {
    return this.map.listServicesResponse(await this.status.listServices());
  }

  @Rpc()
  async getServiceStatus(request: mcpv1.GetServiceStatusRequest): Promise<mcpv1.GetServiceStatusResponse> {
    return this.map.serviceStatusResponse(await this.status.serviceStatus({ service: request.service || undefined, eventLimit: request.eventLimit }));
  }

  @Rpc()
  async liveCheck(_request: mcpv1.LiveCheckRequest): Promise<mcpv1.LiveCheckResponse> {
    return this.map.liveCheckResponse(await this.status.liveCheck());
  }

  @Rpc()
  async nodeStatus(_request: mcpv1.NodeStatusRequest): Promise<mcpv1.NodeStatusResponse> {
    return this.map.nodeStatusResponse(await this.status.nodeStatus());
  }

  @Rpc()
  async setCordon(@Payload() request: mcpv1.SetCordonRequest, _metadata?: Metadata, @CurrentCaller() caller?: Caller): Promise<mcpv1.SetCordonResponse> {
    return this.map.setCordonResponse(await this.status.setCordon({ cordoned: request.cordoned, caller: caller?.username ?? '' }));
  }
}
