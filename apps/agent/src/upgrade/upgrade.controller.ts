import type { sendUnaryData, ServerReadableStream } from '@grpc/grpc-js';
import { Controller } from '@nestjs/common';
import type { mcpv1 } from '@mcp/proto';
import { Rpc, StreamCallRpc } from '../auth/rpc.decorator';
import type { MalformedRequest } from '../errors/malformed-request';
import { AuditLog } from '../logging/audit';
import { cancelSignal } from '../streaming/stream-call';
import { UpgradeCancelledError, upgradeCancelled, UpgradeService, type UpgradePart } from './upgrade.service';

/**
 * UpgradeAgent (client stream, raw grpc-js call as PushFile) and RollbackAgent. UpgradeService
 * sees domain values only: the messages' header and chunks are its UpgradeParts as they are.
 */
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
    const cancelled = cancelSignal(call, undefined, upgradeCancelled);
    try {
      const messages = call[Symbol.asyncIterator]() as AsyncIterator<UpgradePart | MalformedRequest>;
      response = await this.upgrades.upgrade({ messages, signal: cancelled.signal });
    } catch (error) {
      if (error instanceof UpgradeCancelledError) return this.audit.record({ call, code: 'CANCELLED' });
      throw error;
    } finally {
      cancelled.dispose();
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
