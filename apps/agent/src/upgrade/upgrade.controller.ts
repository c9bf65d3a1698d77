import type { sendUnaryData, ServerReadableStream } from '@grpc/grpc-js';
import { Controller } from '@nestjs/common';
import type { mcpv1 } from '@mcp/proto';
import { Rpc, StreamCallRpc } from '../auth/rpc.decorator';
import { AuditLog } from '../logging/audit';
import { UpgradeCancelledError, UpgradeService } from './upgrade.service';

/** UpgradeAgent (client stream, raw grpc-js call as PushFile) and RollbackAgent. */
@Controller()
export class UpgradeController {
  constructor(
    private readonly upgrades: UpgradeService,
    private readonly audit: AuditLog,
  ) {}

  @StreamCallRpc()
  async upgradeAgent(
    call: ServerReadableStream<mcpv1.UpgradeAgentRequest, mcpv1.UpgradeAgentResponse>,
    callback: sendUnaryData<mcpv1.UpgradeAgentResponse>,
  ): Promise<void> {
    let response: mcpv1.UpgradeAgentResponse;
    try {
      response = await this.upgrades.upgrade(call);
    } catch (error) {
      if (error instanceof UpgradeCancelledError) return this.audit.record({ call, code: 'CANCELLED' });
      throw error;
    }
    callback(null, response);
    this.upgrades.exitAfterSwitch(response.release);
  }

  @Rpc()
  async rollbackAgent(_request: mcpv1.RollbackAgentRequest): Promise<mcpv1.RollbackAgentResponse> {
    const response = await this.upgrades.rollback();
    this.upgrades.exitAfterSwitch(response.release);
    return response;
  }
}
