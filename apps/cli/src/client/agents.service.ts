// Deep import: @nestjs/common's index loads every service and pipe (~20 ms of `mcp ps`, bench P2).
import 'reflect-metadata'; // what @nestjs/common's index would have loaded first
import { Injectable } from '@nestjs/common/decorators/core/injectable.decorator';
import { TokenStore } from '../auth/token-store';
import { CliConfigService } from '../config/cli-config.service';
import type { NodeConfig } from '../config/cli-config';
import type { NodeOutcome } from '../fleet-outcome';
import { AgentClient, AgentClientFactory } from './agent-client';

// The outcome helpers live beside errors.ts (output/ uses them; it must not import client/).
export { failureLabel, fleetErrors, fleetExitCode, throwIfFleetFailed, type NodeOutcome } from '../fleet-outcome';


/** Makes agent clients from the config and the stored token; fans calls out to the fleet. */
@Injectable()
export class Agents {
  constructor(
    private readonly config: CliConfigService,
    private readonly tokens: TokenStore,
    private readonly factory: AgentClientFactory,
  ) {}

  async forNode(name: string): Promise<AgentClient> {
    const node = this.config.node(name);
    return this.create(node, await this.tokens.read());
  }

  /** Runs `call` against one node and closes the client afterwards. */
  async withNode<T>(name: string, call: (client: AgentClient) => Promise<T>): Promise<T> {
    const client = await this.forNode(name);
    try {
      return await call(client);
    } finally {
      client.close();
    }
  }

  /**
   * Calls every configured node in parallel (each bounded by its own timeout). Never throws
   * for one node's failure: the outcome says which nodes answered.
   */
  async fanOut<T>(call: (client: AgentClient) => Promise<T>, nodes?: NodeConfig[]): Promise<NodeOutcome<T>[]> {
    const targets = nodes ?? this.config.requireNodes();
    const token = await this.tokens.read();
    return Promise.all(
      targets.map(async (node): Promise<NodeOutcome<T>> => {
        const client = this.create(node, token);
        try {
          return { node, ok: true, value: await call(client) };
        } catch (error) {
          return { node, ok: false, error };
        } finally {
          client.close();
        }
      }),
    );
  }

  private create(node: NodeConfig, token: string): AgentClient {
    return this.factory.create({ node, token, caCert: this.config.get().tls.caCert });
  }
}
