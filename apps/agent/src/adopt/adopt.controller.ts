import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type { mcpv1 } from '@mcp/proto';
import { Authenticated } from '../auth/auth.decorators';
import { AdoptService } from './adopt.service';

@Controller()
export class AdoptController implements Pick<mcpv1.McpAgentServiceController, 'adoptContainers'> {
  constructor(private readonly adoption: AdoptService) {}

  @GrpcMethod('McpAgentService', 'AdoptContainers')
  @Authenticated()
  adoptContainers(request: mcpv1.AdoptContainersRequest): Promise<mcpv1.AdoptContainersResponse> {
    return this.adoption.adopt(request.service);
  }
}
