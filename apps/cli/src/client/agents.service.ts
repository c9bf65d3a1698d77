import { Injectable } from '@nestjs/common';
import { TokenStore } from '../auth/token-store';
import { CliConfigService } from '../config/cli-config.service';
import type { NodeConfig } from '../config/cli-config';
import { AgentUnreachableError, CliError, ExitCode, ExitCodeValue, PartialFailureError, exitCodeFor, describeError } from '../errors';
import { AgentClient, AgentClientFactory } from './agent-client';

export type NodeOutcome<T> = { node: NodeConfig; ok: true; value: T } | { node: NodeConfig; ok: false; error: unknown };

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

/** Short per-node state for a row: `unreachable`, `unauthenticated` or `error`. */
export function failureLabel(error: unknown): string {
  if (error instanceof AgentUnreachableError) return 'unreachable';
  if (exitCodeFor(error) === ExitCode.unauthenticated) return 'unauthenticated';
  return 'error';
}

/**
 * The exit code of a fan-out: 0 when every node answered; the shared code when all failures
 * agree (3 unreachable, 4 token rejected); 1 when failures differ.
 */
export function fleetExitCode(outcomes: Array<{ ok: boolean; error?: unknown }>): ExitCodeValue {
  const codes = new Set(outcomes.filter((o) => !o.ok).map((o) => exitCodeFor(o.error)));
  if (codes.size === 0) return ExitCode.ok;
  if (codes.size === 1) return [...codes][0] as ExitCodeValue;
  return ExitCode.failure;
}

/** Throws (after the rows were printed) when some node failed; the message lists them. */
export function throwIfFleetFailed(outcomes: NodeOutcome<unknown>[]): void {
  const code = fleetExitCode(outcomes);
  if (code === ExitCode.ok) return;
  const lines = outcomes
    .filter((o): o is Extract<NodeOutcome<unknown>, { ok: false }> => !o.ok)
    .map((o) => (o.error instanceof CliError && o.error.message.includes(o.node.name) ? describeError(o.error) : `${o.node.name}: ${describeError(o.error)}`));
  throw new PartialFailureError(lines.join('\n'), code);
}

export function fleetErrors(outcomes: NodeOutcome<unknown>[]): Array<{ node: string; error: string; kind: string }> {
  return outcomes
    .filter((o): o is Extract<NodeOutcome<unknown>, { ok: false }> => !o.ok)
    .map((o) => ({ node: o.node.name, error: describeError(o.error), kind: failureLabel(o.error) }));
}
