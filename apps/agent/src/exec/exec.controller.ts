import type { Metadata, ServerDuplexStream, ServerWritableStream } from '@grpc/grpc-js';
import type { Observable } from 'rxjs';
import { Controller } from '@nestjs/common';
import type { mcpv1 } from '@mcp/proto';
import { DuplexCallRpc, Rpc } from '../auth/rpc.decorator';
import { serverStream } from '../streaming/stream-call';
import { RunService } from './run.service';
import { AuditLog, noteAuditTarget } from '../logging/audit';
import { ExecCancelledError, ExecService } from './exec.service';

/** Exec (SPEC §12): a bidirectional call on the raw grpc-js stream; Run: a server stream. */
@Controller()
export class ExecController {
  constructor(
    private readonly execs: ExecService,
    private readonly runs: RunService,
    private readonly audit: AuditLog,
  ) {}

  @Rpc()
  run(request: mcpv1.RunRequest, _metadata?: Metadata, call?: ServerWritableStream<mcpv1.RunRequest, mcpv1.RunResponse>): Observable<mcpv1.RunResponse> {
    if (call) noteAuditTarget(call, { service: request.service, component: request.component || undefined, argv: request.cmd });
    const { service, component, cmd, image, env, timeoutSeconds } = request;
    return serverStream(call, (output) => output, (sink) => this.runs.run({ request: { service, component, cmd, image, env, timeoutSeconds }, sink }));
  }

  @DuplexCallRpc()
  async exec(call: ServerDuplexStream<mcpv1.ExecRequest, mcpv1.ExecResponse>): Promise<void> {
    try {
      await this.execs.exec(call);
      this.audit.record({ call, code: 'OK' });
    } catch (error) {
      // The client went away: audited as CANCELLED, nothing sent.
      if (error instanceof ExecCancelledError) return this.audit.record({ call, code: 'CANCELLED' });
      throw error;
    }
  }
}
