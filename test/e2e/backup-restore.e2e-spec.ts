import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { mcpv1 } from '@mcp/proto';
import { WebhookReceiver } from '@mcp/alerts/testing';
import { AgentConfig } from '../../apps/agent/src/config/agent-config';
import { makeTestConfig, protoService, removeContainers, runAgentCli, TestAgent, writeAgentConfigFile } from '../support';

jest.setTimeout(300_000);

const PREFIX = `bkp${randomBytes(3).toString('hex')}`;

function spec(name: string): mcpv1.ServiceSpec {
  return protoService({ name, components: [{ name, cmd: ['sleep', '300'] }] });
}

/** What must survive a restore: the registry's view of a service, not the live container. */
function essence(service: mcpv1.ServiceInfo): unknown {
  return {
    name: service.name,
    active: service.active,
    components: service.components.map((component) => ({ name: component.name, image: component.image, desiredState: component.desiredState })),
  };
}

describe('backup and restore onto a fresh node (real agent processes)', () => {
  let original: TestAgent | undefined;
  let fresh: TestAgent | undefined;

  afterAll(async () => {
    await original?.dispose();
    await fresh?.dispose();
    await removeContainers(PREFIX);
  });

  it('should snapshot a busy registry, restore it into a fresh data dir, and start an agent that reports the same services', async () => {
    original = await TestAgent.create();
    fresh = await TestAgent.create();
    const rpc = await original.start();
    const settled = [1, 2, 3].map((n) => `${PREFIX}-s${n}`);
    for (const name of settled) await rpc.call('deploy', { service: spec(name), component: '', force: false });

    // Busy: deploys in flight on the original node while the snapshot is taken.
    const inFlight = Promise.all([1, 2, 3].map((n) => rpc.call('deploy', { service: spec(`${PREFIX}-b${n}`), component: '', force: false })));
    const snapshot = await runAgentCli(['snapshot', '--config', original.configPath]);
    await inFlight;
    const before = (await rpc.call('listServices', {})).services.filter((service) => service.name.startsWith(PREFIX));
    await original.stop();

    const restored = await runAgentCli(['restore', snapshot.stdout.trim(), '--config', fresh.configPath]);
    const after = (await (await fresh.start()).call('listServices', {})).services.filter((service) => service.name.startsWith(PREFIX));
    const afterNames = new Set(after.map((service) => service.name));
    const byName = (a: mcpv1.ServiceInfo, b: mcpv1.ServiceInfo): number => a.name.localeCompare(b.name);

    expect(snapshot).toEqual(expect.objectContaining({ code: 0, stderr: '' }));
    expect(restored.code).toBe(0);
    expect(restored.stdout).not.toContain('previous registry moved');
    expect(path.dirname(fresh.config.database.path)).not.toBe(path.dirname(original.config.database.path));
    expect([...afterNames]).toEqual(expect.arrayContaining(settled));
    // Every restored service is one the original node had, recorded the same way (the
    // in-flight deploys are in the snapshot or not, depending on when each committed).
    expect([...afterNames].filter((name) => !before.some((service) => service.name === name))).toEqual([]);
    expect([...after].sort(byName).map(essence)).toEqual(before.filter((service) => afterNames.has(service.name)).sort(byName).map(essence));
  });

  it('should raise a backup alert to the webhook and exit non-zero when a snapshot fails', async () => {
    const receiver = new WebhookReceiver();
    const base = makeTestConfig();
    try {
      const url = await receiver.start();
      // A fresh data dir has no registry database yet, so there is nothing to snapshot.
      const config = new AgentConfig({
        ...base,
        monitor: { ...base.monitor, alertWebhook: { url, format: 'json', timeoutMs: 5_000, attempts: 2 } },
      });
      receiver.answer(500);

      const result = await runAgentCli(['snapshot', '--config', writeAgentConfigFile(config)]);

      expect(result.code).not.toBe(0);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain(`${config.database.path} does not exist`);
      expect(receiver.received).toHaveLength(2);
      expect(receiver.bodies()[1]).toEqual(
        expect.objectContaining({ kind: 'backup', node: config.agent.nodeName, service: 'mcp-agent', observed: 'failed', message: expect.stringContaining('snapshot of') }),
      );
    } finally {
      await receiver.close();
      fs.rmSync(path.dirname(base.database.path), { recursive: true, force: true });
    }
  });
});
