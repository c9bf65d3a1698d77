import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { agentServiceDefinition, agentStubs, type AgentStub, type RpcRequest, type RpcResponse, type UnaryRpc, type UnaryStubs } from '@mcp/proto';

export type UnaryMethod = UnaryRpc;

/** Every unary RPC, in the order of the proto (for tables like the auth matrix). */
export const UNARY_METHODS = Object.values(agentServiceDefinition(protoLoader))
  .filter((method) => !method.requestStream && !method.responseStream)
  .map((method) => method.originalName ?? '')
  .filter((name): name is UnaryRpc => name !== '');

export interface AgentTestClient {
  /** Calls a unary RPC; `token: null` sends no authorization metadata, a string overrides it. */
  call<K extends UnaryRpc>(method: K, request: Partial<RpcRequest<K>>, options?: { token?: string | null; authorization?: string }): Promise<RpcResponse<K>>;
  /** Metadata carrying the client's token (or the given one). */
  metadata(options?: { token?: string | null; authorization?: string }): grpc.Metadata;
  raw: AgentStub;
  close(): void;
}

let stubs: ReturnType<typeof agentStubs> | undefined;

/**
 * A typed client for the agent over TLS (trusting `caCertPath`; the server name checked is
 * `localhost`, which test certificates carry) with a bearer token.
 */
export function agentClient(input: { address: string; caCertPath: string; token?: string; serverName?: string; credentials?: grpc.ChannelCredentials }): AgentTestClient {
  stubs ??= agentStubs(grpc, protoLoader);
  const serverName = input.serverName ?? 'localhost';
  const raw = stubs(input.address, input.credentials ?? grpc.credentials.createSsl(fs.readFileSync(input.caCertPath)), {
    'grpc.ssl_target_name_override': serverName,
    'grpc.default_authority': serverName,
  });

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
      const methods: UnaryStubs = raw;
      return new Promise((resolve, reject) => {
        // Partial: tests send incomplete requests on purpose (proto3 fills the defaults).
        methods[method](request as RpcRequest<typeof method>, metadata(options), { deadline: Date.now() + 120_000 }, (err, res) => (err ? reject(err) : resolve(res)));
      });
    },
  };
}
