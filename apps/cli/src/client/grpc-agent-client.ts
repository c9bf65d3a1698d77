import * as fs from 'node:fs';
import type * as grpc from '@grpc/grpc-js';
import type { agentStubs, AgentStub, ClientStreamRpc, ClientStreamStubs, mcpv1, RpcRequest, RpcResponse, ServerStreamRpc, ServerStreamStubs, StreamMessage, UnaryRpc, UnaryStubs } from '@mcp/proto';
// Deep import: @nestjs/common's index loads every service and pipe (~20 ms of `mcp ps`, bench P2).
import 'reflect-metadata'; // what @nestjs/common's index would have loaded first
import { Injectable } from '@nestjs/common/decorators/core/injectable.decorator';
import type { NodeConfig } from '../config/cli-config';
import { CommandFailedError } from '../errors';
import { AgentClient, AgentClientFactory, AgentClientOptions, ExecCall, PushFileInput, PushImageInput, StreamCallOptions, UpgradeAgentInput, type AgentUpgraded, type ExecStart, type ImagePushResult, type PushedFile } from './agent-client';
import { mapGrpcError } from './grpc-errors';

/**
 * Every unary RPC's deadline class, chosen where the RPC is added: `Record<UnaryRpc, …>`
 * makes tsc reject a new RPC until it is listed here ("Property 'doThing' is missing in
 * type …"), so none falls back to a deadline by accident (a start-first rollback behind a
 * health gate was cut off at the 10 s node timeout while the set above forgot it).
 * - `deploy`: may pull images, run health gates (start_period + retries + drain) or stop
 *   containers: LONG_CALL_DEADLINE_MS in all, a node-timeout connect (the watchdog) and the
 *   keepalive while it runs;
 * - `node`: a question or a small write answered at once: the node timeout in all.
 * The table is audited in docs/ARCHITECTURE.md ("Deadlines").
 */
export const RPC_DEADLINES: Readonly<Record<UnaryRpc, 'deploy' | 'node'>> = {
  deploy: 'deploy',
  rollback: 'deploy',
  syncDesiredState: 'deploy', // a dry run is answered at once: the node timeout (below)
  undeployService: 'deploy',
  stopService: 'deploy',
  startService: 'deploy',
  restartService: 'deploy',
  adoptContainers: 'deploy',
  purgeComponent: 'deploy',
  planDeploy: 'node',
  listServices: 'node',
  getServiceStatus: 'node',
  liveCheck: 'node',
  nodeStatus: 'node',
  listReleases: 'node',
  setSecret: 'node',
  listSecrets: 'node',
  removeSecret: 'node',
  setCordon: 'node',
  imageBlobs: 'node', // one podman image listing and a stat per digest
  rollbackAgent: 'node', // switches a link and answers; the agent exits after
  listBackups: 'deploy', // restic lists the repository and counts each snapshot another node made; runs_only (the dashboard) is answered from the registry: node
  restoreService: 'deploy', // stops, restores, starts and waits for health
  checkBackups: 'deploy', // restic check reads every pack of the service's snapshots
  listJobs: 'node', // the registry's jobs and their newest runs
  listServiceFiles: 'deploy', // hashes every file of /srv/<svc> (a move's copy, SPEC §15)
  applyServiceTree: 'deploy', // removes, makes or sets modes of every entry of /srv/<svc>
  removeServiceData: 'deploy', // removes a whole /srv/<svc>
  readSecretForMove: 'node', // one podman secret inspect and one file read
};
const LONG_CALL_DEADLINE_MS = 10 * 60_000;
/**
 * While a call is open, a ping every 5 s that must be answered within 5 s: a node cut off in
 * the middle of a long call (deploy, sync) is named unreachable within 10 s, not after the
 * 10-minute deadline. The agent's gRPC server accepts pings at that rate.
 */
export const KEEPALIVE_TIME_MS = 5_000;
export const KEEPALIVE_TIMEOUT_MS = 5_000;
/**
 * How much an agent may send on one call (and the connection) before this CLI has taken it:
 * the HTTP/2 receive window. Node's default of 64 KiB made a stream from the agent (exec's
 * output, logs) wait a round trip for every 64 KiB — on two shared cores that, not the bytes,
 * was the limit (bench E2). Data is acknowledged only as the CLI consumes it, so this also
 * bounds what one call can make the CLI hold.
 */
export const RECEIVE_WINDOW_BYTES = 4 * 1024 * 1024;
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

/**
 * The agent API as protobufjs JSON, which scripts/bundle-cli.js inlines into the bundled CLI
 * (esbuild `define`) so no run parses the .proto files; undefined when run from tsc's output or
 * source (jest), which parse them.
 */
declare const MCP_AGENT_PROTO_JSON: string | undefined;

function builtInDescriptor(): object | undefined {
  return typeof MCP_AGENT_PROTO_JSON === 'string' ? (JSON.parse(MCP_AGENT_PROTO_JSON) as object) : undefined;
}

