import type * as grpc from '@grpc/grpc-js';
import type { Observable } from 'rxjs';
import type { McpAgentServiceClient, McpAgentServiceController } from './gen/mcp/v1/mcp';

/**
 * The agent API as the generated code defines it, for every party that speaks it: the agent's
 * controllers, the CLI's client and the tests. Types only come from proto/gen; the runtime
 * pieces take grpc-js and proto-loader as arguments so that importing this costs nothing
 * (the CLI loads them on its first call).
 */

/** Every RPC, by the generated (camelCase) method name. */
export type AgentRpc = keyof McpAgentServiceClient;
export type RpcRequest<K extends AgentRpc> = Parameters<McpAgentServiceClient[K]>[0];
export type RpcResponse<K extends AgentRpc> = ReturnType<McpAgentServiceClient[K]> extends Observable<infer R> ? R : never;

type AnswerStreams = { [K in AgentRpc]: ReturnType<McpAgentServiceController[K]> extends Observable<unknown> ? K : never }[AgentRpc];
type RequestStreams = { [K in AgentRpc]: RpcRequest<K> extends Observable<unknown> ? K : never }[AgentRpc];
/** RPCs that stream both ways (Exec). */
export type DuplexStreamRpc = Extract<AnswerStreams, RequestStreams>;
/** RPCs that stream their answer only: the generated controller may return only an Observable. */
export type ServerStreamRpc = Exclude<AnswerStreams, RequestStreams>;
/** RPCs that stream their request only. */
export type ClientStreamRpc = Exclude<RequestStreams, AnswerStreams>;
/** One request, one answer. */
export type UnaryRpc = Exclude<AgentRpc, AnswerStreams | RequestStreams>;

/** grpc-js answers a call with an error or, when there is none, the response. */
export type Answer<T> = (error: grpc.ServiceError | null, response: T) => void;

/**
 * The grpc-js client's methods per kind of RPC, typed from the generated client interface.
 * Kept as separate mapped types so that indexing one with a generic `K` gives that RPC's
 * own signature.
 */
export type UnaryStubs = {
  [K in UnaryRpc]: (
    request: RpcRequest<K>,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: Answer<RpcResponse<K>>,
  ) => grpc.ClientUnaryCall;
};
export type ServerStreamStubs = {
  [K in ServerStreamRpc]: (request: RpcRequest<K>, metadata: grpc.Metadata, options?: grpc.CallOptions) => grpc.ClientReadableStream<RpcResponse<K>>;
};
/** The message type a client-streaming RPC's stream carries. */
export type StreamMessage<K extends ClientStreamRpc> = RpcRequest<K> extends Observable<infer M> ? M : never;
export type ClientStreamStubs = {
  [K in ClientStreamRpc]: {
    (metadata: grpc.Metadata, options: grpc.CallOptions, callback: Answer<RpcResponse<K>>): grpc.ClientWritableStream<StreamMessage<K>>;
    (metadata: grpc.Metadata, callback: Answer<RpcResponse<K>>): grpc.ClientWritableStream<StreamMessage<K>>;
  };
};

export type DuplexStreamStubs = {
  [K in DuplexStreamRpc]: (metadata: grpc.Metadata, options?: grpc.CallOptions) => grpc.ClientDuplexStream<RpcMessage<K>, RpcResponse<K>>;
};
/** What a streaming request sends, message by message. */
export type RpcMessage<K extends AgentRpc> = RpcRequest<K> extends Observable<infer M> ? M : never;

/** A grpc-js client of McpAgentService. */
export type AgentStub = grpc.Client & UnaryStubs & ServerStreamStubs & ClientStreamStubs & DuplexStreamStubs;

export function isServiceDefinition(value: object | undefined): value is grpc.ServiceDefinition {
  return value !== undefined && !('format' in value) && Object.values(value).every((method) => typeof method === 'object' && 'path' in method);
}

/**
 * Makes clients of the agent service. Each client is checked to carry every method of the
 * loaded definition, the proto the generated types come from, before it is typed as AgentStub.
 */
export function agentStubFactory(g: typeof grpc, service: grpc.ServiceDefinition, serviceName: string) {
  const Client = g.makeGenericClientConstructor(service, serviceName);
  const methods = Object.values(service).map((method) => method.originalName ?? '');
  const isStub = (client: grpc.Client): client is AgentStub => methods.every((name) => typeof Reflect.get(client, name) === 'function');
  return (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ChannelOptions): AgentStub => {
    const client = new Client(address, credentials, options);
    if (!isStub(client)) throw new Error(`${serviceName} client lacks methods of the loaded definition`);
    return client;
  };
}
