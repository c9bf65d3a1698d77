import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { WebhookReceiver } from '@mcp/alerts/testing';
import type { mcpv1 } from '@mcp/proto';
import { makeTestConfig, TEST_ADMIN_TOKEN, TEST_IMAGE, TestAgent, type AgentTestClient } from '../support';

jest.setTimeout(120_000);

const execFileAsync = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
const MCP = path.join(ROOT, 'bin', 'mcp.js');
const TAG = randomBytes(3).toString('hex');
const SLEEPER = '["/bin/sh", "-c", "trap \'exit 0\' TERM; sleep 3600 & wait"]';

/** This service's job containers (of one job, when named), as podman lists them. */
async function jobContainers(service: string, job?: string): Promise<string[]> {
  const { stdout } = await execFileAsync('podman', ['ps', '--all', '--filter', `label=mcp.service=${service}`, '--format', '{{.Names}}\t{{index .Labels "mcp.run"}}']);
  return stdout
    .split('\n')
    .map((line) => line.split('\t'))
    .filter(([name, kind]) => name && kind && kind !== '<no value>' && (job === undefined || kind === `job:${job}`))
    .map(([name]) => name);
}

/** Polls `probe` (every 100 ms) until it answers something; fails after `timeoutMs`. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * SPEC §12 `[[jobs]]` end to end: definitions deployed with the real `mcp`, the real agent
 * (its CronJobs in SchedulerRegistry, per-second schedules so the suite need not wait for a
 * minute), real podman one-off containers, the registry's history read back through `mcp jobs`
 * and ListJobs, `job_failed` through the webhook alert sender to a loopback receiver.
 */
