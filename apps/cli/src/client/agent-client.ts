import type { mcpv1, RpcRequest, RpcResponse, ServerStreamRpc, UnaryRpc } from '@mcp/proto';
import type { NodeConfig } from '../config/cli-config';

export interface PushFileInput {
  header: mcpv1.PushFileHeader;
  /** The content, chunk by chunk; the client awaits the stream's drain between writes. */
  chunks: AsyncIterable<Buffer>;
}

export interface StreamCallOptions {
  /** Aborting cancels the call (Ctrl-C on `logs -f`). */
  signal?: AbortSignal;
}

/**
 * One node's agent, as the commands see it, typed from the generated service: `call('deploy',
 * request)` takes a DeployRequest and answers a DeployResponse. Every method throws CLI errors
 * (unreachable, token rejected, the agent's own error), never raw gRPC errors.
 */
export interface AgentClient {
  readonly node: NodeConfig;
  call<K extends UnaryRpc>(rpc: K, request: RpcRequest<K>): Promise<RpcResponse<K>>;
  stream<K extends ServerStreamRpc>(rpc: K, request: RpcRequest<K>, options?: StreamCallOptions): AsyncIterable<RpcResponse<K>>;
  pushFile(input: PushFileInput): Promise<mcpv1.PushFileResponse>;
  close(): void;
}

export interface AgentClientOptions {
  node: NodeConfig;
  token: string;
  /** PEM file of the CA that signed the agents' certificates; system roots when absent. */
  caCert?: string;
}

/** Port: makes a client for one node. Tests bind a fake through Nest DI. */
export abstract class AgentClientFactory {
  abstract create(options: AgentClientOptions): AgentClient;
}
