import type { mcpv1, RpcRequest, RpcResponse, ServerStreamRpc, UnaryRpc } from '@mcp/proto';
import type { NodeConfig } from '../config/cli-config';

export interface PushFileInput {
  header: mcpv1.PushFileHeader;
  /** The content, chunk by chunk; the client awaits the stream's drain between writes. */
  chunks: AsyncIterable<Buffer>;
}

/** An open Exec call (SPEC §12): input goes out as the command takes it, output is pulled. */
export interface ExecCall {
  /** stdout / stderr messages, then the exit status; ends when the agent ends the call. */
  readonly messages: AsyncIterable<mcpv1.ExecResponse>;
  /** Sends stdin bytes; resolves when the call has room again (backpressure). */
  sendStdin(data: Buffer): Promise<void>;
  /** EOF on the command's stdin. */
  closeStdin(): void;
  resize(size: mcpv1.TerminalSize): void;
  /** Ends the call from this side; the agent then ends the command. */
  cancel(): void;
}

export interface UpgradeAgentInput {
  header: mcpv1.UpgradeAgentHeader;
  /** The bundle tarball, chunk by chunk. */
  chunks: AsyncIterable<Buffer>;
}

/** One blob of an image push: its chunks follow its digest and size. */
export interface PushImageBlob {
  digest: string;
  size: number;
  chunks: AsyncIterable<Buffer>;
}

export interface PushImageInput {
  header: mcpv1.PushImageHeader;
  /** The blobs the node lacks, one after the other. */
  blobs: AsyncIterable<PushImageBlob>;
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
  /** Opens an Exec call; resolves once the agent started the command (or rejects with its error). */
  exec(start: mcpv1.ExecStart): Promise<ExecCall>;
  upgradeAgent(input: UpgradeAgentInput): Promise<mcpv1.UpgradeAgentResponse>;
  pushImage(input: PushImageInput): Promise<mcpv1.PushImageResponse>;
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
