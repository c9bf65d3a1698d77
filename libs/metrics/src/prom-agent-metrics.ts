import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { AgentMetrics, type DeployOutcome, MetricsSource, type MetricsSnapshot, type ServiceBackupMetric } from './agent-metrics';

/** Seconds; a deploy pulls, starts and waits for health. */
const DEPLOY_BUCKETS = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600];
const RPC_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120];
const TICK_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The state gauges, registered in their own registry and filled from a snapshot. */
interface StateGauges {
  state: Gauge<'service' | 'component' | 'desired' | 'observed'>;
  up: Gauge<'service' | 'component'>;
  desiredRunning: Gauge<'service' | 'component'>;
  drift: Gauge<'service' | 'component'>;
  drifting: Gauge<string>;
  healthy: Gauge<'service' | 'component' | 'health'>;
  healthState: Gauge<'service' | 'component' | 'state'>;
  certificates: Gauge<'hostname'>;
  backup: Gauge<string>;
}

/**
 * AgentMetrics on prom-client, with its own registries (never the global one). Event metrics
 * (deploys, RPCs, ticks) are counted as they happen; the process's own (memory, CPU, event
 * loop lag, handles) come from prom-client's default collectors; both render at each scrape.
 * State metrics come from one MetricsSource snapshot per scrape, and are rendered again only
 * when the snapshot differs from the last one rendered: between two scrapes a fleet rarely
 * changes, and rendering a few hundred components' series each time was most of a scrape
 * (bench P12). The exposition is the same either way.
 */
export class PromAgentMetrics extends AgentMetrics {
  readonly registry = new Registry();
  private readonly stateRegistry = new Registry();
  private readonly deploys: Counter<'service' | 'outcome'>;
  private readonly deployDuration: Histogram<'outcome'>;
  private readonly rpcDuration: Histogram<'method' | 'code'>;
  private readonly tickDuration: Histogram<string>;
  private readonly jobRuns: Counter<'service' | 'job' | 'result'>;
  private readonly jobLastSuccess: Gauge<'service' | 'job'>;
  private readonly jobDuration: Histogram<'service' | 'job'>;
  private readonly serviceBackups: Counter<'service' | 'result'>;
  private readonly serviceBackupLast: Record<'success' | 'size' | 'duration' | 'paused', Gauge<'service'>>;
  private readonly gauges: StateGauges;
  /** service → the jobs with a last-success series: what `serviceGone` removes. */
  private readonly jobsWithSuccess = new Map<string, Set<string>>();
  /** The last state rendered (its snapshot as JSON) and its text; renders run one at a time. */
  private stateText: { key: string; text: Promise<string> } = { key: '', text: Promise.resolve('') };

  constructor(private readonly source: MetricsSource) {
    super();
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.deploys = new Counter({ name: 'mcp_deploys_total', help: 'Component deploys by service and outcome.', labelNames: ['service', 'outcome'], registers });
    this.deployDuration = new Histogram({ name: 'mcp_deploy_duration_seconds', help: 'How long a component deploy took, by outcome.', labelNames: ['outcome'], buckets: DEPLOY_BUCKETS, registers });
    this.rpcDuration = new Histogram({ name: 'mcp_rpc_duration_seconds', help: 'RPC duration by method and gRPC status code.', labelNames: ['method', 'code'], buckets: RPC_BUCKETS, registers });
    this.tickDuration = new Histogram({ name: 'mcp_monitor_tick_duration_seconds', help: 'Monitor tick duration (one listing, reconciliation, judgement).', buckets: TICK_BUCKETS, registers });

    this.jobRuns = new Counter({ name: 'mcp_job_runs_total', help: 'Job runs by service, job and result (succeeded, failed, timed_out, skipped, interrupted).', labelNames: ['service', 'job', 'result'], registers });
    this.jobLastSuccess = new Gauge({ name: 'mcp_job_last_success_timestamp_seconds', help: "When the job's newest successful run ended (unix seconds); absent before one.", labelNames: ['service', 'job'], registers });
    this.jobDuration = new Histogram({ name: 'mcp_job_duration_seconds', help: 'How long job runs took (skipped runs not counted).', labelNames: ['service', 'job'], buckets: DEPLOY_BUCKETS, registers });

    this.serviceBackups = new Counter({ name: 'mcp_service_backups_total', help: "Backups of a service's data (SPEC §14) by service and result (succeeded, failed).", labelNames: ['service', 'result'], registers });
    this.serviceBackupLast = {
      success: new Gauge({ name: 'mcp_service_backup_last_success_timestamp_seconds', help: "When the service's newest successful backup ended (unix seconds); absent before one.", labelNames: ['service'], registers }),
      size: new Gauge({ name: 'mcp_service_backup_last_size_bytes', help: "How much data the service's newest successful backup covered (bytes, before dedup).", labelNames: ['service'], registers }),
      duration: new Gauge({ name: 'mcp_service_backup_last_duration_seconds', help: "How long the service's newest successful backup took, end to end.", labelNames: ['service'], registers }),
      paused: new Gauge({ name: 'mcp_service_backup_last_paused_seconds', help: "How long the service's newest successful backup kept its containers paused or stopped (0 in live mode).", labelNames: ['service'], registers }),
    };

    const state = [this.stateRegistry];
    this.gauges = {
      state: new Gauge({ name: 'mcp_component_state', help: 'One series per component: 1, with its desired and observed state as labels.', labelNames: ['service', 'component', 'desired', 'observed'], registers: state }),
      up: new Gauge({ name: 'mcp_component_up', help: '1 when the component is observed running, else 0.', labelNames: ['service', 'component'], registers: state }),
      desiredRunning: new Gauge({ name: 'mcp_component_desired_running', help: '1 when the component should run (desired running), else 0.', labelNames: ['service', 'component'], registers: state }),
      drift: new Gauge({ name: 'mcp_component_drift', help: '1 when desired and observed state differ (drift), else 0.', labelNames: ['service', 'component'], registers: state }),
      drifting: new Gauge({ name: 'mcp_drifting_components', help: 'How many components drift.', registers: state }),
      healthy: new Gauge({ name: 'mcp_component_healthy', help: '1 healthy, 0 unhealthy or starting; absent while health is not known.', labelNames: ['service', 'component', 'health'], registers: state }),
      healthState: new Gauge({
        name: 'mcp_component_health',
        help: 'One series per component: 1, with its health as the state label (healthy, unhealthy, starting; unknown before the first probe).',
        labelNames: ['service', 'component', 'state'],
        registers: state,
      }),
      certificates: new Gauge({ name: 'mcp_certificate_expiry_timestamp_seconds', help: 'When the certificate of an l7 hostname expires (unix seconds).', labelNames: ['hostname'], registers: state }),
      backup: new Gauge({ name: 'mcp_backup_last_success_timestamp_seconds', help: 'When the newest verified registry snapshot was written (unix seconds); absent when there is none.', registers: state }),
    };
  }

