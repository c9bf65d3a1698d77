import * as fs from 'node:fs';
import type * as grpc from '@grpc/grpc-js';
import type { agentStubs, AgentStub, mcpv1, RpcRequest, RpcResponse, ServerStreamRpc, ServerStreamStubs, UnaryRpc, UnaryStubs } from '@mcp/proto';
import { Injectable } from '@nestjs/common';
import type { NodeConfig } from '../config/cli-config';
import { CommandFailedError } from '../errors';
import { AgentClient, AgentClientFactory, AgentClientOptions, PushFileInput, StreamCallOptions } from './agent-client';
import { mapGrpcError } from './grpc-errors';

/**
 * RPCs that may pull images or stop containers: a generous deadline, a short connect (the
 * watchdog). Every other unary RPC gets the node timeout; a dry-run sync is quick.
 */
const LONG_RPCS: ReadonlySet<UnaryRpc> = new Set<UnaryRpc>(['deploy', 'undeployService', 'stopService', 'startService', 'restartService', 'syncDesiredState', 'adoptContainers']);
const LONG_CALL_DEADLINE_MS = 10 * 60_000;
/**
 * While a call is open, a ping every 5 s that must be answered within 5 s: a node cut off in
 * the middle of a long call (deploy, sync) is named unreachable within 10 s, not after the
 * 10-minute deadline. The agent's gRPC server accepts pings at that rate.
 */
export const KEEPALIVE_TIME_MS = 5_000;
export const KEEPALIVE_TIMEOUT_MS = 5_000;
const READY = 2; // grpc.connectivityState.READY
/**
 * A finished push is answered once the agent has flushed the file to disk and renamed it into
 * place: that wait is this many node timeouts (30 s by default), not one.
 */
export const PUSH_ANSWER_TIMEOUTS = 3;

interface Loaded {
  grpc: typeof grpc;
  stub: ReturnType<typeof agentStubs>;
}

let loaded: Promise<Loaded> | undefined;

