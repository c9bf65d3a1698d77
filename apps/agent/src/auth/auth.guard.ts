import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { TokenAuthenticator } from '@mcp/auth';
import { InvalidArgumentError, PermissionDeniedError } from '@mcp/common';
import { CALLER_KEY, findCallerHolder, RPC_START_KEY } from '../grpc-call';
import { AUTHENTICATED_KEY } from './auth.decorators';

/**
 * The global guard. Default deny: a handler without `@Authenticated()` is refused. Otherwise
 * the bearer token from the `authorization` metadata is checked by TokenAuthenticator (which
 * fails closed) and the caller is stored on the call object for `@CurrentCaller()`.
 * Errors are domain errors; the global filter maps and audits them.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: TokenAuthenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const call = findCallerHolder(context);
    if (call) call[RPC_START_KEY] = Date.now();
    const marked = this.reflector.get<boolean | undefined>(AUTHENTICATED_KEY, context.getHandler());
    if (!marked) throw new PermissionDeniedError('this RPC is not open to any caller');
    if (!call) throw new InvalidArgumentError('no gRPC call context');
    const values = call.metadata.get('authorization');
    const header = values.length === 1 && typeof values[0] === 'string' ? values[0] : '';
    call[CALLER_KEY] = await this.authenticator.authenticate(header);
    return true;
  }
}
