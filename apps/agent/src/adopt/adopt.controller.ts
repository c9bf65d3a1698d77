import { Controller } from '@nestjs/common';
import type { mcpv1 } from '@mcp/proto';
import { Rpc } from '../auth/rpc.decorator';
import { adoptContainersResponse } from './adopt.mapper';
import { AdoptService } from './adopt.service';

@Controller()
export class AdoptController {
  constructor(private readonly adoption: AdoptService) {}

  @Rpc()
  async adoptContainers(request: mcpv1.AdoptContainersRequest): Promise<mcpv1.AdoptContainersResponse> {
    return adoptContainersResponse(await this.adoption.adopt(request.service));
  }
}
