import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { startFakeMcproxy, type FakeMcproxy } from '../servers/fake-mcproxy';
import {
  agentClient,
  makeTestConfig,
  makeTlsFixture,
  protoService,
  startAgentProcess,
  TEST_ADMIN_TOKEN,
  writeTestTokens,
  type AgentProcess,
  type AgentTestClient,
  writeCliConfig,
  loopbackAddress,
} from '../support';

jest.setTimeout(240_000);

/**
 * SPEC §8 after the deploy, with the real agent (monitor every second, a real alert
 * command), real podman and the real `mcp` binary: a component whose health endpoint starts
 * failing turns unhealthy in `mcp ps` and `mcp status` and the alert command runs; a
 * container replaced by hand (`podman rm -f` + `podman run` under the same name) shows in
 * `mcp status` as drifted, "replaced by hand", with each field that differs.
 */
const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'mcp.js');
const V1 = 'localhost/mcp-test/busybox:1.0';
const V2 = 'localhost/mcp-test/busybox:2.0';
const PREFIX = `i11b${randomBytes(3).toString('hex')}`;
const SERVICE = `${PREFIX}-web`;
/** Serves /up from a file the test removes to make the check fail. */
const CMD = ['/bin/sh', '-c', 'echo ok > /www/up && exec httpd -f -p $PORT -h /www'];

async function removeOurContainers(): Promise<void> {
  const { stdout } = await run('podman', ['ps', '-a', '--format', '{{.Names}}']);
  const names = stdout.split('\n').filter((name) => name.startsWith(PREFIX));
  if (names.length > 0) await run('podman', ['rm', '-f', '-t', '0', ...names]);
}