describe('[[jobs]] (real mcp, real agent, real podman)', () => {
  let node: TestAgent;
  let client: AgentTestClient;
  let receiver: WebhookReceiver;
  let home: string;
  let data: string;
  let configDir: string;
  let env: NodeJS.ProcessEnv;
  const services: string[] = [];

  function mcp(args: string[], withEnv: NodeJS.ProcessEnv = env): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [MCP, ...args], { env: withEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  function writeCliConfig(): void {
    fs.writeFileSync(
      path.join(configDir, 'mcp.toml'),
      `[tls]\nca_cert = ${JSON.stringify(node.caCertPath)}\n\n[[nodes]]\nname = "local"\naddress = "127.0.0.1:${node.process!.address.split(':').pop()}"\nserver_name = "localhost"\n`,
    );
  }

  /** Writes `i21j-<tag>-<suffix>.toml` (one component `web`, the data dir on /srv) plus `jobs`, and deploys it with mcp. */
  async function deploy(suffix: string, jobs: string): Promise<string> {
    const service = `i21j-${TAG}-${suffix}`;
    services.push(service);
    const definition = `name = "${service}"\nnode = "local"\n\n[[components]]\nname = "web"\nimage = "${TEST_IMAGE}"\ncmd = ${SLEEPER}\nvolumes = ["${data}:/srv"]\n\n${jobs}`;
    fs.writeFileSync(path.join(configDir, 'services', `${service}.toml`), definition);
    const deployed = await mcp(['deploy', service]);
    expect(deployed).toMatchObject({ code: 0, stderr: '' });
    return service;
  }

  async function runsOf(service: string, job: string): Promise<mcpv1.JobRun[]> {
    return (await client.call('listJobs', { service, job })).runs;
  }

  beforeAll(async () => {
    receiver = new WebhookReceiver();
    const url = await receiver.start();
    const base = makeTestConfig({ mcproxy: { socket: undefined } });
    const dir = path.dirname(base.database.path);
    node = await TestAgent.create({
      config: makeTestConfig({ dir, mcproxy: { socket: undefined }, monitor: { ...base.monitor, alertWebhook: { url, format: 'json', timeoutMs: 5000, attempts: 1 } } }),
    });
    client = await node.start();
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'i21-jobs-e2e-'));
    data = path.join(home, 'srv');
    fs.mkdirSync(data);
    configDir = path.join(home, '.config', 'mcp');
    fs.mkdirSync(path.join(configDir, 'services'), { recursive: true });
    writeCliConfig();
    fs.writeFileSync(path.join(configDir, 'token'), `${TEST_ADMIN_TOKEN}\n`, { mode: 0o600 });
    env = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), NO_COLOR: '1' };
  });

  afterAll(async () => {
    for (const service of services) await client?.call('undeployService', { service }).catch(() => undefined);
    await node?.dispose({ containerPrefix: `i21j-${TAG}` });
    await receiver?.close();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it('should run a job on its schedule that writes into /srv, record it, show it in mcp jobs and mcp logs, and stop with its service', async () => {
    const service = await deploy('ok', `[[jobs]]\nname = "stamp"\ncomponent = "web"\ncmd = ["sh", "-c", "echo run >> /srv/stamp; echo wrote the stamp"]\nschedule = "* * * * * *"\n`);
    const run = await until('a succeeded run', async () => (await runsOf(service, 'stamp')).find((entry) => entry.result === 'succeeded'));
    expect(run).toMatchObject({ trigger: 'schedule', exitCode: 0, message: '' });
    expect(run.container).toMatch(new RegExp(`^${service}-web-run-[0-9a-f]{8}$`));
    expect(fs.readFileSync(path.join(data, 'stamp'), 'utf8')).toContain('run\n');

    const listed = await mcp(['jobs', service, '--json']);
    expect(listed.code).toBe(0);
    const [row] = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
    expect(row).toMatchObject({ service, name: 'stamp', schedule: '* * * * * *', tz: 'UTC', scheduled: true });
    expect(Date.parse(row.nextRun as string)).toBeGreaterThan(Date.now() - 1000);
    const table = await mcp(['jobs', service]);
    expect(table.stdout).toMatch(/^NAME\s+SCHEDULE\s+LAST-RUN\s+RESULT\s+NEXT-RUN/);
    expect(table.stdout).toMatch(/^stamp\s+\* \* \* \* \* \*\s+\d{4}-/m);

    const logs = await mcp(['logs', `${service}/stamp`]);
    expect(logs).toMatchObject({ code: 0, stdout: 'wrote the stamp\n' });

    expect(await mcp(['stop', service])).toMatchObject({ code: 0 });
    const stopped = JSON.parse((await mcp(['jobs', service, '--json'])).stdout) as Array<Record<string, unknown>>;
    expect(stopped[0]).toMatchObject({ scheduled: false, nextRun: '' });
    await until('its runs over', async () => ((await jobContainers(service)).length === 0 ? true : undefined));
  });

  it('should kill a run going when mcp stop or mcp undeploy returns, record it stopped without job_failed, and start no run of the stopped service', async () => {
    const service = await deploy('halt', `[[jobs]]\nname = "nap"\ncomponent = "web"\ncmd = ["sleep", "30"]\nschedule = "* * * * * *"\n`);
    const alertsBefore = receiver.received.length;
    const going = async (): Promise<{ run: mcpv1.JobRun; container: string }> =>
      until('a running run with its container', async () => {
        const run = (await runsOf(service, 'nap')).find((entry) => entry.result === 'running');
        const containers = await jobContainers(service, 'nap');
        return run && containers.length === 1 ? { run, container: containers[0] } : undefined;
      });

    const first = await going();
    const stopped = await mcp(['stop', service]);
    expect(stopped).toMatchObject({ code: 0, stderr: '' });
    // By the time `mcp stop` returns: the job's container gone, the run recorded stopped.
    expect(await jobContainers(service)).toEqual([]);
    const afterStop = await runsOf(service, 'nap');
    expect(afterStop.find((entry) => entry.id === first.run.id)).toMatchObject({
      result: 'stopped',
      container: first.container,
      message: 'stopped with component "web" of its service (mcp stop or undeploy); its container was killed',
    });
    expect(afterStop.some((entry) => entry.result === 'running')).toBe(false);
    expect(afterStop.find((entry) => entry.id === first.run.id)!.exitCode).toBeUndefined();
    const table = await mcp(['jobs', service]);
    // (Its newest record may be a forbid skip from before the stop.)
    expect(table.stdout).toMatch(/^nap\s+\* \* \* \* \* \*\s+\S+\s+(stopped|skipped)\s+not scheduled$/m);
    // A per-second schedule: two more seconds start nothing, on the node or in the history.
    await new Promise((resolve) => setTimeout(resolve, 2200));
    expect((await runsOf(service, 'nap')).map((entry) => entry.id)).toEqual(afterStop.map((entry) => entry.id));
    expect(await jobContainers(service)).toEqual([]);

    // Started again, it schedules again; undeploy kills the run going as stop does.
    expect(await mcp(['start', service])).toMatchObject({ code: 0, stderr: '' });
    const second = await going();
    expect(second.run.id).toBeGreaterThan(first.run.id);
    expect(await mcp(['undeploy', service])).toMatchObject({ code: 0, stderr: '' });
    expect(await jobContainers(service)).toEqual([]);
    expect((await runsOf(service, 'nap')).find((entry) => entry.id === second.run.id)).toMatchObject({ result: 'stopped' });
    const events = (JSON.parse((await mcp(['events', service, '--json'])).stdout) as { events: Array<{ kind: string; message: string }> }).events.filter((event) => event.kind === 'job_stopped');
    expect(events.map((event) => event.message).sort()).toEqual([first.run.id, second.run.id].map((id) => `job nap: run #${id} stopped with component "web" of its service (mcp stop or undeploy); its container was killed`).sort());
    // An operator's stop is no failure: no job_failed for these runs.
    expect(receiver.bodies().slice(alertsBefore).filter((body) => (body as { service?: string }).service === service)).toEqual([]);
  });

  it('should pass a failing run\'s status through mcp jobs run, record it failed and raise job_failed', async () => {
    const service = await deploy('fail', `[[jobs]]\nname = "report"\ncomponent = "web"\ncmd = ["sh", "-c", "echo partial; echo cannot report >&2; exit 3"]\nschedule = "0 3 * * *"\n`);
    const alertsBefore = receiver.received.length;
    const ran = await mcp(['jobs', 'run', `${service}/report`]);
    expect(ran).toEqual({ code: 3, stdout: 'partial\n', stderr: 'cannot report\n' });
    const [run] = await runsOf(service, 'report');
    expect(run).toMatchObject({ trigger: 'manual', result: 'failed', exitCode: 3, message: 'exited 3' });
    expect(Buffer.from(run.output).toString()).toContain('cannot report');
    await receiver.receivedCount(alertsBefore + 1);
    expect(receiver.bodies().slice(alertsBefore)).toContainEqual(expect.objectContaining({ kind: 'job_failed', service, component: 'report', observed: 'failed', message: `job ${service}/report exited 3` }));
    expect(await jobContainers(service)).toEqual([]);

    // The plan names a changed job (SPEC §12) and changes nothing.
    const file = path.join(configDir, 'services', `${service}.toml`);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('schedule = "0 3 * * *"', 'schedule = "0 4 * * *"'));
    const dry = await mcp(['deploy', service, '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    expect((JSON.parse(dry.stdout) as { jobs: string[] }).jobs).toEqual(['job report: schedule "0 3 * * *" → "0 4 * * *"']);
    // `mcp sync --dry-run` names it too.
    const synced = await mcp(['sync', '--dry-run', '--json']);
    expect(synced.code).toBe(0);
    expect((JSON.parse(synced.stdout) as { jobs: { service: string; changes: string[] }[] }).jobs.filter((entry) => entry.service === service)).toEqual([
      { node: expect.any(String), service, changes: ['job report: schedule "0 3 * * *" → "0 4 * * *"'] },
    ]);
    const syncedText = await mcp(['sync', '--dry-run']);
    expect(syncedText.stdout).toContain(`${service}: job report: schedule "0 3 * * *" → "0 4 * * *"`);
    expect((await client.call('listJobs', { service, job: '' })).jobs[0].spec?.schedule).toBe('0 3 * * *');
  });

  it('should kill a run past its timeout (124), record it timed_out and alert', async () => {
    const service = await deploy('slow', `[[jobs]]\nname = "hang"\ncomponent = "web"\ncmd = ["sleep", "60"]\nschedule = "@yearly"\ntimeout = "1s"\n`);
    const alertsBefore = receiver.received.length;
    const started = Date.now();
    const ran = await mcp(['jobs', 'run', `${service}/hang`]);
    expect(ran.code).toBe(124);
    expect(ran.stderr).toContain('ran longer than its timeout of 1s and was killed');
    expect(Date.now() - started).toBeLessThan(20_000);
    expect((await runsOf(service, 'hang'))[0]).toMatchObject({ result: 'timed_out', exitCode: 124 });
    await receiver.receivedCount(alertsBefore + 1);
    expect(receiver.bodies().slice(alertsBefore)).toContainEqual(expect.objectContaining({ kind: 'job_failed', service, observed: 'timed_out' }));
    expect(await jobContainers(service)).toEqual([]);
  });

  it('should skip (and record) a scheduled run while one still goes under concurrency = "forbid"', async () => {
    const service = await deploy('forbid', `[[jobs]]\nname = "long"\ncomponent = "web"\ncmd = ["sleep", "2"]\nschedule = "* * * * * *"\nconcurrency = "forbid"\n`);
    const skipped = await until('a skipped run', async () => (await runsOf(service, 'long')).find((entry) => entry.result === 'skipped'), 30_000);
    expect(skipped.message).toBe('skipped: the previous run still goes (concurrency = "forbid")');
    await client.call('stopService', { service });
    await until('its runs over', async () => ((await runsOf(service, 'long')).some((entry) => entry.result === 'running') ? undefined : true));
    // No two runs that started a container overlapped.
    const ran = (await runsOf(service, 'long')).filter((entry) => entry.result !== 'skipped').map((entry) => [Number(entry.startedAt!.seconds) * 1000 + entry.startedAt!.nanos / 1e6, Number(entry.finishedAt!.seconds) * 1000 + entry.finishedAt!.nanos / 1e6]);
    ran.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < ran.length; i++) expect(ran[i][0]).toBeGreaterThanOrEqual(ran[i - 1][1]);
  });

  it('should record a run whose image is missing as failed, with the reason, and exit 1 with one mcp: line', async () => {
    const service = await deploy('noimage', `[[jobs]]\nname = "ghost"\nimage = "localhost/i21j-${TAG}-missing:none"\ncmd = ["true"]\nschedule = "@daily"\n`);
    const ran = await mcp(['jobs', 'run', `${service}/ghost`]);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(new RegExp(`^mcp: job ${service}/ghost failed: could not run: .*i21j-${TAG}-missing`, 'm'));
    expect((await runsOf(service, 'ghost'))[0]).toMatchObject({ result: 'failed', container: '' });
    expect(await jobContainers(service)).toEqual([]);
  });

  it('should record a run the agent was SIGKILLed in as interrupted, remove its container, fire the next schedule, and catch up a catch_up job', async () => {
    const service = await deploy(
      'kill',
      `[[jobs]]\nname = "nap"\ncomponent = "web"\ncmd = ["sleep", "30"]\nschedule = "* * * * * *"\n\n[[jobs]]\nname = "tick"\ncomponent = "web"\ncmd = ["true"]\nschedule = "* * * * * *"\ncatch_up = true\n`,
    );
    const running = await until('a running run with its container', async () => {
      const run = (await runsOf(service, 'nap')).find((entry) => entry.result === 'running');
      const containers = await jobContainers(service, 'nap');
      return run && containers.length === 1 ? { run, container: containers[0] } : undefined;
    });
    // mcp ps lists the job's container while it runs, KIND job (the component column names the job).
    const ps = JSON.parse((await mcp(['ps', '--json'])).stdout) as { containers: Array<Record<string, unknown>> };
    expect(ps.containers).toContainEqual(expect.objectContaining({ service, component: 'nap', kind: 'job', container: running.container, state: 'running' }));
    expect(ps.containers).toContainEqual(expect.objectContaining({ service, component: 'web', kind: 'service' }));
    await node.kill9();
    expect(await jobContainers(service, 'nap')).toEqual([running.container]);
    client = await node.start();
    writeCliConfig();
    const runs = await until('a new run after the restart', async () => {
      const all = await runsOf(service, 'nap');
      return all.some((entry) => entry.id > running.run.id && entry.result === 'running') ? all : undefined;
    });
    expect(runs.find((entry) => entry.id === running.run.id)).toMatchObject({ result: 'interrupted' });
    expect(await jobContainers(service)).not.toContain(running.container);
    // The schedules missed while the agent was down: one catch-up run of the catch_up job only.
    const caught = await until('a catch-up run', async () => (await runsOf(service, 'tick')).find((entry) => entry.trigger === 'catch_up'));
    expect(['running', 'succeeded', 'skipped']).toContain(caught.result);
    expect(runs.some((entry) => entry.trigger === 'catch_up')).toBe(false);
    await client.call('stopService', { service });
  });

  it('should add, change and remove jobs with a real mcp sync, print the changes after the table, and change the agent\'s schedules', async () => {
    // Its own definitions directory: `mcp sync` sends every file of it (the other tests' stay out).
    const syncHome = path.join(home, 'sync-home');
    const syncConfig = path.join(syncHome, '.config', 'mcp');
    fs.mkdirSync(path.join(syncConfig, 'services'), { recursive: true });
    fs.copyFileSync(path.join(configDir, 'mcp.toml'), path.join(syncConfig, 'mcp.toml'));
    fs.copyFileSync(path.join(configDir, 'token'), path.join(syncConfig, 'token'));
    const syncEnv = { ...env, HOME: syncHome, XDG_CONFIG_HOME: path.join(syncHome, '.config') };
    const service = `i21j-${TAG}-sync`;
    services.push(service);
    const file = path.join(syncConfig, 'services', `${service}.toml`);
    const head = `name = "${service}"\nnode = "local"\n\n[[components]]\nname = "web"\nimage = "${TEST_IMAGE}"\ncmd = ${SLEEPER}\n\n`;
    const job = (name: string, schedule: string, cmd = '["true"]'): string => `[[jobs]]\nname = "${name}"\ncomponent = "web"\ncmd = ${cmd}\nschedule = "${schedule}"\n\n`;
    const scheduled = async (): Promise<Record<string, { schedule: string; scheduled: boolean; nextRun: string }>> => {
      const rows = JSON.parse((await mcp(['jobs', service, '--json'], syncEnv)).stdout) as Array<{ name: string; schedule: string; scheduled: boolean; nextRun: string }>;
      return Object.fromEntries(rows.map((row) => [row.name, { schedule: row.schedule, scheduled: row.scheduled, nextRun: row.nextRun }]));
    };

    // A new service with two jobs: the sync deploys it and names both.
    fs.writeFileSync(file, head + job('report', '0 3 * * *') + job('old', '* * * * * *'));
    const first = await mcp(['sync'], syncEnv);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toMatch(new RegExp(`^local\\s+${service}\\s+web\\s+deploy\\s`, 'm'));
    expect(first.stdout.trimEnd().split('\n').slice(-2)).toEqual([
      `${service}: job report: added (0 3 * * *, component web ["true"])`,
      `${service}: job old: added (* * * * * *, component web ["true"])`,
    ]);
    // Scheduled by the time the sync answered.
    const before = await scheduled();
    expect(before.report).toMatchObject({ schedule: '0 3 * * *', scheduled: true });
    expect(before.report.nextRun).toMatch(/T03:00:00(\.000)?Z$/);
    expect(before.old).toMatchObject({ scheduled: true });
    await until('a run of the per-second job', async () => ((await runsOf(service, 'old')).some((entry) => entry.result === 'succeeded') ? true : undefined));

    // report's schedule changed, old removed, stamp added (per second).
    fs.writeFileSync(file, head + job('report', '0 4 * * *') + job('stamp', '* * * * * *', '["sh", "-c", "echo synced > /tmp/stamp"]'));
    const second = await mcp(['sync'], syncEnv);
    const logMark = node.process!.logs().length;
    expect(second).toMatchObject({ code: 0, stderr: '' });
    expect(second.stdout).toMatch(new RegExp(`^local\\s+${service}\\s+web\\s+unchanged\\s`, 'm'));
    expect(second.stdout.trimEnd().split('\n').slice(-3)).toEqual([
      `${service}: job report: schedule "0 3 * * *" → "0 4 * * *"`,
      `${service}: job stamp: added (* * * * * *, component web ["sh","-c","echo synced > /tmp/stamp"])`,
      `${service}: job old: removed (unscheduled)`,
    ]);
    const after = await scheduled();
    expect(Object.keys(after).sort()).toEqual(['report', 'stamp']);
    expect(after.report).toMatchObject({ schedule: '0 4 * * *', scheduled: true });
    expect(after.report.nextRun).toMatch(/T04:00:00(\.000)?Z$/);
    // The added job runs on its schedule; the removed one no longer does.
    const stamped = await until('a run of the added job', async () => (await runsOf(service, 'stamp')).find((entry) => entry.result === 'succeeded'));
    expect(stamped.trigger).toBe('schedule');
    const oldRuns = await until('the removed job\'s last run over', async () => {
      const runs = await runsOf(service, 'old');
      return runs.some((entry) => entry.result === 'running') ? undefined : runs.length;
    });
    await new Promise((resolve) => setTimeout(resolve, 2200));
    expect((await runsOf(service, 'old')).length).toBe(oldRuns);
    // Its CronJob is gone too: a leftover one would tick each second and log that the job is not found.
    expect(node.process!.logs().slice(logMark)).not.toContain(`${service}/old`);

    // A sync with nothing changed names no job.
    const third = await mcp(['sync', '--json'], syncEnv);
    expect(third.code).toBe(0);
    expect((JSON.parse(third.stdout) as { jobs?: unknown }).jobs).toBeUndefined();
    await mcp(['stop', service], syncEnv);
  });

  it('should refuse an unknown job and a bad target with one line', async () => {
    const service = services.find((name) => name.endsWith('-fail'))!;
    const unknown = await mcp(['jobs', 'run', `${service}/nope`]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`job "${service}/nope" not found (jobs: report)`);
    const bad = await mcp(['jobs', 'run', service]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected SERVICE/JOB');
  });
});