/** gRPC and the proto are loaded on first use, so `--help` never pays for them. */
function loadGrpc(): Promise<Loaded> {
  loaded ??= Promise.all([import('@grpc/grpc-js'), import('@grpc/proto-loader'), import('@mcp/proto')]).then(([grpcModule, loader, proto]) => ({
    grpc: grpcModule,
    stub: proto.agentStubs(grpcModule, loader),
  }));
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
 * dialled safely), and a deadline on every kind of RPC (issue #12):
 * - connecting: the node timeout (`timeout` in mcp.toml, 10 s by default), for every call;
 * - quick unary calls: the node timeout in all; deploy-like calls: 10 minutes in all, and the
 *   keepalive below while they run;
 * - PushFile (client stream): each chunk taken by the agent (the stream drains) within the
 *   node timeout, and the answer after the last chunk within PUSH_ANSWER_TIMEOUTS of them;
 * - PullFile, and Logs / Events without follow (finite server streams): each message within
 *   the node timeout — an idle deadline, since a big file or log has no sensible total one;
 * - Logs -f / Events -f (follow streams): the agent opens the stream (its response headers)
 *   within the node timeout; after that, silence is normal (a quiet container), so there is
 *   no idle deadline, and the keepalive (a ping every 5 s answered within 5 s) names a node
 *   that is cut off or gone within 10 s.
 * A deadline that passes cancels the call and reads `no answer within Ns`.
 */
export class GrpcAgentClient implements AgentClient {
  readonly node: NodeConfig;
  private client?: Promise<{ g: typeof grpc; client: AgentStub }>;

  constructor(private readonly options: AgentClientOptions) {
    this.node = options.node;
  }

  call<K extends UnaryRpc>(rpc: K, request: RpcRequest<K>): Promise<RpcResponse<K>> {
    const long = LONG_RPCS.has(rpc) && !(rpc === 'syncDesiredState' && 'dryRun' in request && request.dryRun === true);
    return this.unary(rpc, request, long ? 'long' : 'quick');
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
    let call: grpc.ClientWritableStream<mcpv1.PushFileRequest> | undefined;
    const result = new Promise<mcpv1.PushFileResponse>((resolve, reject) => {
      call = client.pushFile(this.metadata(g), {}, (error, response) => (error ? reject(this.mapError(error, client)) : resolve(response)));
    });
    const stream = call!;
    const watchdog = this.connectWatchdog(client, () => stream.cancel());
    let timedOut: unknown;
    watchdog.promise.catch((error) => (timedOut = error));
    const deadline = new StreamDeadline((ms) => {
      stream.cancel();
      return this.noAnswer(ms, client);
    });
    // A failed call must not leave the writer waiting for a drain that never comes.
    let failed: unknown;
    const failure = new Promise<never>((_, reject) => {
      result.catch((error) => {
        failed = error;
        reject(error);
      });
    });
    failure.catch(() => undefined);
    const timeout = this.node.timeoutMs;
    try {
      await deadline.wait(writeMessage(stream, { header: input.header }, failure), timeout);
      for await (const chunk of input.chunks) {
        if (failed) break;
        await deadline.wait(writeMessage(stream, { chunk }, failure), timeout);
      }
      stream.end();
      return await Promise.race([deadline.wait(result, PUSH_ANSWER_TIMEOUTS * timeout), watchdog.promise]);
    } catch (error) {
      stream.cancel();
      // A deadline that passed cancelled the call: say so, not "cancelled".
      throw timedOut ?? deadline.expired ?? failed ?? error;
    } finally {
      watchdog.stop();
    }
  }

  close(): void {
    void this.client?.then(({ client }) => client.close()).catch(() => undefined);
  }

  private connect(): Promise<{ g: typeof grpc; client: AgentStub }> {
    this.client ??= loadGrpc().then(({ grpc: g, stub }) => {
      const tls = this.secureContext();
      const channelOptions: grpc.ChannelOptions = { 'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS, 'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS };
      if (this.node.serverName) {
        channelOptions['grpc.ssl_target_name_override'] = this.node.serverName;
        channelOptions['grpc.default_authority'] = this.node.serverName;
      }
      const credentials = g.credentials.createFromSecureContext(tls);
      if (!this.node.serverName && isIpAddress(this.node.address)) withoutSni(credentials);
      return { g, client: stub(this.node.address, credentials, channelOptions) };
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

  /** A stream's deadline passed: unreachable when never connected, else the agent not answering. */
  private noAnswer(ms: number, client: grpc.Client) {
    return mapGrpcError({ code: 4, details: `no answer within ${ms / 1000}s` }, this.node, this.isReady(client));
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

  private async unary<K extends UnaryRpc>(rpc: K, request: RpcRequest<K>, kind: 'quick' | 'long'): Promise<RpcResponse<K>> {
    const { g, client } = await this.connect();
    const timeout = kind === 'quick' ? this.node.timeoutMs : LONG_CALL_DEADLINE_MS;
    let call: grpc.ClientUnaryCall | undefined;
    const result = new Promise<RpcResponse<K>>((resolve, reject) => {
      const methods: UnaryStubs = client;
      call = methods[rpc](request, this.metadata(g), { deadline: Date.now() + timeout }, (error, response) =>
        (error ? reject(this.mapError(error, client)) : resolve(response)),
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

  async *stream<K extends ServerStreamRpc>(rpc: K, request: RpcRequest<K>, options?: StreamCallOptions): AsyncIterable<RpcResponse<K>> {
    const { g, client } = await this.connect();
    const methods: ServerStreamStubs = client;
    const call = methods[rpc](request, this.metadata(g), {});
    const onAbort = () => call.cancel();
    options?.signal?.addEventListener('abort', onAbort, { once: true });
    const watchdog = this.connectWatchdog(client, () => call.cancel());
    let timedOut: unknown;
    watchdog.promise.catch((error) => (timedOut = error));
    const deadline = new StreamDeadline((ms) => {
      call.cancel();
      return this.noAnswer(ms, client);
    });
    // A follow stream is open once the agent sent its response headers (it does at once).
    const follow = 'follow' in request && request.follow === true;
    if (follow) call.once('metadata', () => deadline.stop());
    const messages = call[Symbol.asyncIterator]() as AsyncIterator<RpcResponse<K>>;
    try {
      for (;;) {
        const next = await deadline.wait(messages.next(), this.node.timeoutMs);
        if (next.done) return;
        if (follow) deadline.stop();
        yield next.value;
      }
    } catch (error) {
      if (options?.signal?.aborted) return;
      throw timedOut ?? deadline.expired ?? this.mapError(error, client);
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
  // A private grpc-js method: checked at run time rather than cast to a guessed type.
  const create: unknown = Reflect.get(credentials, '_createSecureConnector');
  if (typeof create !== 'function') return;
  Reflect.set(credentials, '_createSecureConnector', (...args: unknown[]): unknown => {
    const connector: unknown = Reflect.apply(create, credentials, args);
    const options: unknown = typeof connector === 'object' && connector !== null ? Reflect.get(connector, 'connectionOptions') : undefined;
    if (typeof options === 'object' && options !== null) Reflect.deleteProperty(options, 'servername');
    return connector;
  });
}

/**
 * Bounds each wait on a stream's peer. When a wait outlasts its time, `expire` cancels the
 * call and makes the error, which the wait rejects with (and `expired` keeps). `stop()` ends
 * all deadlines, the one of a wait in progress too (a follow stream, once open).
 */
class StreamDeadline {
  expired: unknown;
  private stopped = false;
  private timer?: NodeJS.Timeout;

  constructor(private readonly expire: (ms: number) => unknown) {}

  async wait<T>(promise: Promise<T>, ms: number): Promise<T> {
    if (this.stopped) return promise;
    const expiry = new Promise<never>((_, reject) => {
      this.timer = setTimeout(() => {
        this.expired = this.expire(ms);
        reject(this.expired);
      }, ms);
    });
    try {
      return await Promise.race([promise, expiry]);
    } finally {
      clearTimeout(this.timer);
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}

/** Writes one message and waits for drain when the stream's buffer is full. */
async function writeMessage(stream: grpc.ClientWritableStream<mcpv1.PushFileRequest>, message: mcpv1.PushFileRequest, failure: Promise<never>): Promise<void> {
  if (stream.write(message)) return;
  await Promise.race([new Promise<void>((resolve) => stream.once('drain', () => resolve())), failure]);
}