/** gRPC and the proto are loaded on first use, so `--help` never pays for them. */
function loadGrpc(): Promise<Loaded> {
  loaded ??= Promise.all([import('@grpc/grpc-js'), import('@grpc/proto-loader'), import('@mcp/proto')]).then(([grpcModule, loader, proto]) => ({
    grpc: grpcModule,
    stub: proto.agentStubs(grpcModule, loader, builtInDescriptor()),
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
 *   PushImage the same, with the long deadline for the answer (podman loads the image first);
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
    const quick = (rpc === 'syncDesiredState' && 'dryRun' in request && request.dryRun === true) || (rpc === 'listBackups' && 'runsOnly' in request && request.runsOnly === true);
    const long = RPC_DEADLINES[rpc] === 'deploy' && !quick;
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

  pushFile(input: PushFileInput): Promise<PushedFile> {
    async function* messages(): AsyncIterable<mcpv1.PushFileRequest> {
      yield { header: input.header };
      for await (const chunk of input.chunks) yield { chunk };
    }
    return this.clientStream('pushFile', messages(), PUSH_ANSWER_TIMEOUTS * this.node.timeoutMs);
  }

  /** The answer comes once the bundle is checked, unpacked and switched to: as PushFile's. */
  upgradeAgent(input: UpgradeAgentInput): Promise<AgentUpgraded> {
    async function* messages(): AsyncIterable<mcpv1.UpgradeAgentRequest> {
      yield { header: input.header };
      for await (const chunk of input.chunks) yield { chunk };
    }
    return this.clientStream('upgradeAgent', messages(), PUSH_ANSWER_TIMEOUTS * this.node.timeoutMs);
  }

  /** The answer comes once podman has loaded the image, which takes as long as a pull: the long deadline. */
  pushImage(input: PushImageInput): Promise<ImagePushResult> {
    async function* messages(): AsyncIterable<mcpv1.PushImageRequest> {
      yield { header: input.header };
      for await (const blob of input.blobs) {
        yield { blob: { digest: blob.digest, size: blob.size } };
        for await (const chunk of blob.chunks) yield { chunk };
      }
    }
    return this.clientStream('pushImage', messages(), LONG_CALL_DEADLINE_MS);
  }

  /**
   * A client stream: each message taken by the agent (the stream drains) within the node
   * timeout, the answer after the last one within `answerMs`.
   */
  private async clientStream<K extends ClientStreamRpc>(rpc: K, messages: AsyncIterable<StreamMessage<K>>, answerMs: number): Promise<RpcResponse<K>> {
    const { g, client } = await this.connect();
    let call: grpc.ClientWritableStream<StreamMessage<K>> | undefined;
    const result = new Promise<RpcResponse<K>>((resolve, reject) => {
      const methods: ClientStreamStubs = client;
      call = methods[rpc](this.metadata(g), {}, (error, response) => (error ? reject(this.mapError(error, client)) : resolve(response)));
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
      for await (const message of messages) {
        if (failed) break;
        await deadline.wait(writeMessage(stream, message, failure), timeout);
      }
      stream.end();
      return await Promise.race([deadline.wait(result, answerMs), watchdog.promise]);
    } catch (error) {
      stream.cancel();
      // A deadline that passed cancelled the call: say so, not "cancelled".
      throw timedOut ?? deadline.expired ?? failed ?? error;
    } finally {
      watchdog.stop();
    }
  }

  /**
   * Exec, a bidirectional stream: connected within the node timeout (the watchdog), the
   * command started — the agent's response headers — within the node timeout, then no
   * deadline at all (a shell may sit idle for hours): the keepalive names a peer gone.
   */
  async exec(start: ExecStart): Promise<ExecCall> {
    const { g, client } = await this.connect();
    const call = client.exec(this.metadata(g), {});
    const watchdog = this.connectWatchdog(client, () => call.cancel());
    const deadline = new StreamDeadline((ms) => {
      call.cancel();
      return this.noAnswer(ms, client);
    });
    let failure: unknown;
    const failed = new Promise<never>((_, reject) => {
      call.once('error', (error) => {
        failure = this.mapError(error, client);
        reject(failure);
      });
    });
    failed.catch(() => undefined);
    const opened = new Promise<void>((resolve) => call.once('metadata', () => resolve()));
    try {
      call.write({ start });
      await Promise.race([deadline.wait(Promise.race([opened, failed]), this.node.timeoutMs), watchdog.promise]);
    } catch (error) {
      call.cancel();
      throw deadline.expired ?? failure ?? error;
    } finally {
      watchdog.stop();
    }
    const mapError = (error: unknown) => failure ?? this.mapError(error, client);
    async function* messages(): AsyncGenerator<mcpv1.ExecResponse> {
      try {
        for await (const message of call as AsyncIterable<mcpv1.ExecResponse>) yield message;
      } catch (error) {
        throw mapError(error);
      }
    }
    return {
      messages: messages(),
      sendStdin: async (data) => {
        if (call.write({ stdin: data })) return;
        await Promise.race([new Promise<void>((resolve) => call.once('drain', () => resolve())), failed]);
      },
      closeStdin: () => {
        call.write({ stdinClosed: {} });
        call.end();
      },
      resize: (size) => {
        call.write({ resize: size });
      },
      cancel: () => call.cancel(),
    };
  }

  close(): void {
    void this.client?.then(({ client }) => client.close()).catch(() => undefined);
  }

  private connect(): Promise<{ g: typeof grpc; client: AgentStub }> {
    this.client ??= loadGrpc().then(({ grpc: g, stub }) => {
      const tls = this.secureContext();
      const channelOptions: grpc.ChannelOptions = {
        'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
        'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
        'grpc-node.flow_control_window': RECEIVE_WINDOW_BYTES,
      };
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
    // Run and RunJob (SPEC §12) are open-ended like a follow: a one-off container may be quiet for long.
    const follow = rpc === 'run' || rpc === 'runJob' || ('follow' in request && request.follow === true);
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
async function writeMessage<T>(stream: grpc.ClientWritableStream<T>, message: T, failure: Promise<never>): Promise<void> {
  if (stream.write(message)) return;
  await Promise.race([new Promise<void>((resolve) => stream.once('drain', () => resolve())), failure]);
}
