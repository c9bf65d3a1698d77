import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type { mcpv1 } from '@mcp/proto';
import { Injectable } from '@nestjs/common';
import type { NodeConfig } from '../config/cli-config';
import { CommandFailedError } from '../errors';
import { AgentClient, AgentClientFactory, AgentClientOptions, PushFileInput, StreamCallOptions } from './agent-client';
import { mapGrpcError } from './grpc-errors';

/** Operations that may pull images or stop containers: generous deadline, short connect. */
const LONG_CALL_DEADLINE_MS = 10 * 60_000;
const READY = 2; // grpc.connectivityState.READY

type Callback = (error: grpc.ServiceError | null, response?: unknown) => void;
type UnaryMethod = (request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions, callback: Callback) => grpc.ClientUnaryCall;
type ClientStreamMethod = (metadata: grpc.Metadata, options: grpc.CallOptions, callback: Callback) => grpc.ClientWritableStream<unknown>;
type ServerStreamMethod = (request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions) => grpc.ClientReadableStream<unknown>;

interface Loaded {
  grpc: typeof grpc;
  Service: grpc.ServiceClientConstructor;
}

let loaded: Promise<Loaded> | undefined;

/** gRPC and the proto are loaded on first use, so `--help` never pays for them. */
function loadGrpc(): Promise<Loaded> {
  loaded ??= (async () => {
    const [grpcModule, loader, proto] = await Promise.all([
      import('@grpc/grpc-js'),
      import('@grpc/proto-loader'),
      import('@mcp/proto'),
    ]);
    const definition = loader.loadSync(path.join(proto.PROTO_ROOT, proto.MCP_PROTO_FILE), {
      ...proto.PROTO_LOADER_OPTIONS,
      includeDirs: [...proto.PROTO_LOADER_OPTIONS.includeDirs],
    });
    const tree = grpcModule.loadPackageDefinition(definition) as unknown as Record<
      string,
      Record<string, Record<string, grpc.ServiceClientConstructor>>
    >;
    return { grpc: grpcModule, Service: tree.mcp.v1[proto.MCP_SERVICE] };
  })();
  return loaded;
}

@Injectable()
export class GrpcAgentClientFactory extends AgentClientFactory {
  create(options: AgentClientOptions): AgentClient {
    return new GrpcAgentClient(options);
  }
}

/**
 * A plain @grpc/grpc-js client of one agent: TLS 1.3 with the configured CA, the bearer
 * token on every call, the node's `server_name` as TLS name and authority (so an IP can be
 * dialled safely), and deadlines: the node timeout for connecting and quick calls, a long
 * one for deploy-like calls, none for streams.
 */
export class GrpcAgentClient implements AgentClient {
  readonly node: NodeConfig;
  private client?: Promise<{ g: typeof grpc; client: grpc.Client }>;

  constructor(private readonly options: AgentClientOptions) {
    this.node = options.node;
  }

  deploy(request: mcpv1.DeployRequest): Promise<mcpv1.DeployResponse> {
    return this.unary('deploy', request, 'long');
  }
  undeployService(request: mcpv1.UndeployServiceRequest): Promise<mcpv1.UndeployServiceResponse> {
    return this.unary('undeployService', request, 'long');
  }
  stopService(request: mcpv1.StopServiceRequest): Promise<mcpv1.StopServiceResponse> {
    return this.unary('stopService', request, 'long');
  }
  startService(request: mcpv1.StartServiceRequest): Promise<mcpv1.StartServiceResponse> {
    return this.unary('startService', request, 'long');
  }
  restartService(request: mcpv1.RestartServiceRequest): Promise<mcpv1.RestartServiceResponse> {
    return this.unary('restartService', request, 'long');
  }
  syncDesiredState(request: mcpv1.SyncDesiredStateRequest): Promise<mcpv1.SyncDesiredStateResponse> {
    return this.unary('syncDesiredState', request, request.dryRun ? 'quick' : 'long');
  }
  listServices(request: mcpv1.ListServicesRequest): Promise<mcpv1.ListServicesResponse> {
    return this.unary('listServices', request, 'quick');
  }
  getServiceStatus(request: mcpv1.GetServiceStatusRequest): Promise<mcpv1.GetServiceStatusResponse> {
    return this.unary('getServiceStatus', request, 'quick');
  }
  liveCheck(request: mcpv1.LiveCheckRequest): Promise<mcpv1.LiveCheckResponse> {
    return this.unary('liveCheck', request, 'quick');
  }
  adoptContainers(request: mcpv1.AdoptContainersRequest): Promise<mcpv1.AdoptContainersResponse> {
    return this.unary('adoptContainers', request, 'long');
  }
  purgeComponent(request: mcpv1.PurgeComponentRequest): Promise<mcpv1.PurgeComponentResponse> {
    return this.unary('purgeComponent', request, 'quick');
  }
  nodeStatus(request: mcpv1.NodeStatusRequest): Promise<mcpv1.NodeStatusResponse> {
    return this.unary('nodeStatus', request, 'quick');
  }
  setSecret(request: mcpv1.SetSecretRequest): Promise<mcpv1.SetSecretResponse> {
    return this.unary('setSecret', request, 'quick');
  }
  listSecrets(request: mcpv1.ListSecretsRequest): Promise<mcpv1.ListSecretsResponse> {
    return this.unary('listSecrets', request, 'quick');
  }
  removeSecret(request: mcpv1.RemoveSecretRequest): Promise<mcpv1.RemoveSecretResponse> {
    return this.unary('removeSecret', request, 'quick');
  }

