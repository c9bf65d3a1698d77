import type { RpcRequest, RpcResponse, ServerStreamRpc, UnaryRpc } from '@mcp/proto';
import type { NodeConfig } from '../config/cli-config';

/**
 * What the port takes and answers for a unary or server-streaming RPC (one message of a
 * stream): the generated service's types, reached through the port, so commands name an
 * answer by its RPC (`AgentAnswer<'listJobs'>`) and never import @mcp/proto.
 */
export type AgentRequest<K extends UnaryRpc | ServerStreamRpc> = RpcRequest<K>;
export type AgentAnswer<K extends UnaryRpc | ServerStreamRpc> = RpcResponse<K>;

/** A file to push: where it goes on the node and what it is. */
export interface PushFileHeader {
  service: string;
  /** Relative to the service's directory. */
  path: string;
  mode: number;
  size: number;
  sha256: string;
  /** Modification time to give the file (ms since the epoch); 0: the time of the push. */
  mtimeMs: number;
}

/** What the node stored. */
export interface PushedFile {
  path: string;
  size: number;
  sha256: string;
}

export interface PushFileInput {
  header: PushFileHeader;
  /** The content, chunk by chunk; the client awaits the stream's drain between writes. */
  chunks: AsyncIterable<Buffer>;
}

import type { ExecStart, TerminalSize } from '@mcp/common';

export type { ExecStart, TerminalSize };

/** One message of an Exec's output: stdout, stderr, or the exit status (last). */
export interface ExecOutput {
  stdout?: Buffer;
  stderr?: Buffer;
  exitCode?: number;
}

/** An open Exec call (SPEC §12): input goes out as the command takes it, output is pulled. */
export interface ExecCall {
  /** stdout / stderr messages, then the exit status; ends when the agent ends the call. */
  readonly messages: AsyncIterable<ExecOutput>;
  /** Sends stdin bytes; resolves when the call has room again (backpressure). */
  sendStdin(data: Buffer): Promise<void>;
  /** EOF on the command's stdin. */
  closeStdin(): void;
  resize(size: TerminalSize): void;
  /** Ends the call from this side; the agent then ends the command. */
  cancel(): void;
}

/** The agent bundle announced before its bytes. */
export interface UpgradeAgentHeader {
  version: string;
  size: number;
  sha256: string;
}

/** The release the node switched to (it exits and starts it). */
export interface AgentUpgraded {
  release: string;
  previousRelease: string;
  version: string;
}

export interface UpgradeAgentInput {
  header: UpgradeAgentHeader;
  /** The bundle tarball, chunk by chunk. */
  chunks: AsyncIterable<Buffer>;
}

/** One blob of an image push: its chunks follow its digest and size. */
export interface PushImageBlob {
  digest: string;
  size: number;
  chunks: AsyncIterable<Buffer>;
}

/** The image a push announces: its reference, its ID (the config digest) and the OCI manifest. */
export interface PushImageHeader {
  reference: string;
  imageId: string;
  manifest: Buffer;
}

/** What the node received and tagged. */
export interface ImagePushResult {
  imageId: string;
  reference: string;
  blobsReceived: number;
  bytesReceived: number;
  blobsPresent: number;
}

export interface PushImageInput {
  header: PushImageHeader;
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
  pushFile(input: PushFileInput): Promise<PushedFile>;
  /** Opens an Exec call; resolves once the agent started the command (or rejects with its error). */
  exec(start: ExecStart): Promise<ExecCall>;
  upgradeAgent(input: UpgradeAgentInput): Promise<AgentUpgraded>;
  pushImage(input: PushImageInput): Promise<ImagePushResult>;
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
