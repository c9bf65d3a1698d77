import { Catch, Injectable, type ArgumentsHost, type RpcExceptionFilter } from '@nestjs/common';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { McpError } from '@mcp/common';
import { Observable, of, throwError } from 'rxjs';
import { AuditLog } from '../logging/audit';
import { JsonLogger } from '../logging/json-logger';
import { statusName, toGrpcError } from './grpc-errors';

type StreamCallback = (err: unknown, value?: unknown) => void;

/**
 * The agent's one exception filter: every error an RPC raises (guard, handler, stream)
 * becomes a gRPC status by its `kind` (see toGrpcError), is audited, and unknown errors are
 * logged in full while the client gets a generic INTERNAL.
 */
@Catch()
@Injectable()
export class GrpcExceptionFilter implements RpcExceptionFilter<unknown> {
  constructor(
    private readonly logger: JsonLogger,
    private readonly audit: AuditLog,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): Observable<unknown> {
    const payload = toGrpcError(exception);
    if (payload.code === GrpcStatus.INTERNAL) {
      const err = exception instanceof Error ? exception : new Error(String(exception));
      this.logger.write('error', 'rpc failed', { error: err.name, detail: err.message, stack: err.stack, kind: exception instanceof McpError ? exception.kind : undefined });
    }
    const args = host.getArgs();
    const call = args.find(isCall);
    const request = args[0] === call ? undefined : args[0];
    this.audit.record({ call, request, code: statusName(payload.code) });

    // @GrpcStreamCall handlers get (call, callback): Nest never forwards an error to the
    // callback for them, so the status is sent here, or the client would wait forever.
    if (args[0] === call && typeof args[1] === 'function') {
      (args[1] as StreamCallback)(payload);
      return of(undefined);
    }
    // A bidirectional call (Exec) gets only (call): its status is sent by emitting the error.
    if (call && args[0] === call && isDuplexCall(call)) {
      if (!call.destroyed) call.emit('error', payload);
      return of(undefined);
    }
    return throwError(() => payload);
  }
}

function isCall(arg: unknown): arg is object {
  return !!arg && typeof arg === 'object' && 'metadata' in arg && typeof (arg as { getPeer?: unknown }).getPeer === 'function';
}

function isDuplexCall(call: object): call is { emit(event: 'error', error: unknown): boolean; destroyed: boolean } {
  const candidate = call as { write?: unknown; read?: unknown; emit?: unknown };
  return typeof candidate.write === 'function' && typeof candidate.read === 'function' && typeof candidate.emit === 'function';
}