/** Waits (bounded) for a file the alert command writes. */
async function waitForAlert(file: string, timeoutMs = 60_000): Promise<Record<string, string>> {
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(file) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  return Object.fromEntries(text.split('\n').filter((line) => line.startsWith('MCP_ALERT_')).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
}

interface StatusJson {
  components: Array<{ service: string; component: string; observed: string; health: string; drift: boolean; driftFields: string[] }>;
}

describe('health after deploy and drift detail (real agent, real podman, real mcp)', () => {
  const base = makeTestConfig();
  const dir = path.dirname(base.database.path);
  const alertDir = path.join(dir, 'alerts');
  const home = path.join(dir, 'home');
  const configDir = path.join(home, '.config', 'mcp');
  const mcproxySocket = path.join(dir, 'mc-proxy.sock');
  let mcproxy: FakeMcproxy;
  let agent: AgentProcess | undefined;
  let client: AgentTestClient | undefined;
  let hostPort = 0;

  function mcp(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  async function statusJson(): Promise<StatusJson> {
    const status = await mcp(['status', SERVICE, '--json']);
    expect(status.stderr).toBe('');
    return JSON.parse(status.stdout) as StatusJson;
  }

  beforeAll(async () => {
    fs.mkdirSync(alertDir, { recursive: true });
    const script = path.join(dir, 'alert.sh');
    // One file per alert kind, holding the command's whole environment.
    fs.writeFileSync(script, '#!/bin/sh\nenv > "$1/$MCP_ALERT_KIND.tmp" && mv "$1/$MCP_ALERT_KIND.tmp" "$1/$MCP_ALERT_KIND"\n', { mode: 0o755 });
    const config = makeTestConfig({
      dir,
      mcproxy: { socket: mcproxySocket },
      monitor: { enabled: true, intervalMs: 1000, alertCommand: [script, alertDir], alertTimeoutMs: 5000, alertCooldownMs: 60_000 },
    });
    const tls = await makeTlsFixture(path.join(dir, 'tls'));
    await writeTestTokens(config);
    mcproxy = await startFakeMcproxy({ socketPath: mcproxySocket });
    agent = await startAgentProcess({ config });
    client = agentClient({ address: agent.address, caCertPath: tls.caCertPath, token: TEST_ADMIN_TOKEN });
    fs.mkdirSync(configDir, { recursive: true });
    writeCliConfig(configDir, { caCertPath: tls.caCertPath, nodes: [{ name: 'local', address: loopbackAddress(agent.address) }] });

    const deployed = await client.call('deploy', {
      service: protoService({
        name: SERVICE,
        components: [{ name: SERVICE, image: V1, cmd: CMD, env: ['GREETING=hi'], routes: [{ port: 443 }], health: { http: '/up', interval: '200ms', start_period: '20s' } }],
      }),
      component: '',
      force: false,
    });
    expect(deployed.results.map((r) => [r.component, r.ok, r.error])).toEqual([[SERVICE, true, '']]);
    hostPort = mcproxy.routes().find((r) => r.hostname.startsWith(SERVICE))!.backend.split(':').map(Number)[1];
  });

  afterAll(async () => {
    client?.close();
    await agent?.stop();
    await mcproxy?.close();
    await removeOurContainers();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('should show a component whose health endpoint starts failing as unhealthy in mcp ps and mcp status, and run the alert command', async () => {
    const before = JSON.parse((await mcp(['ps', '--json'])).stdout) as { containers: Array<{ container: string; health: string }> };
    expect(before.containers.find((c) => c.container === SERVICE)).toMatchObject({ health: 'healthy' });

    await run('podman', ['exec', SERVICE, 'busybox', 'rm', '/www/up']);
    const alert = await waitForAlert(path.join(alertDir, 'unhealthy'));

    expect(alert).toEqual({
      MCP_ALERT_KIND: 'unhealthy',
      MCP_ALERT_NODE: 'test-node',
      MCP_ALERT_SERVICE: SERVICE,
      MCP_ALERT_COMPONENT: SERVICE,
      MCP_ALERT_DESIRED: 'running',
      MCP_ALERT_OBSERVED: 'running',
      MCP_ALERT_MESSAGE: 'health check GET /up: GET /up → 404',
    });
    const ps = await mcp(['ps']);
    expect(ps.code).toBe(0);
    expect(ps.stdout).toMatch(new RegExp(`^${SERVICE}\\s+${SERVICE}\\s+service\\s+local\\s+running\\s+unhealthy\\s+1\\.0\\s+\\S+$`, 'm'));
    const status = await mcp(['status', SERVICE]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^ {2}${SERVICE}\\s+${SERVICE}\\s+local\\s+running\\s+running\\s+unhealthy\\s+1\\.0\\s+1$`, 'm'));
    expect(status.stdout).toMatch(/unhealthy: health check GET \/up: GET \/up → 404/);

    // Back: the next probe finds it healthy again, with a recovered alert.
    await run('podman', ['exec', SERVICE, 'sh', '-c', 'echo ok > /www/up']);
    expect(await waitForAlert(path.join(alertDir, 'recovered'))).toMatchObject({ MCP_ALERT_KIND: 'recovered', MCP_ALERT_MESSAGE: 'healthy again (GET /up: GET /up → 200)' });
    expect((JSON.parse((await mcp(['status', SERVICE, '--json'])).stdout) as StatusJson).components[0]).toMatchObject({ health: 'healthy', drift: false, driftFields: [] });
  });

  it('should show a container replaced by hand as drifted in mcp status, named so, with each field that differs', async () => {
    await run('podman', ['rm', '-f', '-t', '0', SERVICE]);
    await run('podman', ['run', '-d', '--name', SERVICE, '-e', 'MODE=hand', V2, 'httpd', '-f', '-p', '8080', '-h', '/www']);

    // The agent learns of the new container from podman's event stream: bounded wait for it.
    const deadline = Date.now() + 30_000;
    let body = await statusJson();
    while (body.components[0].driftFields.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      body = await statusJson();
    }

    expect(body.components[0]).toMatchObject({ observed: 'running', drift: true });
    expect(body.components[0].driftFields).toEqual([
      'replaced by hand: the container has no mcp.managed label (run by hand, not by MCP)',
      `image: ${V1} → ${V2}`,
      `cmd: [${CMD.join(' ')}] → [httpd -f -p 8080 -h /www]`,
      'env: -GREETING -PORT',
      `ports: -127.0.0.1:${hostPort}:${hostPort}/tcp`,
    ]);
    const table = await mcp(['status', SERVICE]);
    expect(table.stdout).toMatch(new RegExp(`^\\* ${SERVICE}\\s+${SERVICE}\\s+local\\s+running\\s+running\\s+\\S+\\s+2\\.0\\s+\\S+$`, 'm'));
    expect(table.stdout).toContain(`DRIFT\n${SERVICE}  local  replaced by hand: the container has no mcp.managed label (run by hand, not by MCP)\n`);
    // mcp status of every service: from the listing (made by hand, image), without an inspect.
    const all = JSON.parse((await mcp(['status', '--json'])).stdout) as StatusJson;
    expect(all.components.find((c) => c.service === SERVICE)!.driftFields).toEqual(body.components[0].driftFields.slice(0, 2));
  });
});
