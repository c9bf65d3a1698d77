import { Metadata, type ServerDuplexStream, type ServerWritableStream } from '@grpc/grpc-js';
import type { Observable } from 'rxjs';
import { Controller } from '@nestjs/common';
import type { mcpv1 } from '@mcp/proto';
import { DuplexCallRpc, Rpc } from '../auth/rpc.decorator';
import { serverStream } from '../streaming/stream-call';
import { RunService } from './run.service';
import { AuditLog, noteAuditTarget } from '../logging/audit';
import { ExecCancelledError, ExecService, type ExecChannel, type ExecInput } from './exec.service';

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
      await this.execs.exec(execChannel(call));
      this.audit.record({ call, code: 'OK' });
    } catch (error) {
      // The client went away: audited as CANCELLED, nothing sent.
      if (error instanceof ExecCancelledError) return this.audit.record({ call, code: 'CANCELLED' });
      throw error;
    }
  }
}

type ExecCall = ServerDuplexStream<mcpv1.ExecRequest, mcpv1.ExecResponse>;

/** The grpc-js duplex call as ExecService's channel: the messages' fields are its inputs and outputs as they are. */
function execChannel(call: ExecCall): ExecChannel {
  return {
    // Not the default iterator: that destroys the call when the client half-closes (end of
    // input), which would cut the output still to come.
    input: (call.iterator({ destroyOnReturn: false }) as AsyncIterableIterator<ExecInput>)[Symbol.asyncIterator](),
    get cancelled() {
      return call.cancelled;
    },
    audit: (target) => noteAuditTarget(call, target),
    started: () => call.sendMetadata(new Metadata()),
    send: (message) => write(call, message),
    end: () => call.end(),
    onCancel(listener) {
      call.on('cancelled', listener);
      // Stays: an 'error' emitted with no listener left would throw.
      call.on('error', listener);
      return () => call.off('cancelled', listener);
    },
  };
}

/**
 * One message; waits for the call to drain when its buffer is full, or fails when it is
 * cancelled meanwhile. Both listeners go once either fires (a `once()` promise per wait that
 * never settled left a 'cancelled' and an 'error' listener behind at every wait: thousands in
 * a large exec, each removal scanning them all).
 */
async function write(call: ExecCall, message: mcpv1.ExecResponse): Promise<void> {
  if (call.cancelled || call.destroyed) throw new ExecCancelledError();
  if (call.write(message)) return;
  await new Promise<void>((resolve, reject) => {
    const settle = (error?: Error): void => {
      call.off('drain', onDrain);
      call.off('cancelled', onCancelled);
      call.off('close', onCancelled);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = (): void => settle();
    const onCancelled = (): void => settle(new ExecCancelledError());
    call.on('drain', onDrain);
    call.on('cancelled', onCancelled);
    call.on('close', onCancelled);
  });
}
