import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { mcpv1 } from '@mcp/proto';
import { toProtoServiceSpec } from '@mcp/servicedef';
import { freePortSync, makeTestConfig, TestAgent } from '../support';

jest.setTimeout(180_000);

const run = promisify(execFile);
const PREFIX = `i23-${randomBytes(3).toString('hex')}`;
const SERVICE = `${PREFIX}-shop`;
const VOLUME = `${PREFIX}-vol`;
const IMAGE = 'localhost/mcp-test/busybox:1.0';

/** path -> sha256 and mode of every file under `root` (relative paths). */
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

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The agent's /metrics text. */
async function scrape(agent: TestAgent): Promise<string> {
  const answer = await fetch(`http://${agent.config.metrics.listen}/metrics`);
  expect(answer.status).toBe(200);
  return answer.text();
}

/** The value of one series in a /metrics text (undefined when absent). */
function series(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** Runs BackupService to its end: the result, or the error the stream ended with. */
function backup(agent: TestAgent, service = SERVICE): Promise<{ result?: mcpv1.BackupResult; error?: Error; phases: string[] }> {
  return new Promise((resolve) => {
    const phases: string[] = [];
    let result: mcpv1.BackupResult | undefined;
    const stream = agent.rpc.raw.backupService({ service }, agent.rpc.metadata());
    stream.on('data', (message: mcpv1.BackupServiceResponse) => {
      if (message.progress) phases.push(message.progress.phase);
      if (message.result) result = message.result;
    });
    stream.on('error', (error: Error) => resolve({ error, phases }));
    stream.on('end', () => resolve({ result, phases }));
  });
}

describe('service data backups with restic (SPEC §14; real restic, podman and agent)', () => {
  let agent: TestAgent;
  let srv: string;
  let volumeDir: string;
  let release: string;
  const answers: unknown[] = [];

  beforeAll(async () => {
    agent = await TestAgent.create({ config: makeTestConfig({ metrics: { listen: `127.0.0.1:${freePortSync()}` } }) });
    release = path.join(agent.dir, 'release-pause');
    await run('podman', ['volume', 'create', VOLUME]);
    volumeDir = (await run('podman', ['volume', 'inspect', '--format', '{{.Mountpoint}}', VOLUME])).stdout.trim();
    // The backup stands still while the service is paused, until the test looked.
    await agent.start({ env: { MCP_AGENT_FAILPOINTS: `backup.quiesced=pause:${release}` } });
    const spec = toProtoServiceSpec({
      name: SERVICE,
      node: 'test',
      active: true,
      backup: { mode: 'pause', keep_last: 2 },
      components: [{ name: 'app', image: IMAGE, cmd: ['sleep', '3600'], ports: [], volumes: [`${VOLUME}:/data`], env: [], routes: [] }],
    });
    answers.push(await agent.rpc.call('deploy', { service: spec, component: '', force: false }));
    srv = path.join(agent.config.agent.srvRoot, SERVICE);
    fs.mkdirSync(path.join(srv, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(srv, 'a.txt'), 'alpha\n');
    fs.writeFileSync(path.join(srv, 'sub', 'b.bin'), randomBytes(70_000), { mode: 0o640 });
    fs.chmodSync(path.join(srv, 'sub', 'b.bin'), 0o640);
    fs.writeFileSync(path.join(volumeDir, 'db.dat'), randomBytes(20_000));
    // A neighbour whose name starts like ours: never part of our snapshot.
    fs.mkdirSync(`${srv}x`, { recursive: true });
    fs.writeFileSync(path.join(`${srv}x`, 'other.txt'), 'not ours');
  });

  afterAll(async () => {
    await agent?.dispose({ containerPrefix: PREFIX });
    await run('podman', ['volume', 'rm', '-f', VOLUME]).catch(() => undefined);
  });

  it('pauses during the snapshot, runs after, and holds /srv/<svc> and the volume, nothing else', async () => {
    const before = { srv: manifest(srv), vol: manifest(volumeDir) };
    const going = backup(agent);
    await until(() => fs.existsSync(`${release}.reached`), 'the pause failpoint');
    expect(await state(`${SERVICE}-app`)).toBe('paused');
    fs.writeFileSync(release, '');
    const { result, error, phases } = await going;
    expect(error).toBeUndefined();
    answers.push(result);
    expect(phases).toEqual(expect.arrayContaining(['pausing', 'snapshot', 'resuming']));
    expect(await state(`${SERVICE}-app`)).toBe('running');
    expect(result).toMatchObject({ mode: 'pause', files: 3 });
    expect(result!.pausedSeconds).toBeGreaterThan(0);
    const metrics = await scrape(agent);
    const label = `{service="${SERVICE}"}`;
    expect(series(metrics, `mcp_service_backup_last_success_timestamp_seconds${label}`)).toBeCloseTo(Date.now() / 1000, -2);
    expect(series(metrics, `mcp_service_backup_last_size_bytes${label}`)).toBe(result!.bytes);
    expect(series(metrics, `mcp_service_backup_last_duration_seconds${label}`)).toBeCloseTo(result!.durationSeconds, 1);
    expect(series(metrics, `mcp_service_backup_last_paused_seconds${label}`)).toBeCloseTo(result!.pausedSeconds, 1);
    expect(series(metrics, `mcp_service_backups_total{service="${SERVICE}",result="succeeded"}`)).toBe(1);

    const list = await agent.rpc.call('listBackups', { service: SERVICE });
    answers.push(list);
    expect(list.snapshots.map((s) => s.shortId)).toEqual([result!.snapshotId]);
    expect(list.snapshots[0]).toMatchObject({ files: 3 });

    const { stdout } = await run('restic', ['--repo', agent.config.backup.repository, '--password-file', agent.config.backup.passwordFile, 'ls', '--json', result!.snapshotId]);
    const paths = stdout.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { path?: string }).path).filter((p): p is string => !!p);
    expect(paths).toEqual(expect.arrayContaining([path.join(srv, 'a.txt'), path.join(volumeDir, 'db.dat')]));
    expect(paths.filter((p) => p.startsWith(`${srv}x`))).toEqual([]);
    expect(paths.every((p) => srv.startsWith(p) || volumeDir.startsWith(p) || p.startsWith(`${srv}/`) || p === srv || p.startsWith(`${volumeDir}/`) || p === volumeDir)).toBe(true);
    expect(fs.statSync(agent.config.backup.passwordFile).mode & 0o777).toBe(0o600);

    // Change, add, delete; then restore: every file as it was, the added one gone.
    fs.writeFileSync(path.join(srv, 'a.txt'), 'changed\n');
    fs.writeFileSync(path.join(srv, 'new.txt'), 'added\n');
    fs.rmSync(path.join(srv, 'sub', 'b.bin'));
    fs.writeFileSync(path.join(volumeDir, 'db.dat'), 'overwritten');
    const restored = await agent.rpc.call('restoreService', { service: SERVICE, snapshot: '' });
    answers.push(restored);
    expect(restored.results).toEqual([expect.objectContaining({ component: 'app', ok: true })]);
    expect(manifest(srv)).toEqual(before.srv);
    expect(manifest(volumeDir)).toEqual(before.vol);
    expect(await state(`${SERVICE}-app`)).toBe('running');
    expect(restored.kept).toHaveLength(2);
    expect(fs.readFileSync(path.join(restored.kept.find((k) => k.startsWith(`${srv}.pre-restore-`))!, 'new.txt'), 'utf8')).toBe('added\n');
    expect(fs.readFileSync(path.join(`${srv}x`, 'other.txt'), 'utf8')).toBe('not ours');
  });

  it('unpauses when restic fails while the service is paused, records the failure, and keeps every snapshot', async () => {
    const repo = agent.config.backup.repository;
    fs.rmSync(release, { force: true });
    fs.rmSync(`${release}.reached`, { force: true });
    const going = backup(agent);
    await until(() => fs.existsSync(`${release}.reached`), 'the pause failpoint');
    expect(await state(`${SERVICE}-app`)).toBe('paused');
    // The repository goes away while the containers are paused: restic fails mid-backup.
    fs.renameSync(repo, `${repo}.away`);
    try {
      fs.writeFileSync(release, '');
      const { error } = await going;
      expect(error?.message).toMatch(/backup repository|unable to open config file|repository/);
      expect(error!.message.split('\n')).toHaveLength(1);
      expect(await state(`${SERVICE}-app`)).toBe('running');
      // The agent's record of the run answers without restic (the repository is still away).
      const record = await agent.rpc.call('listBackups', { service: SERVICE, runsOnly: true });
      expect(record.snapshots).toEqual([]);
      expect(record.runs[0]).toMatchObject({ ok: false, snapshotId: '', message: error!.message.replace(/^\d+ [A-Z_]+: /, '') });
      expect(record.runs[1]).toMatchObject({ ok: true, files: 3 });
    } finally {
      fs.renameSync(`${repo}.away`, repo);
    }
    expect(series(await scrape(agent), `mcp_service_backups_total{service="${SERVICE}",result="failed"}`)).toBe(1);
    expect((await agent.rpc.call('listBackups', { service: SERVICE })).snapshots).toHaveLength(1);
  });

  it('refuses a missing repository path before pausing anything, in one line', async () => {
    const repo = agent.config.backup.repository;
    fs.renameSync(repo, `${repo}.away`);
    try {
      const { error, phases } = await backup(agent);
      expect(error?.message).toMatch(/backup repository/);
      expect(error!.message.split('\n')).toHaveLength(1);
      expect(phases).not.toContain('pausing');
    } finally {
      fs.renameSync(`${repo}.away`, repo);
    }
    expect(await state(`${SERVICE}-app`)).toBe('running');
  });

  it('keeps the last 2 snapshots with keep_last = 2, and the next successful backup drops the pre-restore copy', async () => {
    await backup(agent);
    const third = await backup(agent);
    expect(third.error).toBeUndefined();
    expect(third.result!.forgotten).toHaveLength(1);
    expect((await agent.rpc.call('listBackups', { service: SERVICE })).snapshots).toHaveLength(2);
    expect(fs.readdirSync(path.dirname(srv)).filter((entry) => entry.startsWith(`${SERVICE}.pre-restore-`))).toEqual([]);
    const checked = await agent.rpc.call('checkBackups', { service: SERVICE });
    answers.push(checked);
    expect(checked.snapshots).toBe(2);
  });

  it('backs up a service whose container was paused by hand, leaving it paused (pause mode touches only what runs)', async () => {
    await run('podman', ['pause', `${SERVICE}-app`]);
    try {
      const { error, result } = await backup(agent);
      expect(error).toBeUndefined();
      expect(result!.pausedSeconds).toBe(0);
      expect(await state(`${SERVICE}-app`)).toBe('paused');
    } finally {
      await run('podman', ['unpause', `${SERVICE}-app`]).catch(() => undefined);
    }
  });

  it('never shows the repository password: not in logs, RPC answers or the registry file', async () => {
    const password = fs.readFileSync(agent.config.backup.passwordFile, 'utf8').trim();
    expect(password.length).toBeGreaterThan(20);
    const agentProcess = agent.process!;
    await agent.stop();
    const logs = agentProcess.logs();
    expect(logs).toContain('backup');
    const registry = ['', '-wal'].map((suffix) => (fs.existsSync(agent.config.database.path + suffix) ? fs.readFileSync(agent.config.database.path + suffix, 'latin1') : '')).join('');
    expect(logs).not.toContain(password);
    expect(registry).not.toContain(password);
    expect(JSON.stringify(answers)).not.toContain(password);
  });

  it('shows the last successful backup in /metrics again after a restart, from the registry', async () => {
    await agent.start();
    const newest = (await agent.rpc.call('listBackups', { service: SERVICE })).snapshots.at(-1)!;
    const metrics = await scrape(agent);
    const label = `{service="${SERVICE}"}`;
    // restic stamps a snapshot when it starts; the run ends after it.
    expect(series(metrics, `mcp_service_backup_last_success_timestamp_seconds${label}`)).toBeGreaterThanOrEqual(Math.floor(Number(newest.time!.seconds)));
    expect(series(metrics, `mcp_service_backup_last_size_bytes${label}`)).toBe(Number(newest.size));
    // Counters are this process's runs.
    expect(metrics).not.toContain(`mcp_service_backups_total{service="${SERVICE}"`);
  });

  it("drops a service's gauges at once when it is undeployed or purged, and a restart does not bring them back", async () => {
    const gone = `${PREFIX}-gone`;
    const spec = toProtoServiceSpec({
      name: gone,
      node: 'test',
      active: true,
      components: [{ name: 'app', image: IMAGE, cmd: ['sleep', '3600'], ports: [], volumes: [], env: [], routes: [] }],
      jobs: [{ name: 'tick', component: 'app', cmd: ['true'], schedule: '0 3 * * *' }],
    });
    await agent.rpc.call('deploy', { service: spec, component: '', force: false });
    fs.mkdirSync(path.join(agent.config.agent.srvRoot, gone), { recursive: true });
    fs.writeFileSync(path.join(agent.config.agent.srvRoot, gone, 'x.txt'), 'x\n');
    expect((await backup(agent, gone)).error).toBeUndefined();
    await new Promise<void>((resolve, reject) => {
      const stream = agent.rpc.raw.runJob({ service: gone, job: 'tick' }, agent.rpc.metadata());
      stream.on('data', () => undefined);
      stream.on('error', reject);
      stream.on('end', () => resolve());
    });
    const label = `{service="${gone}"}`;
    const jobGauge = `mcp_job_last_success_timestamp_seconds{service="${gone}",job="tick"}`;
    const gauges = (text: string) => ({
      backup: series(text, `mcp_service_backup_last_success_timestamp_seconds${label}`),
      size: series(text, `mcp_service_backup_last_size_bytes${label}`),
      duration: series(text, `mcp_service_backup_last_duration_seconds${label}`),
      paused: series(text, `mcp_service_backup_last_paused_seconds${label}`),
      job: series(text, jobGauge),
    });
    const none = { backup: undefined, size: undefined, duration: undefined, paused: undefined, job: undefined };
    const before = gauges(await scrape(agent));
    expect(before.backup).toBeGreaterThan(0);
    expect(before.job).toBeGreaterThan(0);

    // The scrape right after the undeploy's answer: no gauge of it, its counters kept.
    await agent.rpc.call('undeployService', { service: gone });
    let metrics = await scrape(agent);
    expect(gauges(metrics)).toEqual(none);
    expect(series(metrics, `mcp_service_backups_total{service="${gone}",result="succeeded"}`)).toBe(1);
    // The other service's stay.
    expect(series(metrics, `mcp_service_backup_last_success_timestamp_seconds{service="${SERVICE}"}`)).toBeGreaterThan(0);

    // Deployed again: its last backup is back (from the registry, after the deploy's change).
    await agent.rpc.call('deploy', { service: spec, component: '', force: false });
    await until(async () => gauges(await scrape(agent)).backup === before.backup, 'the last backup back after the deploy', 10_000);

    await agent.rpc.call('undeployService', { service: gone });
    const purged = await agent.rpc.call('purgeComponent', { service: gone, component: '', defined: [], dryRun: false });
    expect(purged.purged.map((p) => p.service)).toEqual([gone]);
    expect(gauges(await scrape(agent))).toEqual(none);

    // Its runs stay on record, but a purged service is not seeded at the next start.
    await agent.stop();
    await agent.start();
    metrics = await scrape(agent);
    expect(gauges(metrics)).toEqual(none);
    expect(series(metrics, `mcp_service_backup_last_success_timestamp_seconds{service="${SERVICE}"}`)).toBeGreaterThan(0);
  });
});
