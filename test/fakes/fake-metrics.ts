import { AgentMetrics, type DeployOutcome, type ServiceBackupMetric } from '@mcp/metrics';

/** Records what the agent reported to its metrics, for tests to assert. */
export class RecordingMetrics extends AgentMetrics {
  readonly deploys: Array<{ service: string; component: string; outcome: DeployOutcome; seconds: number }> = [];
  readonly rpcs: Array<{ method: string; code: string; seconds: number }> = [];
  readonly ticks: number[] = [];

  deployFinished(input: { service: string; component: string; outcome: DeployOutcome; seconds: number }): void {
    this.deploys.push({ ...input });
  }

  rpcFinished(input: { method: string; code: string; seconds: number }): void {
    this.rpcs.push({ ...input });
  }

  monitorTick(input: { seconds: number }): void {
    this.ticks.push(input.seconds);
  }

  readonly jobs: Array<{ service: string; job: string; result: string; seconds: number; at: Date }> = [];

  jobFinished(input: { service: string; job: string; result: string; seconds: number; at: Date }): void {
    this.jobs.push({ ...input });
  }

  readonly backups: Array<ServiceBackupMetric & { ok?: boolean }> = [];

  serviceBackupFinished(input: ServiceBackupMetric & { ok: boolean }): void {
    this.backups.push({ ...input });
  }

  serviceBackupKnown(input: ServiceBackupMetric): void {
    this.backups.push({ ...input });
  }

  readonly gone: string[] = [];

  serviceGone(service: string): void {
    this.gone.push(service);
  }
}
