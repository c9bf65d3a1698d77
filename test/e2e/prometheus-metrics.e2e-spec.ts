import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { AgentConfig } from '../../apps/agent/src/config/agent-config';
import {
  agentClient,
  freePortSync,
  makeTestConfig,
  makeTlsFixture,
  protoService,
  runAgentCli,
  startAgentProcess,
  TEST_ADMIN_TOKEN,
  writeTestTokens,
  type AgentProcess,
  type AgentTestClient,
} from '../support';

jest.setTimeout(180_000);

const run = promisify(execFile);
const SERVICE = `prom${randomBytes(3).toString('hex')}`;
const HOSTNAME = `${SERVICE}.svc.test.internal`;
const SLEEPER = ['/bin/sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"];
const RULES = path.resolve(__dirname, '..', '..', 'deploy', 'prometheus', 'mcp-alerts.yml');

function getJson(port: number, pathAndQuery: string): Promise<{ status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: pathAndQuery }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => {
          try {
            resolve(JSON.parse(body));
          } catch (error) {
            reject(new Error(`${pathAndQuery}: ${res.statusCode} ${body.slice(0, 200)}: ${(error as Error).message}`));
          }
        });
      })
      .on('error', reject);
  });
}

/**
 * SPEC §10 metrics end to end: the real agent serves /metrics on its own listener, Debian's
 * real `prometheus` scrapes it (every second, with the example alert rules loaded), and the
 * test asks Prometheus's HTTP API, as an operator's dashboards would.
 */
