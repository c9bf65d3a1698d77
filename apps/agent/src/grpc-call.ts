import { Metadata } from '@grpc/grpc-js';
import type { ExecutionContext } from '@nestjs/common';

/**
 * What the guard and the audit log keep on the gRPC call object of an RPC, the one object
 * every handler shape can reach: unary and server streaming get (request, metadata, call);
 * @GrpcStreamCall gets (call, callback).
 */

/** The verified caller, set by the guard. */
export const CALLER_KEY = Symbol.for('mcp.caller');
/** When the RPC started, set by the guard. */
export const RPC_START_KEY = Symbol.for('mcp.rpc-start');

/** A grpc-js server call, which also holds what the guard learnt about the caller. */
export type CallHolder = { metadata: Metadata } & Record<symbol, unknown>;

export function findCallerHolder(context: ExecutionContext): CallHolder | undefined {
  return context.getArgs<unknown[]>().find(isCall);
}

function isCall(arg: unknown): arg is CallHolder {
  return typeof arg === 'object' && arg !== null && 'metadata' in arg && arg.metadata instanceof Metadata && 'getPeer' in arg && typeof arg.getPeer === 'function';
}
