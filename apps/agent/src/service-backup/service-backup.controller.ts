import type { Metadata, ServerWritableStream } from '@grpc/grpc-js';
import { Controller } from '@nestjs/common';
import { toTimestamp, type mcpv1 } from '@mcp/proto';
import type { Observable } from 'rxjs';
import { Rpc } from '../auth/rpc.decorator';
import { requireCall, streamWork, writeMessage } from '../streaming/stream-call';
import { ServiceBackupService, type BackupEvent } from './service-backup.service';

/** A progress message at least this often, so the CLI's idle deadline holds during quiet steps (`before`, forget). */
const HEARTBEAT_MS = 2000;
/** Backup runs ListBackups answers with, newest first. */
const RUNS_LISTED = 10;

/** BackupService, ListBackups, RestoreService, CheckBackups (SPEC §14). */
@Controller()
export class ServiceBackupController implements Pick<mcpv1.McpAgentServiceController, 'backupService' | 'listBackups' | 'restoreService' | 'checkBackups'> {
  constructor(private readonly backups: ServiceBackupService) {}

  /**
   * Streams restic's progress, then the result. The backup itself does not depend on the
   * stream: a client that goes away leaves it to finish (and to resume a paused service).
   */
  @Rpc()
  backupService(
    request: mcpv1.BackupServiceRequest,
    _metadata?: Metadata,
    call?: ServerWritableStream<mcpv1.BackupServiceRequest, mcpv1.BackupServiceResponse>,
  ): Observable<mcpv1.BackupServiceResponse> {
    return streamWork(async (signal) => {
      const stream = requireCall(call);
      let last: BackupEvent = { phase: 'before' };
      let open = true;
      const send = (event: BackupEvent) => {
        last = event;
        if (!open) return;
        writeMessage(stream, { progress: toProgress(event) }, signal).catch(() => {
          open = false;
        });
      };
      const heartbeat = setInterval(() => send({ phase: last.phase }), HEARTBEAT_MS);
      try {
        const outcome = await this.backups.backup({ service: request.service, onEvent: send });
        await writeMessage(stream, { result: { ...outcome } }, signal);
      } finally {
        clearInterval(heartbeat);
      }
    });
  }

  @Rpc()
  async listBackups(request: mcpv1.ListBackupsRequest): Promise<mcpv1.ListBackupsResponse> {
    const runs = (await this.backups.runs({ service: request.service, limit: RUNS_LISTED })).map((run) => ({
      time: toTimestamp(run.finishedAt),
      ok: run.ok,
      snapshotId: run.snapshotId,
      files: run.files,
      bytes: run.bytes,
      durationSeconds: run.durationMs / 1000,
      pausedSeconds: run.pausedMs / 1000,
      message: run.message,
    }));
    if (request.runsOnly) return { snapshots: [], runs };
    const rows = await this.backups.list({ service: request.service });
    return { snapshots: rows.map((row) => ({ id: row.id, shortId: row.shortId, time: toTimestamp(row.time), size: row.size, files: row.files, host: row.host })), runs };
  }

  @Rpc()
  async restoreService(request: mcpv1.RestoreServiceRequest): Promise<mcpv1.RestoreServiceResponse> {
    const outcome = await this.backups.restore({ service: request.service, snapshot: request.snapshot || undefined });
    return { service: outcome.service, snapshotId: outcome.snapshotId, kept: outcome.kept, results: outcome.results };
  }

  @Rpc()
  async checkBackups(request: mcpv1.CheckBackupsRequest): Promise<mcpv1.CheckBackupsResponse> {
    return this.backups.check({ service: request.service });
  }
}

function toProgress(event: BackupEvent): mcpv1.BackupProgress {
  const p = event.progress;
  return {
    phase: event.phase,
    percentDone: p?.percentDone ?? 0,
    filesDone: p?.filesDone ?? 0,
    totalFiles: p?.totalFiles ?? 0,
    bytesDone: p?.bytesDone ?? 0,
    totalBytes: p?.totalBytes ?? 0,
    secondsElapsed: p?.secondsElapsed ?? 0,
  };
}
