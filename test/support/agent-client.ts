import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { mcpv1 } from '@mcp/proto';
import { AGENT_GRPC_DEFINITION } from '../../apps/agent/src/grpc-options';

/** Request/response types of every unary RPC, keyed by the client's method name. */
export interface UnaryRpcs {
  deploy: [mcpv1.DeployRequest, mcpv1.DeployResponse];
  undeployService: [mcpv1.UndeployServiceRequest, mcpv1.UndeployServiceResponse];
  stopService: [mcpv1.StopServiceRequest, mcpv1.StopServiceResponse];
  startService: [mcpv1.StartServiceRequest, mcpv1.StartServiceResponse];
  restartService: [mcpv1.RestartServiceRequest, mcpv1.RestartServiceResponse];
  syncDesiredState: [mcpv1.SyncDesiredStateRequest, mcpv1.SyncDesiredStateResponse];
  listServices: [mcpv1.ListServicesRequest, mcpv1.ListServicesResponse];
  getServiceStatus: [mcpv1.GetServiceStatusRequest, mcpv1.GetServiceStatusResponse];
  liveCheck: [mcpv1.LiveCheckRequest, mcpv1.LiveCheckResponse];
  adoptContainers: [mcpv1.AdoptContainersRequest, mcpv1.AdoptContainersResponse];
  purgeComponent: [mcpv1.PurgeComponentRequest, mcpv1.PurgeComponentResponse];
  nodeStatus: [mcpv1.NodeStatusRequest, mcpv1.NodeStatusResponse];
  setSecret: [mcpv1.SetSecretRequest, mcpv1.SetSecretResponse];
  listSecrets: [mcpv1.ListSecretsRequest, mcpv1.ListSecretsResponse];
  removeSecret: [mcpv1.RemoveSecretRequest, mcpv1.RemoveSecretResponse];
}
export type UnaryMethod = keyof UnaryRpcs;

export const UNARY_METHODS: UnaryMethod[] = [
  'deploy', 'undeployService', 'stopService', 'startService', 'restartService', 'syncDesiredState',
  'listServices', 'getServiceStatus', 'liveCheck', 'adoptContainers', 'purgeComponent', 'nodeStatus',
  'setSecret', 'listSecrets', 'removeSecret',
];

type UnaryFn = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => grpc.ClientUnaryCall;

/** The raw grpc-js client, for the streaming RPCs. */
export interface RawAgentClient extends grpc.Client {
  pushFile(md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res: mcpv1.PushFileResponse) => void): grpc.ClientWritableStream<mcpv1.PushFileRequest>;
  pullFile(req: mcpv1.PullFileRequest, md: grpc.Metadata): grpc.ClientReadableStream<mcpv1.PullFileResponse>;
  logs(req: mcpv1.LogsRequest, md: grpc.Metadata): grpc.ClientReadableStream<mcpv1.LogsResponse>;
}

export interface AgentTestClient {
  /** Calls a unary RPC; `token: null` sends no authorization metadata, a string overrides it. */
  call<K extends UnaryMethod>(method: K, request: Partial<UnaryRpcs[K][0]>, options?: { token?: string | null; authorization?: string }): Promise<UnaryRpcs[K][1]>;
  /** Metadata carrying the client's token (or the given one). */
  metadata(options?: { token?: string | null; authorization?: string }): grpc.Metadata;
  raw: RawAgentClient;
  close(): void;
}

let definition: grpc.GrpcObject | undefined;

/** The McpAgentService constructor, loaded exactly as the server loads its definition. */
export function loadAgentServiceClient(): grpc.ServiceClientConstructor {
  definition ??= grpc.loadPackageDefinition(protoLoader.loadSync(AGENT_GRPC_DEFINITION.protoPath, AGENT_GRPC_DEFINITION.loader));
  const pkg = AGENT_GRPC_DEFINITION.package.split('.').reduce<grpc.GrpcObject>((obj, part) => obj[part] as grpc.GrpcObject, definition);
  return pkg.McpAgentService as grpc.ServiceClientConstructor;
}

/**
 * A typed client for the agent over TLS (trusting `caCertPath`; the server name checked is
 * `localhost`, which test certificates carry) with a bearer token.
 */
export function agentClient(input: { address: string; caCertPath: string; token?: string; serverName?: string; credentials?: grpc.ChannelCredentials }): AgentTestClient {
  const Client = loadAgentServiceClient();
  const serverName = input.serverName ?? 'localhost';
  const raw = new Client(input.address, input.credentials ?? grpc.credentials.createSsl(fs.readFileSync(input.caCertPath)), {
    'grpc.ssl_target_name_override': serverName,
    'grpc.default_authority': serverName,
  }) as unknown as RawAgentClient;

  const metadata = (options: { token?: string | null; authorization?: string } = {}): grpc.Metadata => {
    const md = new grpc.Metadata();
    if (options.authorization !== undefined) {
      md.set('authorization', options.authorization);
      return md;
    }
    const token = options.token === undefined ? input.token : options.token;
    if (token) md.set('authorization', `Bearer ${token}`);
    return md;
  };

  return {
    metadata,
    raw,
    close: () => raw.close(),
    call(method, request, options) {
      const fn = (raw as unknown as Record<string, UnaryFn>)[method];
      return new Promise((resolve, reject) => {
        fn.call(raw, request, metadata(options), { deadline: Date.now() + 120_000 }, (err, res) => (err ? reject(err) : resolve(res as never)));
      });
    },
  };
}