  async pushFile(input: PushFileInput): Promise<mcpv1.PushFileResponse> {
    const { g, client } = await this.connect();
    const method = (client as unknown as Record<string, ClientStreamMethod>).pushFile.bind(client);
    let call: grpc.ClientWritableStream<unknown> | undefined;
    const result = new Promise<mcpv1.PushFileResponse>((resolve, reject) => {
      call = method(this.metadata(g), {}, (error, response) =>
        error ? reject(this.mapError(error, client)) : resolve(response as mcpv1.PushFileResponse),
      );
    });
    const stream = call!;
    const watchdog = this.connectWatchdog(client, () => stream.cancel());
    // A failed call must not leave the writer waiting for a drain that never comes.
    let failed: unknown;
    const failure = new Promise<never>((_, reject) => {
      result.catch((error) => {
        failed = error;
        reject(error);
      });
    });
    failure.catch(() => undefined);
    try {
      await writeMessage(stream, { header: input.header }, failure);
      for await (const chunk of input.chunks) {
        if (failed) break;
        await writeMessage(stream, { chunk }, failure);
      }
      stream.end();
      return await Promise.race([result, watchdog.promise]);
    } catch (error) {
      stream.cancel();
      throw failed ?? error;
    } finally {
      watchdog.stop();
    }
  }

  pullFile(request: mcpv1.PullFileRequest, options?: StreamCallOptions): AsyncIterable<mcpv1.PullFileResponse> {
    return this.serverStream<mcpv1.PullFileResponse>('pullFile', request, options);
  }

  logs(request: mcpv1.LogsRequest, options?: StreamCallOptions): AsyncIterable<mcpv1.LogsResponse> {
    return this.serverStream<mcpv1.LogsResponse>('logs', request, options);
  }

  close(): void {
    void this.client?.then(({ client }) => client.close()).catch(() => undefined);
  }

  private connect(): Promise<{ g: typeof grpc; client: grpc.Client }> {
    this.client ??= loadGrpc().then(({ grpc: g, Service }) => {
      const tls = this.secureContext();
      const channelOptions: grpc.ChannelOptions = {};
      if (this.node.serverName) {
        channelOptions['grpc.ssl_target_name_override'] = this.node.serverName;
        channelOptions['grpc.default_authority'] = this.node.serverName;
      }
      const credentials = g.credentials.createFromSecureContext(tls);
      if (!this.node.serverName && isIpAddress(this.node.address)) withoutSni(credentials);
      return { g, client: new Service(this.node.address, credentials, channelOptions) };
    });
    return this.client;
  }

  private secureContext() {
    // Lazy: tls is only needed once a call is made.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const tls = require('node:tls') as typeof import('node:tls');
    let ca: Buffer | undefined;
    if (this.options.caCert) {
      try {
        ca = fs.readFileSync(this.options.caCert);
      } catch (error) {
        throw new CommandFailedError(`cannot read [tls] ca_cert ${this.options.caCert}: ${(error as Error).message}`);
      }
    }
    return tls.createSecureContext({ ca, minVersion: 'TLSv1.3' });
  }

