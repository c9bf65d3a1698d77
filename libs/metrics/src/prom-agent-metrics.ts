import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { AgentMetrics, type DeployOutcome, MetricsSource } from './agent-metrics';

/** Seconds; a deploy pulls, starts and waits for health. */
const DEPLOY_BUCKETS = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600];
const RPC_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120];
const TICK_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * AgentMetrics on prom-client, with its own Registry (never the global one). Event metrics
 * (deploys, RPCs, ticks) are counted as they happen; state metrics are gauges filled from the
 * MetricsSource at each scrape; the process's own (memory, CPU, event loop lag, handles) come
 * from prom-client's default collectors.
 */
export class PromAgentMetrics extends AgentMetrics {
  readonly registry = new Registry();
  private readonly deploys: Counter<'service' | 'outcome'>;
  private readonly deployDuration: Histogram<'outcome'>;
  private readonly rpcDuration: Histogram<'method' | 'code'>;
  private readonly tickDuration: Histogram<string>;

  constructor(source: MetricsSource) {
    super();
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.deploys = new Counter({ name: 'mcp_deploys_total', help: 'Component deploys by service and outcome.', labelNames: ['service', 'outcome'], registers });
    this.deployDuration = new Histogram({ name: 'mcp_deploy_duration_seconds', help: 'How long a component deploy took, by outcome.', labelNames: ['outcome'], buckets: DEPLOY_BUCKETS, registers });
    this.rpcDuration = new Histogram({ name: 'mcp_rpc_duration_seconds', help: 'RPC duration by method and gRPC status code.', labelNames: ['method', 'code'], buckets: RPC_BUCKETS, registers });
    this.tickDuration = new Histogram({ name: 'mcp_monitor_tick_duration_seconds', help: 'Monitor tick duration (one listing, reconciliation, judgement).', buckets: TICK_BUCKETS, registers });

    // State, read once per scrape: the first gauge's collect takes the snapshot, the others reuse it.
    let pending: ReturnType<MetricsSource['snapshot']> | undefined;
    const snapshot = () => (pending ??= source.snapshot().finally(() => setImmediate(() => (pending = undefined))));
    const state = new Gauge({
      name: 'mcp_component_state',
      help: 'One series per component: 1, with its desired and observed state as labels.',
      labelNames: ['service', 'component', 'desired', 'observed'],
      registers,
      async collect() {
        this.reset();
        for (const c of (await snapshot()).components) this.set({ service: c.service, component: c.component, desired: c.desired, observed: c.observed }, 1);
      },
    });
    const up = new Gauge({
      name: 'mcp_component_up',
      help: '1 when the component is observed running, else 0.',
      labelNames: ['service', 'component'],
      registers,
      async collect() {
        this.reset();
        for (const c of (await snapshot()).components) this.set({ service: c.service, component: c.component }, c.observed === 'running' ? 1 : 0);
      },
    });
    const desiredRunning = new Gauge({
      name: 'mcp_component_desired_running',
      help: '1 when the component should run (desired running), else 0.',
      labelNames: ['service', 'component'],
      registers,
      async collect() {
        this.reset();
        for (const c of (await snapshot()).components) this.set({ service: c.service, component: c.component }, c.desired === 'running' ? 1 : 0);
      },
    });
    const drift = new Gauge({
      name: 'mcp_component_drift',
      help: '1 when desired and observed state differ (drift), else 0.',
      labelNames: ['service', 'component'],
      registers,
      async collect() {
        this.reset();
        for (const c of (await snapshot()).components) this.set({ service: c.service, component: c.component }, c.drift ? 1 : 0);
      },
    });
    const drifting = new Gauge({
      name: 'mcp_drifting_components',
      help: 'How many components drift.',
      registers,
      async collect() {
        this.set((await snapshot()).components.filter((c) => c.drift).length);
      },
    });
    const healthy = new Gauge({
      name: 'mcp_component_healthy',
      help: '1 healthy, 0 unhealthy or starting; absent while health is not known.',
      labelNames: ['service', 'component', 'health'],
      registers,
      async collect() {
        this.reset();
        for (const c of (await snapshot()).components) {
          if (c.health) this.set({ service: c.service, component: c.component, health: c.health }, c.health === 'healthy' ? 1 : 0);
        }
      },
    });
    const healthState = new Gauge({
      name: 'mcp_component_health',
      help: 'One series per component: 1, with its health as the state label (healthy, unhealthy, starting; unknown before the first probe).',
      labelNames: ['service', 'component', 'state'],
      registers,
      async collect() {
        this.reset();
        for (const c of (await snapshot()).components) this.set({ service: c.service, component: c.component, state: c.health ?? 'unknown' }, 1);
      },
    });
    const certificates = new Gauge({
      name: 'mcp_certificate_expiry_timestamp_seconds',
      help: 'When the certificate of an l7 hostname expires (unix seconds).',
      labelNames: ['hostname'],
      registers,
      async collect() {
        this.reset();
        for (const cert of (await snapshot()).certificates) this.set({ hostname: cert.hostname }, Math.floor(cert.notAfter.getTime() / 1000));
      },
    });
    const backup = new Gauge({
      name: 'mcp_backup_last_success_timestamp_seconds',
      help: 'When the newest verified registry snapshot was written (unix seconds); absent when there is none.',
      registers,
      async collect() {
        this.reset();
        const last = (await snapshot()).lastBackup;
        if (last) this.set(Math.floor(last.getTime() / 1000));
      },
    });
    void [state, up, desiredRunning, drift, drifting, healthy, healthState, certificates, backup];
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

  /** The exposition: Prometheus text format. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** `[metrics] listen = ""`: nothing is recorded or served. */
export class NoopAgentMetrics extends AgentMetrics {
  deployFinished(): void {}
  rpcFinished(): void {}
  monitorTick(): void {}
}