  deployFinished(input: { service: string; component: string; outcome: DeployOutcome; seconds: number }): void {
    this.deploys.inc({ service: input.service, outcome: input.outcome });
    this.deployDuration.observe({ outcome: input.outcome }, input.seconds);
  }

  rpcFinished(input: { method: string; code: string; seconds: number }): void {
    this.rpcDuration.observe({ method: input.method, code: input.code }, input.seconds);
  }

  monitorTick(input: { seconds: number }): void {
    this.tickDuration.observe(input.seconds);
  }

  jobFinished(input: { service: string; job: string; result: string; seconds: number; at: Date }): void {
    const labels = { service: input.service, job: input.job };
    this.jobRuns.inc({ ...labels, result: input.result });
    if (input.result !== 'skipped') this.jobDuration.observe(labels, input.seconds);
    if (input.result === 'succeeded') {
      this.jobLastSuccess.set(labels, Math.floor(input.at.getTime() / 1000));
      const jobs = this.jobsWithSuccess.get(input.service) ?? new Set<string>();
      this.jobsWithSuccess.set(input.service, jobs.add(input.job));
    }
  }

  serviceBackupFinished(input: ServiceBackupMetric & { ok: boolean }): void {
    this.serviceBackups.inc({ service: input.service, result: input.ok ? 'succeeded' : 'failed' });
    if (input.ok) this.serviceBackupKnown(input);
  }

  serviceBackupKnown(input: ServiceBackupMetric): void {
    const labels = { service: input.service };
    this.serviceBackupLast.success.set(labels, Math.floor(input.at.getTime() / 1000));
    this.serviceBackupLast.size.set(labels, input.bytes);
    this.serviceBackupLast.duration.set(labels, input.seconds);
    this.serviceBackupLast.paused.set(labels, input.pausedSeconds);
  }

  serviceGone(service: string): void {
    for (const gauge of Object.values(this.serviceBackupLast)) gauge.remove({ service });
    for (const job of this.jobsWithSuccess.get(service) ?? []) this.jobLastSuccess.remove({ service, job });
    this.jobsWithSuccess.delete(service);
  }

  /** The exposition: Prometheus text format (event and process metrics, then state). */
  async render(): Promise<{ contentType: string; body: string }> {
    const snapshot = await this.source.snapshot();
    const key = JSON.stringify(snapshot);
    if (key !== this.stateText.key) {
      const previous = this.stateText.text.catch(() => '');
      this.stateText = { key, text: previous.then(() => this.renderState(snapshot)) };
    }
    const current = this.stateText;
    current.text.catch(() => {
      if (this.stateText === current) this.stateText = { key: '', text: Promise.resolve('') };
    });
    const [events, state] = await Promise.all([this.registry.metrics(), current.text]);
    return { contentType: this.registry.contentType, body: events + state };
  }

  private renderState(snapshot: MetricsSnapshot): Promise<string> {
    const g = this.gauges;
    for (const gauge of [g.state, g.up, g.desiredRunning, g.drift, g.healthy, g.healthState, g.certificates, g.backup]) gauge.reset();
    let drifting = 0;
    for (const c of snapshot.components) {
      const labels = { service: c.service, component: c.component };
      g.state.set({ ...labels, desired: c.desired, observed: c.observed }, 1);
      g.up.set(labels, c.observed === 'running' ? 1 : 0);
      g.desiredRunning.set(labels, c.desired === 'running' ? 1 : 0);
      g.drift.set(labels, c.drift ? 1 : 0);
      if (c.health) g.healthy.set({ ...labels, health: c.health }, c.health === 'healthy' ? 1 : 0);
      g.healthState.set({ ...labels, state: c.health ?? 'unknown' }, 1);
      if (c.drift) drifting++;
    }
    g.drifting.set(drifting);
    for (const cert of snapshot.certificates) g.certificates.set({ hostname: cert.hostname }, Math.floor(cert.notAfter.getTime() / 1000));
    if (snapshot.lastBackup) g.backup.set(Math.floor(snapshot.lastBackup.getTime() / 1000));
    return this.stateRegistry.metrics();
  }
}

/** `[metrics] listen = ""`: nothing is recorded or served. */
export class NoopAgentMetrics extends AgentMetrics {
  deployFinished(): void {}
  rpcFinished(): void {}
  monitorTick(): void {}
  jobFinished(): void {}
  serviceBackupFinished(): void {}
  serviceBackupKnown(): void {}
  serviceGone(): void {}
}
