import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { mcpv1 } from '@mcp/proto';
import { startFakeMcproxy, type FakeMcproxy } from '../servers/fake-mcproxy';
import { httpGet, makeTestConfig, protoService, removeContainers, TestAgent, type AgentTestClient } from '../support';

jest.setTimeout(120_000);

const execFileAsync = promisify(execFile);
const SERVICE = `i21h${randomBytes(3).toString('hex')}`;
const SLEEPER = ['/bin/sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"];

async function containerId(name: string): Promise<string> {
  const { stdout } = await execFileAsync('podman', ['inspect', '--format', '{{.Id}}', '--', name]);
  return stdout.trim();
}

async function runContainers(): Promise<string[]> {
  const { stdout } = await execFileAsync('podman', ['ps', '--all', '--filter', 'label=mcp.run', '--format', '{{.Names}}']);
  return stdout.split('\n').filter((name) => name.startsWith(`${SERVICE}-`));
}

/**
 * SPEC §12's pre-deploy hook with the real agent and real podman (a stop-first component):
 * the hook runs in a one-off container of the NEW spec before anything of the old version
 * changes; a failing or overlong hook fails the deploy with its status and last log lines,
 * in the result and the release history, and leaves the old container serving.
 */
describe('pre_deploy hook (real agent, real podman)', () => {
  let node: TestAgent;
  let client: AgentTestClient;
  let data: string;

  const deploy = (env: string, hooks?: { preDeploy: string[]; timeout?: string }): Promise<mcpv1.DeployResponse> => {
    const service = protoService({ name: SERVICE, components: [{ name: 'web', cmd: SLEEPER, env: [`VERSION=${env}`], volumes: [`${data}:/data`] }] });
    if (hooks) service.components[0].hooks = { preDeploy: hooks.preDeploy, timeout: hooks.timeout ?? '' };
    return client.call('deploy', { service, component: '', force: false });
  };

  beforeAll(async () => {
    node = await TestAgent.create({ config: makeTestConfig({ mcproxy: { socket: undefined } }) });
    client = await node.start();
    data = fs.mkdtempSync(path.join(os.tmpdir(), 'i21-hooks-'));
    fs.chmodSync(data, 0o777);
    const first = await deploy('1');
    expect(first.results.every((r) => r.ok)).toBe(true);
  });

  afterAll(async () => {
    await node?.dispose({ containerPrefix: SERVICE });
    if (data) fs.rmSync(data, { recursive: true, force: true });
  });

  it('should fail the deploy on a failing hook, with its status and last log lines, and leave the old container serving', async () => {
    const before = await containerId(`${SERVICE}-web`);
    const failed = await deploy('2', { preDeploy: ['sh', '-c', 'echo "migrating to $VERSION"; echo "no such table" >&2; exit 3'] });
    const result = failed.results[0];
    expect(result.ok).toBe(false);
    expect(result.error).toBe('pre_deploy hook ["sh","-c","echo \\"migrating to $VERSION\\"; echo \\"no such table\\" >&2; exit 3"] exited 3; nothing else was changed');
    expect(result.logTail).toContain('migrating to 2');
    expect(result.logTail).toContain('no such table');
    expect(await containerId(`${SERVICE}-web`)).toBe(before);
    const releases = await client.call('listReleases', { service: SERVICE, component: '' });
    expect(releases.releases[0]).toMatchObject({ outcome: 'failed', message: expect.stringContaining('exited 3') });
    expect(await runContainers()).toEqual([]);
  });

  it('should kill a hook past its timeout and fail the deploy', async () => {
    const started = Date.now();
    const failed = await deploy('3', { preDeploy: ['sleep', '60'], timeout: '1s' });
    expect(failed.results[0].ok).toBe(false);
    expect(failed.results[0].error).toContain('ran longer than its timeout of 1s and was killed');
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await runContainers()).toEqual([]);
  });

  it('should name the hook in the dry-run plan, and change nothing', async () => {
    const service = protoService({ name: SERVICE, components: [{ name: 'web', cmd: SLEEPER, env: ['VERSION=9'], volumes: [`${data}:/data`] }] });
    service.components[0].hooks = { preDeploy: ['bin/migrate', '--all'], timeout: '' };
    const plan = await client.call('planDeploy', { service, component: '', force: false });
    expect(plan.components[0]).toMatchObject({ action: 'recreate', hook: '["bin/migrate","--all"] (timeout 10m)' });
    expect(await runContainers()).toEqual([]);
  });

  it('should run a passing hook with the new spec before the new container, then deploy', async () => {
    const before = await containerId(`${SERVICE}-web`);
    const ok = await deploy('4', { preDeploy: ['sh', '-c', 'echo "migrated to $VERSION" > /data/migrated'] });
    expect(ok.results[0]).toMatchObject({ ok: true, error: '' });
    expect(fs.readFileSync(path.join(data, 'migrated'), 'utf8')).toBe('migrated to 4\n');
    expect(await containerId(`${SERVICE}-web`)).not.toBe(before);
    const releases = await client.call('listReleases', { service: SERVICE, component: '' });
    expect(releases.releases[0].outcome).toBe('succeeded');
    expect(await runContainers()).toEqual([]);
  });
});

