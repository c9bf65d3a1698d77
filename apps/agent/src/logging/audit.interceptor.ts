import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Observable, tap } from 'rxjs';
import { findCallerHolder } from '../grpc-call';
import { AuditLog } from './audit';

/**
 * Audits RPCs that succeed (or are cancelled by the client). Failures — including the
 * guard's refusals, which never reach an interceptor — are audited by the exception filter.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(private readonly audit: AuditLog) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const call = findCallerHolder(context);
    const request = context.getArgs()[0] === call ? undefined : context.getArgs()[0];
    const fallbackMethod = context.getHandler().name;
    return next.handle().pipe(
      tap({
        complete: () => this.audit.record({ call, request, code: 'OK', fallbackMethod }),
        unsubscribe: () => this.audit.record({ call, request, code: 'CANCELLED', fallbackMethod }),
      }),
    );
  }
}
