/**
 * The agent's metrics (SPEC §10). Two ports: `AgentMetrics`, which the agent's code tells
 * what happened (a deploy finished, an RPC answered, a monitor tick ran), and
 * `MetricsSource`, which the agent implements to say what the state is at scrape time
 * (components, certificates, backups). The real adapter renders both in Prometheus's text
 * format; when `[metrics] listen` is empty a no-op adapter records nothing.
 */

/** `succeeded` / `failed` today; #11's releases add `rolled_back`. */
export type DeployOutcome = 'succeeded' | 'failed' | 'rolled_back';

export abstract class AgentMetrics {
  /** One component deploy ended. */
  abstract deployFinished(input: { service: string; component: string; outcome: DeployOutcome; seconds: number }): void;
  /** One RPC was answered (`code` is the gRPC status name, `OK` included). */
  abstract rpcFinished(input: { method: string; code: string; seconds: number }): void;
  /** One monitor tick (listing, reconciliation and judgement) ran. */
  abstract monitorTick(input: { seconds: number }): void;
  /** One job run ended (SPEC §12): `succeeded`, `failed`, `timed_out`, `skipped` or `interrupted`; `at` is when. */
  abstract jobFinished(input: { service: string; job: string; result: string; seconds: number; at: Date }): void;
  /** One backup of a service's data ended (SPEC §14); `at` is when, `bytes` the data it covered (0 when it failed). */
  abstract serviceBackupFinished(input: ServiceBackupMetric & { ok: boolean }): void;
  /** The newest successful backup on record when the agent starts: sets the last-backup figures, counts nothing. */
  abstract serviceBackupKnown(input: ServiceBackupMetric): void;
  /**
   * The service was undeployed or purged: its gauges (last backup, each job's last success) go
   * at once. Its counters and histograms stay — they count this process's runs, and a series
   * dropped right after its last increment would hide that increment from `rate()`.
   */
  abstract serviceGone(service: string): void;
}

export interface ServiceBackupMetric {
  service: string;
  at: Date;
  seconds: number;
  bytes: number;
  /** How long the containers were paused or stopped (0 in live mode). */
  pausedSeconds: number;
}

export interface ComponentMetricsState {
  service: string;
  component: string;
  desired: string;
  observed: string;
  drift: boolean;
  /** `healthy`, `unhealthy`, `starting`, or undefined while health is not known. */
  health?: string;
}

export interface MetricsSnapshot {
  components: ComponentMetricsState[];
  /** Certificates the agent manages for l7 routes. */
  certificates: Array<{ hostname: string; notAfter: Date }>;
  /** The newest verified registry snapshot, if any. */
  lastBackup?: Date;
}

/** What the state is, asked once per scrape. */
export abstract class MetricsSource {
  abstract snapshot(): Promise<MetricsSnapshot>;
}