  private metadata(g: typeof grpc): grpc.Metadata {
    const metadata = new g.Metadata();
    metadata.set('authorization', `Bearer ${this.options.token}`);
    return metadata;
  }

  private isReady(client: grpc.Client): boolean {
    return client.getChannel().getConnectivityState(false) === READY;
  }

  private mapError(error: unknown, client: grpc.Client) {
    return mapGrpcError(error, this.node, this.isReady(client));
  }

  /**
   * For calls without a short deadline: if the channel is not connected within the node
   * timeout, cancel and report the agent unreachable instead of waiting on.
   */
  private connectWatchdog(client: grpc.Client, cancel: () => void) {
    let timer: NodeJS.Timeout | undefined;
    const promise = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        if (this.isReady(client)) return;
        cancel();
        reject(mapGrpcError({ code: 4, details: `no connection within ${this.node.timeoutMs / 1000}s` }, this.node, false));
      }, this.node.timeoutMs);
      timer.unref();
    });
    promise.catch(() => undefined);
    return { promise, stop: () => clearTimeout(timer) };
  }

  private async unary<T>(name: string, request: unknown, kind: 'quick' | 'long'): Promise<T> {
    const { g, client } = await this.connect();
    const method = (client as unknown as Record<string, UnaryMethod>)[name].bind(client);
    const timeout = kind === 'quick' ? this.node.timeoutMs : LONG_CALL_DEADLINE_MS;
    let call: grpc.ClientUnaryCall | undefined;
    const result = new Promise<T>((resolve, reject) => {
      call = method(request, this.metadata(g), { deadline: Date.now() + timeout }, (error, response) =>
        error ? reject(this.mapError(error, client)) : resolve(response as T),
      );
    });
    if (kind === 'quick') return result;
    const watchdog = this.connectWatchdog(client, () => call?.cancel());
    try {
      return await Promise.race([result, watchdog.promise]);
    } finally {
      watchdog.stop();
    }
  }

  private async *serverStream<T>(name: string, request: unknown, options?: StreamCallOptions): AsyncIterable<T> {
    const { g, client } = await this.connect();
    const method = (client as unknown as Record<string, ServerStreamMethod>)[name].bind(client);
    const call = method(request, this.metadata(g), {});
    const onAbort = () => call.cancel();
    options?.signal?.addEventListener('abort', onAbort, { once: true });
    const watchdog = this.connectWatchdog(client, () => call.cancel());
    let timedOut: unknown;
    watchdog.promise.catch((error) => (timedOut = error));
    try {
      for await (const message of call) {
        yield message as T;
      }
    } catch (error) {
      if (options?.signal?.aborted) return;
      throw timedOut ?? this.mapError(error, client);
    } finally {
      watchdog.stop();
      options?.signal?.removeEventListener('abort', onAbort);
    }
  }
}

/** Whether `host:port` (or `[v6]:port`) dials an IP literal rather than a name. */
function isIpAddress(address: string): boolean {
  const host = address.startsWith('[') ? address.slice(1, address.indexOf(']')) : address.slice(0, address.lastIndexOf(':'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node:net') as typeof import('node:net')).isIP(host) !== 0;
}

/**
 * An IP must not be sent as TLS server name (RFC 6066; Node warns on every call). grpc-js
 * always sets one, so drop it from the connection options it builds: the certificate is then
 * verified against the dialled IP (an IP SAN), and no SNI is sent. A node whose certificate
 * carries a name instead sets `server_name`, which is sent and verified.
 */
function withoutSni(credentials: grpc.ChannelCredentials): void {
  type Connector = { connectionOptions?: { servername?: string } };
  const target = credentials as unknown as { _createSecureConnector: (...args: unknown[]) => Connector };
  const create = target._createSecureConnector.bind(credentials);
  target._createSecureConnector = (...args: unknown[]) => {
    const connector = create(...args);
    if (connector.connectionOptions) delete connector.connectionOptions.servername;
    return connector;
  };
}

/** Writes one message and waits for drain when the stream's buffer is full. */
async function writeMessage(stream: grpc.ClientWritableStream<unknown>, message: unknown, failure: Promise<never>): Promise<void> {
  if (stream.write(message)) return;
  await Promise.race([new Promise<void>((resolve) => stream.once('drain', () => resolve())), failure]);
}