/**
 * The hook in a start-first deploy (routes through a fake mc-proxy): the old version keeps
 * serving through the route while the hook runs, the new container does not exist yet, and a
 * failing hook leaves routes and container exactly as they were.
 */
describe('pre_deploy hook, start-first (real agent, real podman, fake mc-proxy)', () => {
  const service = `i21f${randomBytes(3).toString('hex')}`;
  let node: TestAgent;
  let client: AgentTestClient;
  let mcproxy: FakeMcproxy;
  let work: string;
  const serve = ['/bin/sh', '-c', 'mkdir -p /www && echo "$VERSION" > /www/index.html && exec httpd -f -p $PORT -h /www'];
  const spec = (version: string, hook?: string[]) =>
    protoService({
      name: service,
      components: [
        {
          name: 'web',
          cmd: serve,
          env: [`VERSION=${version}`],
          volumes: [`${work}:/data`],
          routes: [{ port: 443 }],
          health: { http: '/', interval: '100ms', start_period: '20s' },
          strategy: 'start-first',
          drain: '0s',
          ...(hook ? { hooks: { pre_deploy: hook } } : {}),
        },
      ],
    });
  const containers = async (): Promise<string[]> => {
    const { stdout } = await execFileAsync('podman', ['ps', '--all', '--format', '{{.Names}}']);
    return stdout.split('\n').filter((name) => name.startsWith(`${service}`)).sort();
  };

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'i21-hooks-sf-'));
    fs.chmodSync(work, 0o777);
    mcproxy = await startFakeMcproxy({ socketPath: path.join(work, 'mcproxy.sock') });
    node = await TestAgent.create({ config: makeTestConfig({ mcproxy: { socket: path.join(work, 'mcproxy.sock') } }) });
    client = await node.start();
    const first = await client.call('deploy', { service: spec('v1'), component: '', force: false });
    expect(first.results.every((r) => r.ok)).toBe(true);
  });

  afterAll(async () => {
    await node?.dispose({ containerPrefix: service });
    await removeContainers(service);
    await mcproxy?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('should keep the old version serving through the route while the hook runs, then switch', async () => {
    const port = mcproxy.listenerPort(':443')!;
    expect((await httpGet(port)).trim()).toBe('v1');
    const gate = path.join(work, 'go');
    const deploying = client.call('deploy', { service: spec('v2', ['sh', '-c', `echo "$VERSION" > /data/hook-ran; while [ ! -e /data/go ]; do sleep 0.1; done`]), component: '', force: false });
    const deadline = Date.now() + 20_000;
    while (!fs.existsSync(path.join(work, 'hook-ran')) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fs.readFileSync(path.join(work, 'hook-ran'), 'utf8')).toBe('v2\n');
    // Mid-hook: the old version answers through the route, and only it and the hook's container exist.
    expect((await httpGet(port)).trim()).toBe('v1');
    const during = await containers();
    expect(during).toHaveLength(2);
    expect(during[0]).toBe(`${service}-web`);
    expect(during[1]).toMatch(new RegExp(`^${service}-web-run-[0-9a-f]{8}$`));
    fs.writeFileSync(gate, '');
    const done = await deploying;
    expect(done.results[0]).toMatchObject({ ok: true });
    expect((await httpGet(port)).trim()).toBe('v2');
    expect(await containers()).toEqual([`${service}-web`]);
  });

  it('should leave routes and container as they were when a start-first hook fails', async () => {
    const routesBefore = JSON.stringify(mcproxy.routes());
    const { stdout: idBefore } = await execFileAsync('podman', ['inspect', '--format', '{{.Id}}', '--', `${service}-web`]);
    const failed = await client.call('deploy', { service: spec('v3', ['sh', '-c', 'echo "cannot migrate" >&2; exit 1']), component: '', force: false });
    expect(failed.results[0]).toMatchObject({ ok: false, error: expect.stringContaining('exited 1') });
    expect(failed.results[0].logTail).toContain('cannot migrate');
    expect(JSON.stringify(mcproxy.routes())).toBe(routesBefore);
    expect((await execFileAsync('podman', ['inspect', '--format', '{{.Id}}', '--', `${service}-web`])).stdout).toBe(idBefore);
    expect((await httpGet(mcproxy.listenerPort(':443')!)).trim()).toBe('v2');
    expect(await containers()).toEqual([`${service}-web`]);
  });
});
