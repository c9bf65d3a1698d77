import { applyDecorators } from '@nestjs/common';
import { GrpcMethod, GrpcStreamCall } from '@nestjs/microservices';
import { MCP_AGENT_SERVICE_NAME, type AgentRpc, type ClientStreamRpc, type DuplexStreamRpc } from '@mcp/proto';
import { Authenticated } from './auth.decorators';

type RpcDecorator<Name extends string> = <K extends Name>(target: object, key: K, descriptor: PropertyDescriptor) => void;

/** `listServices` -> `ListServices`, the RPC's name in the proto. */
function protoName(key: string): string {
  return key.charAt(0).toUpperCase() + key.slice(1);
}

/**
 * Serves the RPC of the generated McpAgentService named like the method (so a method name
 * that is no RPC fails tsc), for authenticated callers only.
 */
export function Rpc(): RpcDecorator<Exclude<AgentRpc, ClientStreamRpc | DuplexStreamRpc>> {
  return (target, key, descriptor) => applyDecorators(GrpcMethod(MCP_AGENT_SERVICE_NAME, protoName(key)), Authenticated())(target, key, descriptor);
}

/**
 * Serves a client-streaming RPC with the raw grpc-js call (`(call, callback)`), not Nest's
 * unbounded Subject; see TransferController.
 */
export function StreamCallRpc(): RpcDecorator<ClientStreamRpc> {
  return (target, key, descriptor) => applyDecorators(GrpcStreamCall(MCP_AGENT_SERVICE_NAME, protoName(key)), Authenticated())(target, key, descriptor);
}

/**
 * Serves a bidirectional RPC (Exec) with the raw grpc-js duplex call (`(call)`): Nest's
 * Observable path would buffer both directions without limit. Errors reach the client
 * through the global filter, which emits them on the call.
 */
export function DuplexCallRpc(): RpcDecorator<DuplexStreamRpc> {
  return (target, key, descriptor) => applyDecorators(GrpcStreamCall(MCP_AGENT_SERVICE_NAME, protoName(key)), Authenticated())(target, key, descriptor);
}
