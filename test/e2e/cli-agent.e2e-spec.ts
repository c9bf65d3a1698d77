import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { loadServiceFile } from '@mcp/servicedef';
import {
  TEST_GUEST_TOKEN,
  makeTestConfig,
  makeTlsFixture,
  startAgentProcess,
  writeTestTokens,
  type AgentProcess,
  writeCliConfig,
} from '../support';

jest.setTimeout(120_000);

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'mcp.js');
/** Every container this suite creates starts with this prefix (a valid service name). */
const PREFIX = `cli${randomBytes(3).toString('hex')}`;
const SERVICE = `${PREFIX}-web`;

const DEFINITION = `# made by the CLI e2e test
name = "${SERVICE}"
node = "local"
active = true # flipped by stop/start

[[components]]
name = "${SERVICE}"
image = "localhost/mcp-test/busybox:1.0"
cmd = ["/bin/sh", "-c", "echo started $GREETING; echo oops >&2; mkdir -p /www && exec httpd -f -p 8080 -h /www"]
env = ["GREETING=hi"]
`;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function removeOurContainers(): Promise<void> {
  const { stdout } = await run('podman', ['ps', '-a', '--format', '{{.Names}}']);
  const names = stdout.split('\n').filter((n) => n.startsWith(PREFIX));
  if (names.length > 0) await run('podman', ['rm', '-f', '-t', '0', ...names]);
}

