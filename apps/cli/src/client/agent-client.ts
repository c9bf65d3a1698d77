import type { mcpv1 } from '@mcp/proto';
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
 * One node's agent, as the commands see it. Every method throws CLI errors (unreachable,
 * token rejected, the agent's own error), never raw gRPC errors.
 */
export interface AgentClient {
  readonly node: NodeConfig;
  deploy(request: mcpv1.DeployRequest): Promise<mcpv1.DeployResponse>;
  undeployService(request: mcpv1.UndeployServiceRequest): Promise<mcpv1.UndeployServiceResponse>;
  stopService(request: mcpv1.StopServiceRequest): Promise<mcpv1.StopServiceResponse>;
  startService(request: mcpv1.StartServiceRequest): Promise<mcpv1.StartServiceResponse>;
  restartService(request: mcpv1.RestartServiceRequest): Promise<mcpv1.RestartServiceResponse>;
  syncDesiredState(request: mcpv1.SyncDesiredStateRequest): Promise<mcpv1.SyncDesiredStateResponse>;
  listServices(request: mcpv1.ListServicesRequest): Promise<mcpv1.ListServicesResponse>;
  getServiceStatus(request: mcpv1.GetServiceStatusRequest): Promise<mcpv1.GetServiceStatusResponse>;
  liveCheck(request: mcpv1.LiveCheckRequest): Promise<mcpv1.LiveCheckResponse>;
  adoptContainers(request: mcpv1.AdoptContainersRequest): Promise<mcpv1.AdoptContainersResponse>;
  purgeComponent(request: mcpv1.PurgeComponentRequest): Promise<mcpv1.PurgeComponentResponse>;
  nodeStatus(request: mcpv1.NodeStatusRequest): Promise<mcpv1.NodeStatusResponse>;
  setSecret(request: mcpv1.SetSecretRequest): Promise<mcpv1.SetSecretResponse>;
  listSecrets(request: mcpv1.ListSecretsRequest): Promise<mcpv1.ListSecretsResponse>;
  removeSecret(request: mcpv1.RemoveSecretRequest): Promise<mcpv1.RemoveSecretResponse>;
  pushFile(input: PushFileInput): Promise<mcpv1.PushFileResponse>;
  pullFile(request: mcpv1.PullFileRequest, options?: StreamCallOptions): AsyncIterable<mcpv1.PullFileResponse>;
  logs(request: mcpv1.LogsRequest, options?: StreamCallOptions): AsyncIterable<mcpv1.LogsResponse>;
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