describe('Prometheus scraping a real agent', () => {
  let config: AgentConfig;
  let agent: AgentProcess;
  let client: AgentTestClient;
  let prometheus: ChildProcess | undefined;
  let promPort = 0;
  let promLog = '';

  /** Polls an instant query until `accept` likes the result (bounded), then returns it. */
  async function query(expr: string, accept: (result: Array<{ metric: Record<string, string>; value: [number, string] }>) => boolean) {
    const deadline = Date.now() + 60_000;
    let last: Array<{ metric: Record<string, string>; value: [number, string] }> = [];
    while (Date.now() < deadline) {
      const answer = await getJson(promPort, `/api/v1/query?query=${encodeURIComponent(expr)}`).catch(() => undefined);
      last = answer?.status === 'success' ? answer.data.result : [];
      if (accept(last)) return last;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new Error(`query ${expr} never gave the expected result; last: ${JSON.stringify(last)}\nprometheus: ${promLog.slice(-2000)}`);
  }

  beforeAll(async () => {
    const base = makeTestConfig();
    const dir = path.dirname(base.database.path);
    const metricsPort = freePortSync();
    config = makeTestConfig({ dir, mcproxy: { socket: undefined }, metrics: { listen: `127.0.0.1:${metricsPort}` } });
    const tls = await makeTlsFixture(path.join(dir, 'tls'));
    await writeTestTokens(config);
    // A certificate in mc-proxy's cert dir, as the ACME client leaves it (expires in 30 days).
    fs.mkdirSync(config.mcproxy.certDir, { recursive: true });
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${HOSTNAME}`, '-addext', `subjectAltName=DNS:${HOSTNAME}`, '-days', '30', '-keyout', path.join(config.mcproxy.certDir, `${SERVICE}.key`), '-out', path.join(config.mcproxy.certDir, `${SERVICE}.pem`)]);
    agent = await startAgentProcess({ config });
    client = agentClient({ address: agent.address, caCertPath: tls.caCertPath, token: TEST_ADMIN_TOKEN });
    const deployed = await client.call('deploy', { service: protoService({ name: SERVICE, components: [{ name: 'web', cmd: SLEEPER }, { name: 'db', cmd: SLEEPER }] }), component: '', force: false });
    expect(deployed.results.every((r) => r.ok)).toBe(true);
    const snapshot = await runAgentCli(['snapshot', '--config', config.file]);
    expect(snapshot.code).toBe(0);

    promPort = freePortSync();
    const promDir = path.join(dir, 'prometheus');
    fs.mkdirSync(promDir);
    fs.copyFileSync(RULES, path.join(promDir, 'mcp-alerts.yml'));
    fs.writeFileSync(
      path.join(promDir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - mcp-alerts.yml\nscrape_configs:\n  - job_name: mcp-agent\n    static_configs:\n      - targets: ["127.0.0.1:${metricsPort}"]\n`,
    );
    prometheus = spawn('prometheus', [`--config.file=${path.join(promDir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(promDir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    prometheus.stdout!.on('data', (chunk: Buffer) => (promLog += chunk.toString()));
    prometheus.stderr!.on('data', (chunk: Buffer) => (promLog += chunk.toString()));
  });

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus!.once('exit', resolve));
      prometheus.kill('SIGTERM');
      await exited;
    }
    client?.close();
    await agent?.stop();
    const { stdout } = await run('podman', ['ps', '-a', '--format', '{{.Names}}']);
    const ours = stdout.split('\n').filter((name) => name.startsWith(SERVICE));
    if (ours.length) await run('podman', ['rm', '-f', '-t', '0', ...ours]);
    if (config) fs.rmSync(path.dirname(config.database.path), { recursive: true, force: true });
  });

  it('should scrape the agent (target up) and see component state by service and component', async () => {
    await query('up{job="mcp-agent"}', (r) => r.length === 1 && r[0].value[1] === '1');
    const up = await query(`mcp_component_up{service="${SERVICE}"}`, (r) => r.length === 2);
    expect(up.map((r) => [r.metric.component, r.value[1]]).sort()).toEqual([['db', '1'], ['web', '1']]);
    const state = await query(`mcp_component_state{service="${SERVICE}"}`, (r) => r.length === 2);
    expect(state.map((r) => [r.metric.component, r.metric.desired, r.metric.observed]).sort()).toEqual([['db', 'running', 'running'], ['web', 'running', 'running']]);
    // Health (SPEC §8), as the deploy's gate left it: one series per component, the state a label.
    const health = await query(`mcp_component_health{service="${SERVICE}"}`, (r) => r.length === 2);
    expect(health.map((r) => [r.metric.component, r.metric.state, r.value[1]]).sort()).toEqual([['db', 'healthy', '1'], ['web', 'healthy', '1']]);
  });

  it('should count the deploys by outcome, with their durations and the RPCs', async () => {
    const deploys = await query(`mcp_deploys_total{service="${SERVICE}"}`, (r) => r.length === 1);
    expect(deploys[0].metric.outcome).toBe('succeeded');
    expect(deploys[0].value[1]).toBe('2');
    await query('mcp_deploy_duration_seconds_count{outcome="succeeded"}', (r) => r.length === 1 && Number(r[0].value[1]) >= 2);
    await query('mcp_rpc_duration_seconds_count{method="Deploy",code="OK"}', (r) => r.length === 1 && r[0].value[1] === '1');
  });

  it('should report the certificate expiry per hostname and the last backup time', async () => {
    const expiry = await query(`mcp_certificate_expiry_timestamp_seconds{hostname="${HOSTNAME}"}`, (r) => r.length === 1);
    const days = (Number(expiry[0].value[1]) - Date.now() / 1000) / 86400;
    expect(days).toBeGreaterThan(29);
    expect(days).toBeLessThan(31);
    const backup = await query('mcp_backup_last_success_timestamp_seconds', (r) => r.length === 1);
    expect(Math.abs(Number(backup[0].value[1]) - Date.now() / 1000)).toBeLessThan(600);
  });

  it('should show drift when a container is killed by hand, and the process\'s own figures', async () => {
    await run('podman', ['kill', `${SERVICE}-db`]);
    const drift = await query(`mcp_component_drift{service="${SERVICE}",component="db"}`, (r) => r.length === 1 && r[0].value[1] === '1');
    expect(drift).toHaveLength(1);
    await query('mcp_drifting_components', (r) => r.length === 1 && Number(r[0].value[1]) >= 1);
    for (const name of ['process_resident_memory_bytes', 'process_cpu_seconds_total', 'nodejs_eventloop_lag_seconds']) {
      await query(`${name}{job="mcp-agent"}`, (r) => r.length === 1 && Number(r[0].value[1]) >= 0);
    }
  });
});