/** The real CLI (bin/mcp.js, bundled) against the real agent process and real podman. */
describe('mcp CLI against a real agent', () => {
  const config = makeTestConfig({ mcproxy: { socket: undefined } });
  const agentDir = path.dirname(config.file);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-cli-e2e-'));
  const configDir = path.join(home, '.config', 'mcp');
  const servicesDir = path.join(configDir, 'services');
  const definitionFile = path.join(servicesDir, `${SERVICE}.toml`);
  let agent: AgentProcess | undefined;

  function mcp(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], {
        env: { PATH: process.env.PATH, HOME: home, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  beforeAll(async () => {
    const tls = await makeTlsFixture(path.join(agentDir, 'tls'));
    await writeTestTokens(config);
    agent = await startAgentProcess({ config });
    const port = agent.address.split(':').pop();
    fs.mkdirSync(servicesDir, { recursive: true });
    writeCliConfig(configDir, { caCertPath: tls.caCertPath, nodes: [{ name: 'local', address: `127.0.0.1:${port}` }] });
    fs.writeFileSync(definitionFile, DEFINITION);
  });

  afterAll(async () => {
    await agent?.stop();
    await removeOurContainers();
    fs.rmSync(agentDir, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('should report the node', async () => {
    const result = await mcp(['node', 'status', '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout) as { nodes: Array<{ node: string; cpus: number }>; errors: unknown[] };
    expect(body.errors).toEqual([]);
    expect(body.nodes).toEqual([expect.objectContaining({ node: 'local', agentNode: 'test-node', runtimeVersion: expect.any(String) })]);
    expect(body.nodes[0].cpus).toBeGreaterThan(0);
  });

  it('should deploy from the definition file and show it in ps, list and status', async () => {
    const deploy = await mcp(['deploy', SERVICE]);
    expect(deploy.stderr).toBe('');
    expect(deploy.code).toBe(0);
    expect(deploy.stdout).toMatch(new RegExp(`^${SERVICE}\\s+${SERVICE}\\s+local\\s+deployed$`, 'm'));

    const ps = await mcp(['ps', '--json']);
    expect(ps.code).toBe(0);
    const containers = (JSON.parse(ps.stdout) as { containers: Array<Record<string, unknown>> }).containers;
    expect(containers).toContainEqual(expect.objectContaining({ node: 'local', service: SERVICE, component: SERVICE, state: 'running', version: '1.0' }));

    const table = await mcp(['ps']);
    // The deploy's health gate passed: healthy until the monitor's probes say otherwise.
    expect(table.stdout).toMatch(new RegExp(`^${SERVICE}\\s+${SERVICE}\\s+service\\s+local\\s+running\\s+healthy\\s+1\\.0\\s+\\d+s$`, 'm'));

    const list = await mcp(['list']);
    expect(list.code).toBe(0);
    // No routes in this definition: the ROUTES column says so.
    expect(list.stdout).toMatch(new RegExp(`^${SERVICE}\\s+${SERVICE}\\s+local\\s+running\\s+running\\s+1\\.0\\s+-$`, 'm'));

    const status = await mcp(['status', SERVICE, '--json']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).components).toEqual([
      { node: 'local', service: SERVICE, component: SERVICE, desired: 'running', observed: 'running', health: 'healthy', version: '1.0', release: 1, drift: false, driftFields: [] },
    ]);
  });

  it('should print the container logs, stdout and stderr apart', async () => {
    const result = await mcp(['logs', SERVICE, '-n', '10']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('started hi');
    expect(result.stderr).toContain('oops');
  });

  it('should follow logs until Ctrl-C and then exit cleanly', async () => {
    const child = spawn(process.execPath, [BIN, 'logs', SERVICE, '-f'], { env: { PATH: process.env.PATH, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    const firstOutput = new Promise<void>((resolve) =>
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('started hi')) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await firstOutput;
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('should keep following a quiet stream past the node timeout: the agent opens it at once (issue #12)', async () => {
    // A follow stream's only deadline is its opening (then keepalive): the agent must send its
    // response headers before any message, or a quiet `events -f` would read as no answer.
    const quick = path.join(configDir, 'quick.toml');
    fs.writeFileSync(quick, `${fs.readFileSync(path.join(configDir, 'mcp.toml'), 'utf8')}timeout = "1s"\n`);
    const child = spawn(process.execPath, [BIN, 'events', '-f', `${PREFIX}-nothing-happens-here`], { env: { PATH: process.env.PATH, HOME: home, MCP_CONFIG: quick }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      const early = await Promise.race([exited.then(() => 'exited'), new Promise((resolve) => setTimeout(() => resolve('still following'), 4_000))]);
      expect([early, stderr]).toEqual(['still following', '']);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('should push a file and pull it back intact', async () => {
    const local = path.join(home, 'index.html');
    const content = `hello ${PREFIX}\n`.repeat(20_000);
    fs.writeFileSync(local, content, { mode: 0o640 });
    const push = await mcp(['push', local, SERVICE, 'www/index.html']);
    expect(push.stderr).toBe('');
    expect(push.code).toBe(0);

    const copy = path.join(home, 'copy.html');
    const pull = await mcp(['pull', SERVICE, 'www/index.html', copy]);
    expect(pull.stderr).toBe('');
    expect(pull.code).toBe(0);
    expect(fs.readFileSync(copy, 'utf8')).toBe(content);
    expect(fs.statSync(copy).mode & 0o777).toBe(0o640);

    const outside = await mcp(['pull', SERVICE, '../../etc/passwd', path.join(home, 'nope')]);
    expect(outside.code).toBe(1);
    expect(outside.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('should stop and start, rewriting active in the definition file', async () => {
    const stop = await mcp(['stop', SERVICE]);
    expect(stop.code).toBe(0);
    expect(fs.readFileSync(definitionFile, 'utf8')).toBe(DEFINITION.replace('active = true #', 'active = false #'));
    const stopped = await mcp(['status', SERVICE, '--json']);
    expect(JSON.parse(stopped.stdout).components[0]).toMatchObject({ desired: 'stopped', drift: false });

    const start = await mcp(['start', SERVICE]);
    expect(start.code).toBe(0);
    expect(fs.readFileSync(definitionFile, 'utf8')).toBe(DEFINITION);
    const ps = await mcp(['ps', '--json']);
    expect(JSON.parse(ps.stdout).containers).toContainEqual(expect.objectContaining({ service: SERVICE, state: 'running' }));
  });

  it('should export the deployed spec as a definition that loads back identically', async () => {
    const out = path.join(home, 'exported.toml');
    const result = await mcp(['service', 'export', SERVICE, '-o', out]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(await loadServiceFile(out)).toEqual(await loadServiceFile(definitionFile));
  });

  it('should plan a sync and a purge without changing anything', async () => {
    const sync = await mcp(['sync', '--dry-run', '--json']);
    expect(sync.stderr).toBe('');
    expect(sync.code).toBe(0);
    const plan = JSON.parse(sync.stdout) as { dryRun: boolean; actions: Array<{ node: string; service: string; ok: boolean }> };
    expect(plan.dryRun).toBe(true);
    expect(plan.actions).toContainEqual(expect.objectContaining({ node: 'local', service: SERVICE, ok: true }));

    const purge = await mcp(['purge', '--dry-run', '--json']);
    expect(purge.stderr).toBe('');
    expect(purge.code).toBe(0);
    expect(JSON.parse(purge.stdout)).toEqual({ dryRun: true, purged: [], errors: [] });
  });

  it('should adopt a container started by hand and write its definition', async () => {
    const legacy = `${PREFIX}-old`;
    await run('podman', ['run', '-d', '--name', legacy, '-e', 'MODE=legacy', 'localhost/mcp-test/busybox:2.0']);
    const result = await mcp(['adopt', legacy, '--write']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^${legacy}\\s+${legacy}\\s+local\\s+adopted$`, 'm'));
    const spec = await loadServiceFile(path.join(servicesDir, `${legacy}.toml`));
    expect(spec).toMatchObject({ name: legacy, node: 'local', active: true, components: [{ name: legacy, image: 'localhost/mcp-test/busybox:2.0' }] });
    expect(spec.components[0].env).toContain('MODE=legacy');
  });

  it('should exit 4 telling the operator to log in when the token is rejected', async () => {
    const guest = path.join(home, 'guest-token');
    fs.writeFileSync(guest, 'not-a-token\n', { mode: 0o600 });
    const result = await mcp(['ps'], { MCP_AUTH_TOKEN_PATH: guest });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('token rejected by local: run mcp login');
  });

  it('should exit 1 with the agent message when the role is not allowed', async () => {
    const guest = path.join(home, 'guest-token');
    fs.writeFileSync(guest, `${TEST_GUEST_TOKEN}\n`, { mode: 0o600 });
    const result = await mcp(['list'], { MCP_AUTH_TOKEN_PATH: guest });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/permission denied by local/);
  });

  it('should undeploy and leave no container behind', async () => {
    for (const service of [SERVICE, `${PREFIX}-old`]) {
      const result = await mcp(['undeploy', service]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    }
    const { stdout } = await run('podman', ['ps', '-a', '--format', '{{.Names}}']);
    expect(stdout.split('\n').filter((n) => n.startsWith(PREFIX))).toEqual([]);
  });
});
