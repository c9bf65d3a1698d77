import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { mcpv1 } from '@mcp/proto';
import { toProtoServiceSpec } from '@mcp/servicedef';
import { TEST_ADMIN_TOKEN, TestAgent } from '../support';

jest.setTimeout(240_000);

const run = promisify(execFile);
const PREFIX = `i23r-${randomBytes(3).toString('hex')}`;
const SERVICE = `${PREFIX}-db`;
const VOLUME = `${PREFIX}-vol`;
const IMAGE = 'localhost/mcp-test/busybox:1.0';
const BIN = path.join(__dirname, '..', '..', 'bin', 'mcp.js');

/** path -> sha256 and mode of every file under `root`. */
function manifest(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else out[path.relative(root, full)] = `${createHash('sha256').update(fs.readFileSync(full)).digest('hex')} ${(fs.statSync(full).mode & 0o7777).toString(8)}`;
    }
  };
  walk(root);
  return out;
}

async function state(name: string): Promise<string> {
  const { stdout } = await run('podman', ['container', 'inspect', '--format', '{{.State.Status}}', name]);
  return stdout.trim();
}

function backup(agent: TestAgent): Promise<mcpv1.BackupResult> {
  return new Promise((resolve, reject) => {
    let result: mcpv1.BackupResult | undefined;
    const stream = agent.rpc.raw.backupService({ service: SERVICE }, agent.rpc.metadata());
    stream.on('data', (message: mcpv1.BackupServiceResponse) => (result = message.result ?? result));
    stream.on('error', reject);
    stream.on('end', () => (result ? resolve(result) : reject(new Error('backup ended without a result'))));
  });
}

/**
 * SPEC §14: a restore killed (SIGKILL) at each of its steps leaves, once the agent is back,
 * either the old data or the whole snapshot — never a mix — and the service running; a
 * re-run then restores the snapshot. Before the staged data is complete the answer is the
 * old set; from the swap on, the snapshot.
 */
