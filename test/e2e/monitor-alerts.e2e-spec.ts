import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { AgentConfig } from '../../apps/agent/src/config/agent-config';
import { agentClient, makeTestConfig, makeTlsFixture, startAgentProcess, TEST_ADMIN_TOKEN, writeTestTokens, type AgentProcess, type AgentTestClient } from '../support';

jest.setTimeout(180_000);

const run = promisify(execFile);
const IMAGE = 'localhost/mcp-test/busybox:1.0';
const SERVICE = `mon${randomBytes(3).toString('hex')}`;

/** Waits (bounded) for a file the alert command writes; the monitor ticks every second. */
async function waitForFile(file: string, timeoutMs = 30_000): Promise<Record<string, string>> {
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(file) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  return Object.fromEntries(text.split('\n').filter((line) => line.startsWith('MCP_ALERT_')).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
}

describe('Monitor (real agent, real podman, real alert command)', () => {
  let config: AgentConfig;
  let agent: AgentProcess;
  let client: AgentTestClient;
  let alertDir: string;

  beforeAll(async () => {
    await run('podman', ['run', '-d', '--name', SERVICE, IMAGE, 'httpd', '-f', '-p', '8080', '-h', '/www']);
    const base = makeTestConfig();
    const dir = path.dirname(base.database.path);
    alertDir = path.join(dir, 'alerts');
    fs.mkdirSync(alertDir);
    const script = path.join(dir, 'alert.sh');
    // One file per alert kind, holding the command's whole environment.
    fs.writeFileSync(script, '#!/bin/sh\nenv > "$1/$MCP_ALERT_KIND.tmp" && mv "$1/$MCP_ALERT_KIND.tmp" "$1/$MCP_ALERT_KIND"\n', { mode: 0o755 });
    config = makeTestConfig({ dir, monitor: { enabled: true, intervalMs: 1000, alertCommand: [script, alertDir], alertTimeoutMs: 5000, alertCooldownMs: 60_000 } });
    const tls = await makeTlsFixture(path.join(dir, 'tls'));
    await writeTestTokens(config);
    agent = await startAgentProcess({ config });
    client = agentClient({ address: agent.address, caCertPath: tls.caCertPath, token: TEST_ADMIN_TOKEN });
    await client.call('adoptContainers', { service: SERVICE });
  });

  afterAll(async () => {
    client?.close();
    await agent?.stop();
    await run('podman', ['rm', '-f', '-t', '0', SERVICE]).catch(() => undefined);
    if (config) fs.rmSync(path.dirname(config.database.path), { recursive: true, force: true });
  });

  it('should see a container killed by hand, record the change and run the alert command', async () => {
    await run('podman', ['kill', SERVICE]);

    const env = await waitForFile(path.join(alertDir, 'drift'));

    expect(env).toEqual({
      MCP_ALERT_KIND: 'drift',
      MCP_ALERT_NODE: 'test-node',
      MCP_ALERT_SERVICE: SERVICE,
      MCP_ALERT_COMPONENT: SERVICE,
      MCP_ALERT_DESIRED: 'running',
      MCP_ALERT_OBSERVED: 'exited',
      MCP_ALERT_MESSAGE: 'desired running, observed exited',
    });
    const status = await client.call('getServiceStatus', { service: SERVICE, eventLimit: 20 });
    const kinds = status.events.map((event) => event.kind);
    expect(kinds).toEqual(expect.arrayContaining(['state_changed', 'drift', 'adopted']));
  });

  it('should raise recovered when the container runs again', async () => {
    await run('podman', ['start', SERVICE]);

    const env = await waitForFile(path.join(alertDir, 'recovered'));

    expect(env).toEqual(expect.objectContaining({ MCP_ALERT_KIND: 'recovered', MCP_ALERT_SERVICE: SERVICE, MCP_ALERT_OBSERVED: 'running' }));
  });
});
