import type { Metadata, ServerWritableStream } from '@grpc/grpc-js';
import { Controller } from '@nestjs/common';
import { toTimestamp, type mcpv1 } from '@mcp/proto';
import type { JobRunRecord } from '@mcp/registry';
import { toProtoJob } from '@mcp/servicedef';
import type { Observable } from 'rxjs';
import { Rpc } from '../auth/rpc.decorator';
import { noteAuditTarget } from '../logging/audit';
import { requireCall, streamWork, writeMessage } from '../streaming/stream-call';
import { JobsService } from './jobs.service';

export function toProtoJobRun(run: JobRunRecord, withOutput = false): mcpv1.JobRun {
  const message: mcpv1.JobRun = {
    id: run.id,
    job: run.job,
    trigger: run.trigger,
    startedAt: toTimestamp(run.startedAt),
    finishedAt: toTimestamp(run.finishedAt),
    result: run.result,
    durationMs: Math.max(0, Math.round(run.durationMs)),
    container: run.container,
    message: run.message,
    output: withOutput ? Buffer.from(run.output, 'utf8') : Buffer.alloc(0),
  };
  if (run.exitCode !== null) message.exitCode = run.exitCode;
  return message;
}

/** ListJobs and RunJob (SPEC §12). */
@Controller()
export class JobsController implements Pick<mcpv1.McpAgentServiceController, 'listJobs' | 'runJob'> {
  constructor(private readonly jobs: JobsService) {}

  @Rpc()
  async listJobs(request: mcpv1.ListJobsRequest): Promise<mcpv1.ListJobsResponse> {
    const views = await this.jobs.list({ service: request.service || undefined, recent: request.recent });
    const runs = request.service && request.job ? await this.jobs.runs({ service: request.service, job: request.job }) : [];
    return {
      jobs: views.map((view) => ({
        service: view.service,
        spec: toProtoJob(view.spec),
        scheduled: view.scheduled,
        lastRun: view.lastRun ? toProtoJobRun(view.lastRun) : undefined,
        nextRun: toTimestamp(view.nextRun),
        running: view.running,
        recentRuns: view.recentRuns.map((run) => toProtoJobRun(run)),
      })),
      runs: runs.map((run) => toProtoJobRun(run, true)),
    };
  }

  /** Runs the job now; its output streams as it comes; the recorded run is the last message. */
  @Rpc()
  runJob(request: mcpv1.RunJobRequest, _metadata?: Metadata, call?: ServerWritableStream<mcpv1.RunJobRequest, mcpv1.RunJobResponse>): Observable<mcpv1.RunJobResponse> {
    return streamWork(async (signal) => {
      const stream = requireCall(call);
      noteAuditTarget(stream, { service: request.service, component: request.job || undefined });
      const run = await this.jobs.run({
        service: request.service,
        job: request.job,
        trigger: 'manual',
        signal,
        onStarted: (container) => writeMessage(stream, { container }, signal),
        onOutput: (chunk) => writeMessage(stream, chunk.stream === 'stdout' ? { stdout: chunk.data } : { stderr: chunk.data }, signal),
      });
      if (signal.aborted) return;
      await writeMessage(stream, { run: toProtoJobRun(run) }, signal);
    });
  }
}
