import { Metadata } from '@grpc/grpc-js';
import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Caller } from '@mcp/auth';

/**
 * Marks an RPC handler as callable by an authenticated caller holding one of the configured
 * allowed roles. The global guard refuses every handler without this marking (default deny),
 * so a new RPC cannot ship unauthenticated by accident.
 */
export const AUTHENTICATED_KEY = 'mcp:authenticated';
export const Authenticated = (): MethodDecorator => SetMetadata(AUTHENTICATED_KEY, true);

/** The property the guard stores the verified caller under, on the gRPC call object. */
export const CALLER_KEY = Symbol.for('mcp.caller');

/** Hands the verified caller (set by the guard) to a handler. */
export const CurrentCaller = createParamDecorator((_data: unknown, context: ExecutionContext): Caller | undefined => {
  const holder = findCallerHolder(context);
  return holder?.[CALLER_KEY] as Caller | undefined;
});

/**
 * The guard stores the caller on the gRPC call object, which every handler shape can reach:
 * unary and server streaming get (request, metadata, call); @GrpcStreamCall gets (call, callback).
 */
export function findCallerHolder(context: ExecutionContext): CallHolder | undefined {
  return context.getArgs<unknown[]>().find(isCall);
}

/** A grpc-js server call, which also holds what the guard learnt about the caller. */
export type CallHolder = { metadata: Metadata } & Record<symbol, unknown>;

function isCall(arg: unknown): arg is CallHolder {
  return typeof arg === 'object' && arg !== null && 'metadata' in arg && arg.metadata instanceof Metadata && 'getPeer' in arg && typeof arg.getPeer === 'function';
}
