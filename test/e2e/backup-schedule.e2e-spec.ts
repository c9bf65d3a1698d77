import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { TEST_ADMIN_TOKEN, TestAgent } from '../support';

jest.setTimeout(180_000);

const run = promisify(execFile);
const BIN = path.join(__dirname, '..', '..', 'bin', 'mcp.js');
const PREFIX = `i23s-${randomBytes(3).toString('hex')}`;
const SERVICE = `${PREFIX}-notes`;
/** Every 3 seconds (the seconds form of the cron library): a tick comes within the test's waits. */
const SCHEDULE = '*/3 * * * * *';

const DEFINITION = `name = "${SERVICE}"
node = "local"
active = true

[backup]
schedule = "${SCHEDULE}"
mode = "pause"

[[components]]
name = "app"
image = "localhost/mcp-test/busybox:1.0"
cmd = ["sleep", "3600"]
`;

async function state(name: string): Promise<string> {
  const { stdout } = await run('podman', ['container', 'inspect', '--format', '{{.State.Status}}', name]);
  return stdout.trim();
}

/** SPEC §14 `[backup] schedule` on the real agent, deployed and listed with the real mcp. */
describe('scheduled backups (real agent, restic, podman and mcp)', () => {
  let agent: TestAgent;
  let home: string;

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

  /** The agent's record of successful runs (no restic call). */
  async function successes(): Promise<number> {
    return (await agent.rpc.call('listBackups', { service: SERVICE, runsOnly: true })).runs.filter((r) => r.ok).length;
  }

  /** Waits (bounded) until the schedule made more than `count` successful backups. */
  async function moreThan(count: number, what: string): Promise<number> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const now = await successes();
      if (now > count) return now;
      if (Date.now() > deadline) throw new Error(`no scheduled backup within 30 s: ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  beforeAll(async () => {
    agent = await TestAgent.create();
    await agent.start();
    home = path.join(agent.dir, 'home');
    const configDir = path.join(home, '.config', 'mcp');
    fs.mkdirSync(path.join(configDir, 'services'), { recursive: true });
    fs.writeFileSync(
      path.join(configDir, 'mcp.toml'),
      `[tls]\nca_cert = ${JSON.stringify(agent.caCertPath)}\n\n[[nodes]]\nname = "local"\naddress = "${agent.process!.address}"\nserver_name = "localhost"\n`,
    );
    fs.writeFileSync(path.join(configDir, 'token'), `${TEST_ADMIN_TOKEN}\n`, { mode: 0o600 });
    fs.writeFileSync(path.join(configDir, 'services', `${SERVICE}.toml`), DEFINITION);
    const srv = path.join(agent.config.agent.srvRoot, SERVICE);
    fs.mkdirSync(srv, { recursive: true });
    fs.writeFileSync(path.join(srv, 'notes.txt'), 'backed up on schedule\n');
  });

  afterAll(async () => {
    await agent?.dispose({ containerPrefix: PREFIX });
  });

  it('backs the service up on its schedule after mcp deploy; mcp backups lists the snapshot', async () => {
    const deployed = await mcp(['deploy', SERVICE]);
    expect(deployed).toMatchObject({ code: 0 });

    await moreThan(0, 'after the deploy');

    const listed = await mcp(['backups', SERVICE, '--json']);
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    const rows = JSON.parse(listed.stdout) as Array<{ id: string; files: number; host: string }>;
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows[0]).toMatchObject({ files: 1, host: agent.config.agent.nodeName });
    const table = await mcp(['backups', SERVICE]);
    expect(table.stdout).toContain(rows[0].id);
    // Pause mode: each scheduled run paused the service for its snapshot.
    const runs = (await agent.rpc.call('listBackups', { service: SERVICE, runsOnly: true })).runs;
    expect(runs.every((r) => r.ok && r.pausedSeconds > 0)).toBe(true);
    const events = await agent.rpc.call('getServiceStatus', { service: SERVICE, eventLimit: 50 });
    expect(events.events.map((e) => e.kind)).toContain('backup');
  });

  it('registers the schedule again when the agent restarts', async () => {
    await agent.stop();
    await agent.start();
    const before = await successes();

    await moreThan(before, 'after the restart');
  });

  it('schedules the service again on mcp start after mcp stop', async () => {
    expect(await mcp(['stop', SERVICE])).toMatchObject({ code: 0 });
    expect(await state(`${SERVICE}-app`)).toMatch(/^(exited|stopped)$/);
    expect(await mcp(['start', SERVICE])).toMatchObject({ code: 0 });
    const before = await successes();

    await moreThan(before, 'after mcp start');
  });
});
