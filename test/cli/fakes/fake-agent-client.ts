import type { mcpv1, RpcRequest, RpcResponse, ServerStreamRpc, UnaryRpc } from '@mcp/proto';
import { AgentClient, AgentClientFactory, AgentClientOptions, ExecCall, PushFileInput, PushImageInput, StreamCallOptions, UpgradeAgentInput } from '../../../apps/cli/src/client/agent-client';
import type { NodeConfig } from '../../../apps/cli/src/config/cli-config';
import { AgentCallError, AgentUnreachableError, TokenRejectedError } from '../../../apps/cli/src/errors';


export interface NodeScript {
  /** Every call fails as if the agent could not be reached. */
  unreachable?: boolean;
  /** Every call fails with UNAUTHENTICATED. */
  tokenRejected?: boolean;
  /** Answers per method; a call to a method not listed fails the test. */
  unary?: { [M in UnaryRpc]?: (request: RpcRequest<M>) => RpcResponse<M> | Error };
  pushFile?: (header: mcpv1.PushFileHeader, data: Buffer) => mcpv1.PushFileResponse;
  upgradeAgent?: (header: mcpv1.UpgradeAgentHeader, data: Buffer) => mcpv1.UpgradeAgentResponse | Error;
  /** The header and each pushed blob's digest with its bytes. */
  pushImage?: (header: mcpv1.PushImageHeader, blobs: Array<{ digest: string; data: Buffer }>) => mcpv1.PushImageResponse;
  pullFile?: (request: mcpv1.PullFileRequest) => mcpv1.PullFileResponse[];
  logs?: (request: mcpv1.LogsRequest) => mcpv1.LogsResponse[];
  events?: (request: mcpv1.EventsRequest) => mcpv1.EventsResponse[];
  run?: (request: mcpv1.RunRequest) => mcpv1.RunResponse[];
  runJob?: (request: mcpv1.RunJobRequest) => mcpv1.RunJobResponse[];
  /** Exec: the answers to a start (stdin sent is recorded as `execStdin` calls). */
  exec?: (start: mcpv1.ExecStart) => mcpv1.ExecResponse[] | Error;
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

  async call<M extends UnaryRpc>(method: M, request: RpcRequest<M>): Promise<RpcResponse<M>> {
    this.record(method, request);
    this.failIfScripted();
    const handlers: { [P in UnaryRpc]?: (request: RpcRequest<P>) => RpcResponse<P> | Error } = this.script.unary ?? {};
    const handler = handlers[method];
    if (!handler) throw new Error(`FakeAgentClient: unexpected call ${method} on ${this.node.name}`);
    const result = handler(request);
    if (result instanceof Error) throw result;
    return result;
  }

  private record(method: string, request: unknown) {
    this.calls.push({ node: this.node.name, method, request, token: this.token });
  }

  private failIfScripted() {
    if (this.script.unreachable) throw new AgentUnreachableError(this.node.name, this.node.address, 'connect ECONNREFUSED');
    if (this.script.tokenRejected) throw new TokenRejectedError(this.node.name);
  }

  async pushFile(input: PushFileInput): Promise<mcpv1.PushFileResponse> {
    const parts: Buffer[] = [];
    for await (const chunk of input.chunks) parts.push(chunk);
    this.record('pushFile', { header: input.header, chunks: parts.length });
    this.failIfScripted();
    if (!this.script.pushFile) throw new Error(`FakeAgentClient: unexpected call pushFile on ${this.node.name}`);
    return this.script.pushFile(input.header, Buffer.concat(parts));
  }

  async upgradeAgent(input: UpgradeAgentInput): Promise<mcpv1.UpgradeAgentResponse> {
    const parts: Buffer[] = [];
    for await (const chunk of input.chunks) parts.push(chunk);
    this.record('upgradeAgent', { header: input.header, chunks: parts.length });
    this.failIfScripted();
    if (!this.script.upgradeAgent) throw new Error(`FakeAgentClient: unexpected call upgradeAgent on ${this.node.name}`);
    const result = this.script.upgradeAgent(input.header, Buffer.concat(parts));
    if (result instanceof Error) throw result;
    return result;
  }

  async pushImage(input: PushImageInput): Promise<mcpv1.PushImageResponse> {
    const blobs: Array<{ digest: string; data: Buffer }> = [];
    for await (const blob of input.blobs) {
      const parts: Buffer[] = [];
      for await (const chunk of blob.chunks) parts.push(chunk);
      blobs.push({ digest: blob.digest, data: Buffer.concat(parts) });
    }
    this.record('pushImage', { header: { reference: input.header.reference, imageId: input.header.imageId }, blobs: blobs.map((blob) => blob.digest) });
    this.failIfScripted();
    if (!this.script.pushImage) throw new Error(`FakeAgentClient: unexpected call pushImage on ${this.node.name}`);
    return this.script.pushImage(input.header, blobs);
  }

  async *stream<M extends ServerStreamRpc>(method: M, request: RpcRequest<M>, options?: StreamCallOptions): AsyncIterable<RpcResponse<M>> {
    this.record(method, request);
    this.failIfScripted();
    const scripts: { [P in ServerStreamRpc]?: (request: RpcRequest<P>) => RpcResponse<P>[] } = this.script;
    const script = scripts[method];
    if (!script) throw new Error(`FakeAgentClient: unexpected call ${method} on ${this.node.name}`);
    for (const message of script(request)) {
      if (options?.signal?.aborted) return;
      yield message;
    }
  }

  async exec(start: mcpv1.ExecStart): Promise<ExecCall> {
    this.record('exec', start);
    this.failIfScripted();
    if (!this.script.exec) throw new Error(`FakeAgentClient: unexpected call exec on ${this.node.name}`);
    const answers = this.script.exec(start);
    if (answers instanceof Error) throw answers;
    async function* messages(): AsyncGenerator<mcpv1.ExecResponse> {
      yield* answers as mcpv1.ExecResponse[];
    }
    return {
      messages: messages(),
      sendStdin: async (data) => this.record('execStdin', data),
      closeStdin: () => this.record('execStdinClosed', {}),
      resize: (size) => this.record('execResize', size),
      cancel: () => this.record('execCancel', {}),
    };
  }

  close(): void {}
}

export function agentError(node: string, code: string, message: string): AgentCallError {
  return new AgentCallError(node, code, message);
}
