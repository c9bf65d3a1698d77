import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { makeTestConfig, protoService, TEST_ADMIN_TOKEN, TestAgent, type AgentTestClient } from '../support';

jest.setTimeout(120_000);

const execFileAsync = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
const MCP = path.join(ROOT, 'bin', 'mcp.js');
const SERVICE = `i21r${randomBytes(3).toString('hex')}`;
const SLEEPER = ['/bin/sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"];

/** This suite's one-off containers, as podman lists them. */
async function runContainers(): Promise<string[]> {
  const { stdout } = await execFileAsync('podman', ['ps', '--all', '--filter', 'label=mcp.run', '--format', '{{.Names}}']);
  return stdout.split('\n').filter((name) => name.startsWith(`${SERVICE}-`));
}

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
 * SPEC §12 `mcp run` end to end: the real `mcp`, the real agent (REST adapter), real podman.
 * A run is a one-off container of the component's spec (env, volumes), streams its output,
 * exits with its status and is removed: after it ends, at its timeout, and when the CLI is
 * killed in the middle.
 */
describe('mcp run (real mcp, real agent, real podman)', () => {
  let node: TestAgent;
  let client: AgentTestClient;
  let home: string;
  let data: string;
  let env: NodeJS.ProcessEnv;

  function mcpProcess(args: string[]) {
    return spawn(process.execPath, [MCP, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  }
  function mcp(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = mcpProcess(args);
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

  /** The CLI's config for the agent's current address (a restarted agent listens on a new port). */
  function writeCliConfig(configDir: string): void {
    fs.writeFileSync(
      path.join(configDir, 'mcp.toml'),
      `[tls]\nca_cert = ${JSON.stringify(node.caCertPath)}\n\n[[nodes]]\nname = "local"\naddress = "127.0.0.1:${node.process!.address.split(':').pop()}"\nserver_name = "localhost"\n`,
    );
  }

  beforeAll(async () => {
    node = await TestAgent.create({ config: makeTestConfig({ mcproxy: { socket: undefined } }) });
    client = await node.start();
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'i21-run-e2e-'));
    data = path.join(home, 'data');
    fs.mkdirSync(data);
    fs.writeFileSync(path.join(data, 'file.txt'), 'on the volume\n');
    const deployed = await client.call('deploy', {
      service: protoService({
        name: SERVICE,
        components: [
          { name: 'web', cmd: SLEEPER, env: ['GREETING=hello', 'KEEP=kept'], volumes: [`${data}:/data`] },
          { name: 'db', cmd: SLEEPER },
        ],
      }),
      component: '',
      force: false,
    });
    expect(deployed.results.every((r) => r.ok)).toBe(true);
    const configDir = path.join(home, '.config', 'mcp');
    fs.mkdirSync(path.join(configDir, 'services'), { recursive: true });
    writeCliConfig(configDir);
    fs.writeFileSync(path.join(configDir, 'token'), `${TEST_ADMIN_TOKEN}\n`, { mode: 0o600 });
    env = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), NO_COLOR: '1' };
  });

  afterAll(async () => {
    await node?.dispose({ containerPrefix: SERVICE });
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it("should run the component's spec with --env on top, stream its output, exit with its status and remove the container", async () => {
    const ran = await mcp(['run', '--node', 'local', '--env', 'GREETING=override', `${SERVICE}/web`, '--', 'sh', '-c', 'echo $GREETING $KEEP; cat /data/file.txt; echo err >&2; exit 5']);
    expect(ran).toEqual({ code: 5, stdout: 'override kept\non the volume\n', stderr: 'err\n' });
    expect(await runContainers()).toEqual([]);
  });

  it('should keep a running one-off container out of live state (ps) while podman has it, labelled', async () => {
    const child = mcpProcess(['run', '--node', 'local', `${SERVICE}/db`, '--', 'sh', '-c', 'echo started; sleep 60']);
    const name = await until('the run container', async () => (await runContainers())[0]);
    expect(name).toMatch(new RegExp(`^${SERVICE}-db-run-[0-9a-f]{8}$`));
    const live = await client.call('liveCheck', {});
    expect(live.containers.map((c) => c.container)).not.toContain(name);
    expect(live.containers.map((c) => c.container)).toContain(`${SERVICE}-db`);
    // The CLI killed outright: the agent sees the call cancelled and removes the container.
    child.kill('SIGKILL');
    await until('the run container removed', async () => ((await runContainers()).length === 0 ? true : undefined));
  });

  it('should kill and remove a run past its --timeout (exit 124)', async () => {
    const started = Date.now();
    const ran = await mcp(['run', '--node', 'local', '--timeout', '2s', `${SERVICE}/web`, '--', 'sleep', '60']);
    expect(ran.code).toBe(124);
    expect(ran.stderr).toContain('timeout of 2s');
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await runContainers()).toEqual([]);
  });

  it('should remove the runs a killed agent left behind when it starts again', async () => {
    const child = mcpProcess(['run', '--node', 'local', `${SERVICE}/web`, '--', 'sleep', '60']);
    const name = await until('the run container', async () => (await runContainers())[0]);
    await node.kill9();
    child.kill('SIGKILL');
    expect(await runContainers()).toEqual([name]);
    client = await node.start();
    writeCliConfig(path.join(home, '.config', 'mcp'));
    expect(await runContainers()).toEqual([]);
    expect(node.process!.logs()).toContain(`removed 1 one-off container(s) left by a previous agent process: ${name}`);
  });

  it('should refuse an unknown component and a bad --env in one line each', async () => {
    const unknown = await mcp(['run', '--node', 'local', `${SERVICE}/nope`, '--', 'true']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toMatch(new RegExp(`^mcp: .*component "${SERVICE}/nope" not found`));
    const badEnv = await mcp(['run', '--node', 'local', '--env', 'no-equals', `${SERVICE}/web`, '--', 'true']);
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr.trim().split('\n')).toHaveLength(1);
    expect(await runContainers()).toEqual([]);
  });
});
