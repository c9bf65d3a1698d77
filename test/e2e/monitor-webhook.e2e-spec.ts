import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { WebhookReceiver } from '@mcp/alerts/testing';
import type { AgentConfig } from '../../apps/agent/src/config/agent-config';
import { agentClient, makeTestConfig, makeTlsFixture, startAgentProcess, TEST_ADMIN_TOKEN, writeTestTokens, type AgentProcess, type AgentTestClient } from '../support';

jest.setTimeout(180_000);

const run = promisify(execFile);
const IMAGE = 'localhost/mcp-test/busybox:1.0';
const SERVICE = `whk${randomBytes(3).toString('hex')}`;

/** Resolves once `file` contains `text`, woken by fs.watch on its directory (no polling). */
function fileContains(file: string, text: string): Promise<void> {
  const has = (): boolean => fs.existsSync(file) && fs.readFileSync(file, 'utf8').includes(text);
  if (has()) return Promise.resolve();
  return new Promise((resolve) => {
    const watcher = fs.watch(path.dirname(file), () => {
      if (!has()) return;
      watcher.close();
      resolve();
    });
    // The write may have landed between the first check and the watch.
    if (has()) {
      watcher.close();
      resolve();
    }
  });
}

describe('Monitor alerts through the webhook and the command at once (real agent, real podman)', () => {
  let config: AgentConfig;
  let agent: AgentProcess | undefined;
  let client: AgentTestClient | undefined;
  let receiver: WebhookReceiver;
  let commandLog: string;

  beforeAll(async () => {
    receiver = new WebhookReceiver();
    const url = await receiver.start();
    await run('podman', ['run', '-d', '--name', SERVICE, IMAGE, 'httpd', '-f', '-p', '8080', '-h', '/www']);
    const base = makeTestConfig();
    const dir = path.dirname(base.database.path);
    commandLog = path.join(dir, 'alerts.log');
    const script = path.join(dir, 'alert.sh');
    fs.writeFileSync(script, '#!/bin/sh\necho "$MCP_ALERT_KIND $MCP_ALERT_SERVICE" >> "$1"\n', { mode: 0o755 });
    const tokenFile = path.join(dir, 'webhook.token');
    fs.writeFileSync(tokenFile, 'webhook-secret\n', { mode: 0o600 });
    config = makeTestConfig({
      dir,
      monitor: {
        enabled: true,
        intervalMs: 1000,
        alertCommand: [script, commandLog],
        alertTimeoutMs: 5000,
        alertCooldownMs: 120_000,
        alertWebhook: { url, format: 'json', tokenFile, timeoutMs: 5000, attempts: 3 },
      },
    });
    const tls = await makeTlsFixture(path.join(dir, 'tls'));
    await writeTestTokens(config);
    agent = await startAgentProcess({ config });
    client = agentClient({ address: agent.address, caCertPath: tls.caCertPath, token: TEST_ADMIN_TOKEN });
    await client.call('adoptContainers', { service: SERVICE });
  });

  afterAll(async () => {
    client?.close();
    await agent?.stop();
    await receiver?.close();
    await run('podman', ['rm', '-f', '-t', '0', SERVICE]).catch(() => undefined);
    if (config) fs.rmSync(path.dirname(config.database.path), { recursive: true, force: true });
  });

  it('should post drift to the webhook, with the bearer token, after a 500, and run the command too', async () => {
    receiver.answer(500);
    await run('podman', ['kill', SERVICE]);

    await receiver.receivedCount(2);
    await fileContains(commandLog, `drift ${SERVICE}\n`);

    expect(receiver.received.map((request) => request.headers.authorization)).toEqual(['Bearer webhook-secret', 'Bearer webhook-secret']);
    expect(receiver.bodies()[1]).toEqual({
      kind: 'drift',
      node: 'test-node',
      service: SERVICE,
      component: SERVICE,
      desired: 'running',
      observed: 'exited',
      message: 'desired running, observed exited',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(fs.readFileSync(commandLog, 'utf8')).toBe(`drift ${SERVICE}\n`);
  });

  it('should post recovered once when the container runs again, and nothing more', async () => {
    await run('podman', ['start', SERVICE]);

    await receiver.receivedCount(3);
    await fileContains(commandLog, `recovered ${SERVICE}\n`);

    expect(receiver.bodies().map((body) => body.kind)).toEqual(['drift', 'drift', 'recovered']);
    expect(fs.readFileSync(commandLog, 'utf8')).toBe(`drift ${SERVICE}\nrecovered ${SERVICE}\n`);
  });
});
