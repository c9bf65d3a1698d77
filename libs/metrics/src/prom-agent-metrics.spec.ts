import * as http from 'node:http';
import { MetricsSource, type MetricsSnapshot } from './agent-metrics';
import { MetricsServer } from './metrics-server';
import { PromAgentMetrics } from './prom-agent-metrics';

class FixedSource extends MetricsSource {
  calls = 0;
  constructor(public state: MetricsSnapshot) {
    super();
  }
  async snapshot(): Promise<MetricsSnapshot> {
    this.calls++;
    return this.state;
  }
}

function get(address: string, path: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(`http://${address}${path}`, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
      })
      .on('error', reject);
  });
}

describe(PromAgentMetrics.name, () => {
  const source = new FixedSource({
    components: [
      { service: 'notes', component: 'web', desired: 'running', observed: 'running', drift: false, health: 'healthy' },
      { service: 'notes', component: 'db', desired: 'running', observed: 'exited', drift: true },
    ],
    certificates: [{ hostname: 'notes.example.net', notAfter: new Date('2027-01-01T00:00:00Z') }],
    lastBackup: new Date('2026-11-30T03:00:00Z'),
  });
  const sut = new PromAgentMetrics(source);
  const server = new MetricsServer(sut, '127.0.0.1:0');

  beforeAll(() => server.onApplicationBootstrap());
  afterAll(() => server.onApplicationShutdown());

  it('should serve state, events and process figures in Prometheus text format, asking the source once per scrape', async () => {
    sut.deployFinished({ service: 'notes', component: 'web', outcome: 'succeeded', seconds: 1.5 });
    sut.rpcFinished({ method: 'Deploy', code: 'OK', seconds: 1.6 });
    sut.monitorTick({ seconds: 0.02 });
    source.calls = 0;

    const answer = await get(server.address!, '/metrics');

    expect(answer.status).toBe(200);
    expect(answer.type).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const line of [
      'mcp_component_state{service="notes",component="db",desired="running",observed="exited"} 1',
      'mcp_component_up{service="notes",component="db"} 0',
      'mcp_component_drift{service="notes",component="db"} 1',
      'mcp_component_drift{service="notes",component="web"} 0',
      'mcp_drifting_components 1',
      'mcp_component_healthy{service="notes",component="web",health="healthy"} 1',
      'mcp_component_health{service="notes",component="web",state="healthy"} 1',
      'mcp_component_health{service="notes",component="db",state="unknown"} 1',
      'mcp_certificate_expiry_timestamp_seconds{hostname="notes.example.net"} 1798761600',
      'mcp_backup_last_success_timestamp_seconds 1796007600',
      'mcp_deploys_total{service="notes",outcome="succeeded"} 1',
      'mcp_deploy_duration_seconds_count{outcome="succeeded"} 1',
      'mcp_rpc_duration_seconds_count{method="Deploy",code="OK"} 1',
      'mcp_monitor_tick_duration_seconds_count 1',
    ]) {
      expect(answer.body).toContain(line);
    }
    expect(answer.body).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(answer.body).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect(source.calls).toBe(1);
  });

  it('should count job runs by result and keep the last success time and the durations (SPEC §12)', async () => {
    sut.jobFinished({ service: 'notes', job: 'report', result: 'succeeded', seconds: 2, at: new Date('2026-12-07T03:00:02Z') });
    sut.jobFinished({ service: 'notes', job: 'report', result: 'failed', seconds: 1, at: new Date('2026-12-07T04:00:01Z') });
    sut.jobFinished({ service: 'notes', job: 'report', result: 'skipped', seconds: 0, at: new Date('2026-12-07T04:00:01Z') });

    const answer = await get(server.address!, '/metrics');

    for (const line of [
      'mcp_job_runs_total{service="notes",job="report",result="succeeded"} 1',
      'mcp_job_runs_total{service="notes",job="report",result="failed"} 1',
      'mcp_job_runs_total{service="notes",job="report",result="skipped"} 1',
      `mcp_job_last_success_timestamp_seconds{service="notes",job="report"} ${Date.parse('2026-12-07T03:00:02Z') / 1000}`,
      'mcp_job_duration_seconds_count{service="notes",job="report"} 2',
    ]) {
      expect(answer.body).toContain(line);
    }
  });

  it("should keep each service's last successful backup (time, size, duration, pause) and count runs by result (SPEC §14)", async () => {
    sut.serviceBackupKnown({ service: 'shop', at: new Date('2026-12-06T03:00:00Z'), seconds: 4, bytes: 100, pausedSeconds: 0 });
    sut.serviceBackupFinished({ service: 'notes', ok: true, at: new Date('2026-12-07T03:00:05Z'), seconds: 5.5, bytes: 1048576, pausedSeconds: 1.25 });
    sut.serviceBackupFinished({ service: 'notes', ok: false, at: new Date('2026-12-07T04:00:01Z'), seconds: 0.5, bytes: 0, pausedSeconds: 0.1 });

    const answer = await get(server.address!, '/metrics');

    for (const line of [
      `mcp_service_backup_last_success_timestamp_seconds{service="notes"} ${Date.parse('2026-12-07T03:00:05Z') / 1000}`,
      'mcp_service_backup_last_size_bytes{service="notes"} 1048576',
      'mcp_service_backup_last_duration_seconds{service="notes"} 5.5',
      'mcp_service_backup_last_paused_seconds{service="notes"} 1.25',
      'mcp_service_backups_total{service="notes",result="succeeded"} 1',
      'mcp_service_backups_total{service="notes",result="failed"} 1',
      `mcp_service_backup_last_success_timestamp_seconds{service="shop"} ${Date.parse('2026-12-06T03:00:00Z') / 1000}`,
      'mcp_service_backup_last_size_bytes{service="shop"} 100',
    ]) {
      expect(answer.body).toContain(line);
    }
    // The figures from before a restart are not runs of this process.
    expect(answer.body).not.toContain('mcp_service_backups_total{service="shop"');
  });

  it("should drop a gone service's gauges at once, keeping its counters and the other services' gauges", async () => {
    sut.serviceBackupFinished({ service: 'gone', ok: true, at: new Date('2026-12-07T03:00:05Z'), seconds: 2, bytes: 10, pausedSeconds: 0 });
    sut.jobFinished({ service: 'gone', job: 'tick', result: 'succeeded', seconds: 1, at: new Date('2026-12-07T03:00:02Z') });
    sut.serviceBackupKnown({ service: 'kept', at: new Date('2026-12-06T03:00:00Z'), seconds: 4, bytes: 100, pausedSeconds: 0 });
    expect((await get(server.address!, '/metrics')).body).toContain('mcp_job_last_success_timestamp_seconds{service="gone",job="tick"}');

    sut.serviceGone('gone');
    const body = (await get(server.address!, '/metrics')).body;

    expect(body).not.toMatch(/^mcp_service_backup_last_\w+\{service="gone"\}/m);
    expect(body).not.toContain('mcp_job_last_success_timestamp_seconds{service="gone"');
    expect(body).toContain('mcp_service_backups_total{service="gone",result="succeeded"} 1');
    expect(body).toContain('mcp_job_runs_total{service="gone",job="tick",result="succeeded"} 1');
    expect(body).toContain('mcp_service_backup_last_size_bytes{service="kept"} 100');
  });

  it('should show a state change at the next scrape, and the same state again when it changes back', async () => {
    const before = source.state;
    const first = await get(server.address!, '/metrics');
    source.state = {
      ...before,
      components: [before.components[0], { ...before.components[1], observed: 'running', drift: false }],
      certificates: [],
      lastBackup: undefined,
    };

    const second = await get(server.address!, '/metrics');
    source.state = before;
    const third = await get(server.address!, '/metrics');

    expect(first.body).toContain('mcp_drifting_components 1');
    expect(second.body).toContain('mcp_component_state{service="notes",component="db",desired="running",observed="running"} 1');
    expect(second.body).not.toContain('observed="exited"');
    expect(second.body).toContain('mcp_drifting_components 0');
    expect(second.body).not.toContain('mcp_certificate_expiry_timestamp_seconds{');
    expect(second.body).toContain('mcp_backup_last_success_timestamp_seconds 0');
    expect(third.body).toContain('mcp_component_state{service="notes",component="db",desired="running",observed="exited"} 1');
    expect(third.body).toContain('mcp_backup_last_success_timestamp_seconds 1796007600');
  });

  it('should count events between scrapes whose state did not change', async () => {
    const first = await get(server.address!, '/metrics');
    sut.rpcFinished({ method: 'ListServices', code: 'OK', seconds: 0.01 });

    const second = await get(server.address!, '/metrics');

    expect(first.body).not.toContain('mcp_rpc_duration_seconds_count{method="ListServices",code="OK"}');
    expect(second.body).toContain('mcp_rpc_duration_seconds_count{method="ListServices",code="OK"} 1');
  });

  it('should refuse to start on a port another listener holds, saying which setting to change', async () => {
    const second = new MetricsServer(new PromAgentMetrics(source), server.address!);

    await expect(second.onApplicationBootstrap()).rejects.toThrow(`[metrics] listen ${server.address}: address already in use`);
  });

  it('should answer 404 anywhere but /metrics', async () => {
    expect((await get(server.address!, '/')).status).toBe(404);
    expect((await get(server.address!, '/metrics/extra')).status).toBe(404);
  });
});
