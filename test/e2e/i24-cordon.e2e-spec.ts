import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { makeTestConfig, makeTlsFixture, startAgentProcess, writeTestTokens, type AgentProcess, writeCliConfig } from '../support';

jest.setTimeout(120_000);

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'mcp.js');
/** Every container this suite creates starts with this prefix (a valid service name). */
const PREFIX = `i24c${randomBytes(3).toString('hex')}`;
const RUNNING = `${PREFIX}-old`;
const NEW = `${PREFIX}-new`;
const RELATIVE = `${PREFIX}-rel`;

function definition(name: string): string {
  return `# ${name}: made by the cordon e2e
name = "${name}"
node = "local"
active = true

[[components]]
name = "web"
image = "localhost/mcp-test/busybox:1.0"
cmd = ["/bin/sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
`;
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function ourContainers(): Promise<string[]> {
  const { stdout } = await run('podman', ['ps', '-a', '--format', '{{.Names}}']);
  return stdout.split('\n').filter((n) => n.startsWith(PREFIX));
}

/** SPEC §15 cordon: the real CLI against the real agent process, its real registry file and real podman. */
describe('mcp node cordon|uncordon (i24)', () => {
  const config = makeTestConfig({ mcproxy: { socket: undefined } });
  const agentDir = path.dirname(config.file);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-i24-cordon-'));
  const configDir = path.join(home, '.config', 'mcp');
  const servicesDir = path.join(configDir, 'services');
  let agent: AgentProcess | undefined;
  let port = '';

  function mcp(args: string[]): Promise<Result> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
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
    port = agent.address.split(':').pop()!;
    fs.mkdirSync(servicesDir, { recursive: true });
    writeCliConfig(configDir, { caCertPath: tls.caCertPath, nodes: [{ name: 'local', address: `127.0.0.1:${port}` }] });
    fs.writeFileSync(path.join(servicesDir, `${RUNNING}.toml`), definition(RUNNING));
    fs.writeFileSync(path.join(servicesDir, `${NEW}.toml`), definition(NEW));
    fs.writeFileSync(path.join(servicesDir, `${RELATIVE}.toml`), definition(RELATIVE).replace('cmd = [', 'volumes = ["./data:/data:ro", "./:/svc"] # relative to <srv_root>/<service>/\ncmd = ['));
  });

  afterAll(async () => {
    await agent?.stop();
    const names = await ourContainers();
    if (names.length > 0) await run('podman', ['rm', '-f', '-t', '0', ...names]);
    fs.rmSync(agentDir, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('should cordon the node, audit it, and show it in node status, list and ps', async () => {
    const before = await mcp(['deploy', RUNNING]);
    expect(before.stderr).toBe('');
    expect(before.code).toBe(0);

    const cordon = await mcp(['node', 'cordon', 'local', '--json']);
    expect(cordon.stderr).toBe('');
    expect(JSON.parse(cordon.stdout)).toEqual({ node: 'local', cordoned: true, changed: true });
    expect(agent!.logs()).toMatch(/"msg":"rpc"[^\n]*"method":"SetCordon"[^\n]*"caller":"test-admin"|"method":"SetCordon"[^\n]*"msg":"rpc"/);
    const again = await mcp(['node', 'cordon', 'local']);
    expect(again.stdout).toContain('node local was already cordoned');

    const status = JSON.parse((await mcp(['node', 'status', '--json'])).stdout) as { nodes: Array<Record<string, unknown>> };
    expect(status.nodes[0]).toMatchObject({ node: 'local', cordoned: true, cordonedBy: 'test-admin', cordonedAt: expect.any(String) });

    const list = await mcp(['list']);
    expect(list.stdout).toMatch(new RegExp(`^${RUNNING}\\s+web\\s+local \\(cordoned\\)\\s+running`, 'm'));
    expect(list.stdout).toContain('cordoned: local');
    const ps = JSON.parse((await mcp(['ps', '--json'])).stdout) as { cordonedNodes: string[]; containers: Array<Record<string, unknown>> };
    expect(ps.cordonedNodes).toEqual(['local']);
    expect(ps.containers).toContainEqual(expect.objectContaining({ service: RUNNING, nodeCordoned: true }));
  });

  it('should refuse a deploy of a new service with what to do, and create nothing', async () => {
    const refused = await mcp(['deploy', NEW]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trim()).toMatch(new RegExp(`node test-node is cordoned \\(by test-admin since .+\\): deploy ${NEW} to another node, run mcp node uncordon test-node, or deploy with --force$`));
    expect(await ourContainers()).not.toContain(`${NEW}-web`);
    const list = JSON.parse((await mcp(['list', '--json'])).stdout) as { services: Array<{ service: string }> };
    expect(list.services.map((s) => s.service)).not.toContain(NEW);
  });

  it('should still redeploy a service the cordoned node runs', async () => {
    const redeploy = await mcp(['deploy', RUNNING]);
    expect(redeploy.stderr).toBe('');
    expect(redeploy.code).toBe(0);
  });

  it('should keep the cordon across an agent restart (the registry holds it)', async () => {
    await agent!.stop();
    agent = await startAgentProcess({ config });
    expect(agent.address.split(':').pop()).toBe(port);
    const status = JSON.parse((await mcp(['node', 'status', '--json'])).stdout) as { nodes: Array<Record<string, unknown>> };
    expect(status.nodes[0]).toMatchObject({ cordoned: true });
    expect((await mcp(['deploy', NEW])).code).not.toBe(0);
  });

  it('should deploy with --force, and take new services again once uncordoned', async () => {
    const forced = await mcp(['deploy', NEW, '--force']);
    expect(forced.stderr).toBe('');
    expect(forced.code).toBe(0);
    expect(await ourContainers()).toContain(`${NEW}-web`);
    expect((await mcp(['undeploy', NEW])).code).toBe(0);

    const uncordon = await mcp(['node', 'uncordon', 'local']);
    expect(uncordon.stdout).toContain('uncordoned node local: it takes new services again');
    const deploy = await mcp(['deploy', NEW]);
    expect(deploy.stderr).toBe('');
    expect(deploy.code).toBe(0);
    const list = await mcp(['list']);
    expect(list.stdout).not.toContain('cordoned');
  });

  it('should mount ./ volume sources from <srv_root>/<service>/ on the node, keep ./ in the export, and see no drift', async () => {
    const dataDir = path.join(config.agent.srvRoot, RELATIVE, 'data');
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(path.join(dataDir, 'hello.txt'), 'relative hello\n');
    const deploy = await mcp(['deploy', RELATIVE]);
    expect(deploy.stderr).toBe('');
    expect(deploy.code).toBe(0);
    const { stdout } = await run('podman', ['exec', `${RELATIVE}-web`, 'cat', '/data/hello.txt', '/svc/data/hello.txt']);
    expect(stdout).toBe('relative hello\nrelative hello\n');
    const exportFile = path.join(home, 'exported.toml');
    const exported = await mcp(['service', 'export', RELATIVE, '-o', exportFile]);
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    expect(fs.readFileSync(exportFile, 'utf8')).toContain('"./data:/data:ro"');
    const status = await mcp(['status', RELATIVE, '--json']);
    const body = JSON.parse(status.stdout) as { components: Array<{ drift: boolean; driftFields: string[] }> };
    expect(body.components).toEqual([expect.objectContaining({ drift: false, driftFields: [] })]);
  });

  it('should refuse a ./ source that leaves the service directory, naming file and field', async () => {
    const file = path.join(servicesDir, `${RELATIVE}.toml`);
    const before = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, before.replace('./data:/data:ro', './../other:/data:ro'));
    const refused = await mcp(['deploy', RELATIVE]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trim()).toBe(`mcp: ${file}: components[0].volumes[0]: host side "./../other" must stay inside the service's directory (<srv_root>/<service>/)`);
    fs.writeFileSync(file, before);
  });
});
