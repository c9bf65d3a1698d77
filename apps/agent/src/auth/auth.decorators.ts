import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Caller } from '@mcp/auth';
import { CALLER_KEY, findCallerHolder } from '../grpc-call';

/**
 * Marks an RPC handler as callable by an authenticated caller holding one of the configured
 * allowed roles. The global guard refuses every handler without this marking (default deny),
 * so a new RPC cannot ship unauthenticated by accident.
 */
export const AUTHENTICATED_KEY = 'mcp:authenticated';
export const Authenticated = (): MethodDecorator => SetMetadata(AUTHENTICATED_KEY, true);

/** Hands the verified caller (set by the guard) to a handler. */
export const CurrentCaller = createParamDecorator((_data: unknown, context: ExecutionContext): Caller | undefined => {
  const holder = findCallerHolder(context);
  return holder?.[CALLER_KEY] as Caller | undefined;
});
