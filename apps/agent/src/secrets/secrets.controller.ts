import type { Metadata } from '@grpc/grpc-js';
import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { Caller } from '@mcp/auth';
import { toTimestamp, type mcpv1 } from '@mcp/proto';
import { CurrentCaller } from '../auth/auth.decorators';
import { Rpc } from '../auth/rpc.decorator';
import { SecretsService, type SecretView } from './secrets.service';

@Controller()
export class SecretsController implements Pick<mcpv1.McpAgentServiceController, 'setSecret' | 'listSecrets' | 'removeSecret' | 'readSecretForMove'> {
  constructor(private readonly secrets: SecretsService) {}

  @Rpc()
  async setSecret(request: mcpv1.SetSecretRequest): Promise<mcpv1.SetSecretResponse> {
    const { secret, recreateOnDeploy } = await this.secrets.set({ service: request.service, name: request.name, value: Buffer.from(request.value ?? []) });
    return { secret: toSecretInfo(secret), recreateOnDeploy };
  }

  @Rpc()
  async listSecrets(request: mcpv1.ListSecretsRequest): Promise<mcpv1.ListSecretsResponse> {
    return { secrets: (await this.secrets.list({ service: request.service })).map(toSecretInfo) };
  }

  @Rpc()
  async readSecretForMove(
    @Payload() request: mcpv1.ReadSecretForMoveRequest,
    _metadata?: Metadata,
    @CurrentCaller() caller?: Caller,
  ): Promise<mcpv1.ReadSecretForMoveResponse> {
    return { value: await this.secrets.readForMove({ service: request.service, name: request.name, toNode: request.toNode, caller }) };
  }

  @Rpc()
  async removeSecret(request: mcpv1.RemoveSecretRequest): Promise<mcpv1.RemoveSecretResponse> {
    await this.secrets.remove({ service: request.service, name: request.name });
    return {};
  }
}

function toSecretInfo(secret: SecretView): mcpv1.SecretInfo {
  return { name: secret.name, setAt: toTimestamp(secret.setAt), usedBy: secret.usedBy };
}
