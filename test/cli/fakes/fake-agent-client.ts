import type { mcpv1 } from '@mcp/proto';
import { AgentClient, AgentClientFactory, AgentClientOptions, PushFileInput, StreamCallOptions } from '../../../apps/cli/src/client/agent-client';
import type { NodeConfig } from '../../../apps/cli/src/config/cli-config';
import { AgentCallError, AgentUnreachableError, TokenRejectedError } from '../../../apps/cli/src/errors';

type Unary = Exclude<keyof AgentClient, 'node' | 'close' | 'pushFile' | 'pullFile' | 'logs'>;

export interface NodeScript {
  /** Every call fails as if the agent could not be reached. */
  unreachable?: boolean;
  /** Every call fails with UNAUTHENTICATED. */
  tokenRejected?: boolean;
  /** Answers per method; a call to a method not listed fails the test. */
  unary?: { [M in Unary]?: (request: Parameters<AgentClient[M]>[0]) => Awaited<ReturnType<AgentClient[M]>> | Error };
  pushFile?: (header: mcpv1.PushFileHeader, data: Buffer) => mcpv1.PushFileResponse;
  pullFile?: (request: mcpv1.PullFileRequest) => mcpv1.PullFileResponse[];
  logs?: (request: mcpv1.LogsRequest) => mcpv1.LogsResponse[];
}

export interface RecordedCall {
  node: string;
  method: string;
  request: unknown;
  token: string;
}

/**
 * Hand-written fake of the agent client port: answers from a per-node script, records every
 * call, and throws on anything not scripted (so a test sees unexpected calls).
 */
export class FakeAgentClientFactory extends AgentClientFactory {
  readonly calls: RecordedCall[] = [];
  readonly created: AgentClientOptions[] = [];

  constructor(private readonly scripts: Record<string, NodeScript>) {
    super();
  }

  create(options: AgentClientOptions): AgentClient {
    this.created.push(options);
    const script = this.scripts[options.node.name];
    if (!script) throw new Error(`FakeAgentClientFactory: no script for node ${options.node.name}`);
    return new FakeAgentClient(options.node, options.token, script, this.calls);
  }
}

class FakeAgentClient implements AgentClient {
  constructor(
    readonly node: NodeConfig,
    private readonly token: string,
    private readonly script: NodeScript,
    private readonly calls: RecordedCall[],
  ) {}

  private answer<M extends Unary>(method: M, request: Parameters<AgentClient[M]>[0]): Promise<Awaited<ReturnType<AgentClient[M]>>> {
    this.record(method, request);
    this.failIfScripted();
    const handler = this.script.unary?.[method] as ((r: typeof request) => Awaited<ReturnType<AgentClient[M]>> | Error) | undefined;
    if (!handler) throw new Error(`FakeAgentClient: unexpected call ${method} on ${this.node.name}`);
    const result = handler(request);
    if (result instanceof Error) return Promise.reject(result);
    return Promise.resolve(result);
  }

  private record(method: string, request: unknown) {
    this.calls.push({ node: this.node.name, method, request, token: this.token });
  }

  private failIfScripted() {
    if (this.script.unreachable) throw new AgentUnreachableError(this.node.name, this.node.address, 'connect ECONNREFUSED');
    if (this.script.tokenRejected) throw new TokenRejectedError(this.node.name);
  }

  deploy = (r: mcpv1.DeployRequest) => this.answer('deploy', r);
  undeployService = (r: mcpv1.UndeployServiceRequest) => this.answer('undeployService', r);
  stopService = (r: mcpv1.StopServiceRequest) => this.answer('stopService', r);
  startService = (r: mcpv1.StartServiceRequest) => this.answer('startService', r);
  restartService = (r: mcpv1.RestartServiceRequest) => this.answer('restartService', r);
  syncDesiredState = (r: mcpv1.SyncDesiredStateRequest) => this.answer('syncDesiredState', r);
  listServices = (r: mcpv1.ListServicesRequest) => this.answer('listServices', r);
  getServiceStatus = (r: mcpv1.GetServiceStatusRequest) => this.answer('getServiceStatus', r);
  liveCheck = (r: mcpv1.LiveCheckRequest) => this.answer('liveCheck', r);
  adoptContainers = (r: mcpv1.AdoptContainersRequest) => this.answer('adoptContainers', r);
  purgeComponent = (r: mcpv1.PurgeComponentRequest) => this.answer('purgeComponent', r);
  nodeStatus = (r: mcpv1.NodeStatusRequest) => this.answer('nodeStatus', r);
  setSecret = (r: mcpv1.SetSecretRequest) => this.answer('setSecret', r);
  listSecrets = (r: mcpv1.ListSecretsRequest) => this.answer('listSecrets', r);
  removeSecret = (r: mcpv1.RemoveSecretRequest) => this.answer('removeSecret', r);

  async pushFile(input: PushFileInput): Promise<mcpv1.PushFileResponse> {
    const parts: Buffer[] = [];
    for await (const chunk of input.chunks) parts.push(chunk);
    this.record('pushFile', { header: input.header, chunks: parts.length });
    this.failIfScripted();
    if (!this.script.pushFile) throw new Error(`FakeAgentClient: unexpected call pushFile on ${this.node.name}`);
    return this.script.pushFile(input.header, Buffer.concat(parts));
  }

  async *pullFile(request: mcpv1.PullFileRequest): AsyncIterable<mcpv1.PullFileResponse> {
    this.record('pullFile', request);
    this.failIfScripted();
    if (!this.script.pullFile) throw new Error(`FakeAgentClient: unexpected call pullFile on ${this.node.name}`);
    yield* this.script.pullFile(request);
  }

  async *logs(request: mcpv1.LogsRequest, options?: StreamCallOptions): AsyncIterable<mcpv1.LogsResponse> {
    this.record('logs', request);
    this.failIfScripted();
    if (!this.script.logs) throw new Error(`FakeAgentClient: unexpected call logs on ${this.node.name}`);
    for (const message of this.script.logs(request)) {
      if (options?.signal?.aborted) return;
      yield message;
    }
  }

  close(): void {}
}

export function agentError(node: string, code: string, message: string): AgentCallError {
  return new AgentCallError(node, code, message);
}