describe('restore killed at each step (SPEC §14; real restic, podman and agent)', () => {
  let agent: TestAgent;
  let srv: string;
  let volumeDir: string;
  let snapshot: { srv: Record<string, string>; vol: Record<string, string> };

  const data = () => ({ srv: manifest(srv), vol: manifest(volumeDir) });

  beforeAll(async () => {
    agent = await TestAgent.create();
    await run('podman', ['volume', 'create', VOLUME]);
    volumeDir = (await run('podman', ['volume', 'inspect', '--format', '{{.Mountpoint}}', VOLUME])).stdout.trim();
    await agent.start();
    const spec = toProtoServiceSpec({
      name: SERVICE,
      node: 'test',
      active: true,
      backup: { mode: 'live' },
      components: [{ name: 'app', image: IMAGE, cmd: ['sleep', '3600'], ports: [], volumes: [`${VOLUME}:/data`], env: [], routes: [] }],
    });
    await agent.rpc.call('deploy', { service: spec, component: '', force: false });
    srv = path.join(agent.config.agent.srvRoot, SERVICE);
    fs.mkdirSync(path.join(srv, 'sub'), { recursive: true });
    // Several files each side, large enough that restic writes them one by one.
    for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(srv, 'sub', `f${i}.bin`), randomBytes(50_000));
    fs.writeFileSync(path.join(srv, 'config.txt'), 'v1\n', { mode: 0o600 });
    fs.chmodSync(path.join(srv, 'config.txt'), 0o600);
    fs.writeFileSync(path.join(volumeDir, 'db.dat'), randomBytes(200_000));
    snapshot = data();
    await backup(agent);
  });

  afterAll(async () => {
    await agent?.dispose({ containerPrefix: PREFIX });
    await run('podman', ['volume', 'rm', '-f', VOLUME]).catch(() => undefined);
  });

  const POINTS: Array<{ point: string; leaves: 'old' | 'snapshot' }> = [
    { point: 'restore.after-stop', leaves: 'old' },
    { point: 'restore.mid-restore', leaves: 'old' },
    { point: 'restore.after-swap', leaves: 'snapshot' },
    { point: 'restore.before-start', leaves: 'snapshot' },
  ];

  it.each(POINTS)('killed at $point: the $leaves data, the service running, and a re-run restores the snapshot', async ({ point, leaves }) => {
    // The "old" data: every kind of change since the snapshot, different each round.
    fs.writeFileSync(path.join(srv, 'config.txt'), `changed before ${point}\n`);
    fs.writeFileSync(path.join(srv, `added-${point}.txt`), 'added\n');
    fs.rmSync(path.join(srv, 'sub', 'f3.bin'));
    fs.writeFileSync(path.join(volumeDir, 'db.dat'), `overwritten before ${point}`);
    const old = data();

    await agent.stop();
    await agent.start({ env: { MCP_AGENT_FAILPOINTS: `${point}=kill` } });
    await expect(agent.rpc.call('restoreService', { service: SERVICE, snapshot: '' })).rejects.toMatchObject({ code: 14 });
    expect(await agent.process!.exited).toEqual({ code: null, signal: 'SIGKILL' });

    // Back up unarmed: recovery runs before the agent serves.
    await agent.stop();
    await agent.start();
    await agent.rpc.call('listServices', {});
    expect(data()).toEqual(leaves === 'old' ? old : snapshot);
    expect(await state(`${SERVICE}-app`)).toBe('running');
    // No staging directory is left behind.
    for (const dir of [srv, volumeDir]) {
      expect(fs.readdirSync(path.dirname(dir)).filter((entry) => entry.startsWith(`.${path.basename(dir)}.restore-`))).toEqual([]);
    }

    const again = await agent.rpc.call('restoreService', { service: SERVICE, snapshot: '' });
    expect(again.results).toEqual([expect.objectContaining({ component: 'app', ok: true })]);
    expect(data()).toEqual(snapshot);
    expect(await state(`${SERVICE}-app`)).toBe('running');
  });

  it('the real mcp: backup, backups --json, backup --check, restore --snapshot; a wrong password file is one line and loses nothing', async () => {
    const home = path.join(agent.dir, 'home');
    const configDir = path.join(home, '.config', 'mcp');
    fs.mkdirSync(configDir, { recursive: true });
    fs.writeFileSync(
      path.join(configDir, 'mcp.toml'),
      `[tls]\nca_cert = ${JSON.stringify(agent.caCertPath)}\n\n[[nodes]]\nname = "local"\naddress = "127.0.0.1:${agent.process!.address.split(':').pop()}"\nserver_name = "localhost"\n`,
    );
    fs.writeFileSync(path.join(configDir, 'token'), `${TEST_ADMIN_TOKEN}\n`, { mode: 0o600 });
    const mcp = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });

    const made = await mcp(['backup', SERVICE]);
    expect(made).toMatchObject({ code: 0, stderr: '' });
    expect(made.stdout).toMatch(new RegExp(`^backup of ${SERVICE} on local: snapshot [0-9a-f]{8}, 22 files`));
    const listed = await mcp(['backups', SERVICE, '--json']);
    expect(listed.code).toBe(0);
    const rows = JSON.parse(listed.stdout) as Array<{ id: string; fullId: string; time: string; size: number; files: number; host: string }>;
    expect(rows).toHaveLength(2);
    expect(Object.keys(rows[0])).toEqual(['id', 'fullId', 'time', 'size', 'files', 'host']);
    expect(rows[0].fullId.startsWith(rows[0].id)).toBe(true);
    const table = await mcp(['backups', SERVICE]);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+TIME\s+SIZE\s+FILES\s+HOST$/);
    const checked = await mcp(['backup', SERVICE, '--check']);
    expect(checked).toMatchObject({ code: 0 });
    expect(checked.stdout).toMatch(/repository check passed; 2 snapshots/);

    // Restore the older snapshot by id, then check the data is that one.
    fs.writeFileSync(path.join(srv, 'config.txt'), 'changed once more\n');
    const restored = await mcp(['restore', SERVICE, '--snapshot', rows[0].id]);
    expect({ ...restored, stdout: '' }).toEqual({ code: 0, stderr: '', stdout: '' });
    expect(data()).toEqual(snapshot);

    // A wrong password: one line that names the password file, no snapshot lost.
    const passwordFile = agent.config.backup.passwordFile;
    const password = fs.readFileSync(passwordFile);
    fs.writeFileSync(passwordFile, 'not-the-password\n', { mode: 0o600 });
    try {
      const refused = await mcp(['backup', SERVICE]);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
      expect(refused.stderr).toMatch(/^mcp: .*wrong password \(password_file /);
      expect(await state(`${SERVICE}-app`)).toBe('running');
    } finally {
      fs.writeFileSync(passwordFile, password, { mode: 0o600 });
    }
    expect(JSON.parse((await mcp(['backups', SERVICE, '--json'])).stdout)).toHaveLength(2);
    expect(made.stdout + listed.stdout + checked.stdout + restored.stdout).not.toContain(password.toString().trim());
  });
});
