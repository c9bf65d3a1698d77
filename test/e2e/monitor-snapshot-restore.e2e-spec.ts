import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { mcpv1 } from '@mcp/proto';
import { protoService, runAgentCli, TestAgent } from '../support';

jest.setTimeout(240_000);

const run = promisify(execFile);
const PREFIX = `snap${randomBytes(3).toString('hex')}`;

function spec(name: string): mcpv1.ServiceSpec {
  return protoService({ name, components: [{ name, cmd: ['sleep', '300'] }] });
}

async function integrity(file: string): Promise<string> {
  return (await run('sqlite3', [file, 'PRAGMA integrity_check'])).stdout.trim();
}

describe('mcp-agent snapshot and restore (real agent process)', () => {
  let node: TestAgent;

  beforeAll(async () => {
    node = await TestAgent.create();
  });

  afterAll(() => node?.dispose({ containerPrefix: PREFIX }));

  it('should write verified snapshots while deploys are running', async () => {
    const { config, configPath } = node;
    const rpc = await node.start();
    const deploys = Promise.all([1, 2, 3, 4].map((n) => rpc.call('deploy', { service: spec(`${PREFIX}-a${n}`), component: '', force: false })));
    const snapshots = [];
    for (let i = 0; i < 3; i++) snapshots.push(await runAgentCli(['snapshot', '--config', configPath, '--keep', '10']));
    const results = await deploys;

    expect(results.flatMap((result) => result.results.map((r) => r.ok))).toEqual([true, true, true, true]);
    for (const snapshot of snapshots) {
      expect(snapshot).toEqual(expect.objectContaining({ code: 0, stderr: '' }));
      const file = snapshot.stdout.trim();
      expect(path.dirname(file)).toBe(path.resolve(config.agent.backupDir));
      expect(await integrity(file)).toBe('ok');
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    }
  });

  it('should refuse a restore while the agent runs, and restore once it is stopped', async () => {
    const { config, configPath } = node;
    const rpc = node.client ?? (await node.start());
    const taken = await runAgentCli(['snapshot', '--config', configPath]);
    const snapshot = taken.stdout.trim();
    await rpc.call('deploy', { service: spec(`${PREFIX}-late`), component: '', force: false });

    const refused = await runAgentCli(['restore', snapshot, '--config', configPath]);
    await node.stop();
    const restored = await runAgentCli(['restore', snapshot, '--config', configPath]);
    const after = await node.start();
    const names = (await after.call('listServices', {})).services.map((service) => service.name);

    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('running');
    expect(restored.code).toBe(0);
    expect(fs.readdirSync(path.dirname(config.database.path)).some((name) => name.startsWith(`${path.basename(config.database.path)}.replaced-`))).toBe(true);
    expect(await integrity(config.database.path)).toBe('ok');
    expect(names).toEqual(expect.arrayContaining([`${PREFIX}-a1`, `${PREFIX}-a4`]));
    expect(names).not.toContain(`${PREFIX}-late`);
  });
});
