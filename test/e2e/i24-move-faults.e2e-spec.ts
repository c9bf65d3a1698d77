import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { writeTokensFile } from '@mcp/auth';
import type { AgentConfig } from '../../apps/agent/src/config/agent-config';
import { startFakeMcproxy, type FakeMcproxy } from '../servers/fake-mcproxy';
import { httpGetWhenUp, makeTestConfig, makeTlsFixture, startAgentProcess, TEST_ADMIN_TOKEN, type AgentProcess } from '../support';

jest.setTimeout(300_000);

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'mcp.js');
const CONTAINERS_CONF = process.env.CONTAINERS_CONF ?? path.join(ROOT, 'test', 'podman', 'containers.conf');
/** Every service (and so container) of this suite starts with this prefix. */
const P = `i24f${randomBytes(3).toString('hex')}`;
const HOUR_AGO = Date.now() - 3_600_000;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface MoveJson {
  result: string;
  resumed?: boolean;
  live?: { files: number; bytes: number; changed: number };
  final?: { files: number; bytes: number; hashed: number };
}

/**
 * One node: a real agent process on loopback with a podman store of its own, its own srv_root,
 * port range and mc-proxy stand-in (as in i24-move.e2e-spec). Node b is armed with two pause
 * failpoints whose gate files stay present (open) unless a test removes one.
 */
interface Node {
  name: string;
  srvRoot: string;
  env: Record<string, string>;
  config: AgentConfig;
  agent: AgentProcess;
  proxy: FakeMcproxy;
}

function sha(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** path → type, mode, content hash or link text, mtime (ms), for the comparison of two trees. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (at: string, prefix: string): void => {
    for (const name of fs.readdirSync(at).sort()) {
      const abs = path.join(at, name);
      const rel = prefix ? `${prefix}/${name}` : name;
      const stat = fs.lstatSync(abs);
      const mode = (stat.mode & 0o7777).toString(8);
      if (stat.isSymbolicLink()) out[rel] = `link ${fs.readlinkSync(abs)}`;
      else if (stat.isDirectory()) {
        out[rel] = `dir ${mode}`;
        walk(abs, rel);
      } else out[rel] = `file ${mode} ${sha(abs)} ${Math.floor(stat.mtimeMs)}`;
    }
  };
  walk(dir, '');
  return out;
}

function setMtime(file: string, ms: number): void {
  fs.utimesSync(file, (ms + 0.5) / 1000, (ms + 0.5) / 1000);
}

async function until(check: () => boolean, what: string, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function definition(name: string, node: string): string {
  return `# ${name}: moved by the i24 move-faults e2e
name = "${name}"
node = "${node}"   # where it runs; mcp move rewrites this
active = true

[[components]]
name = "web"
image = "localhost/mcp-test/busybox:1.0"
volumes = ["./:/data"]
cmd = ["/bin/sh", "-c", "exec httpd -f -p $PORT -h /data/www"]

[[components.routes]]
port = 443
mode = "l4"
`;
}

describe('mcp move under failures (i24: real agents killed, the real mcp killed, re-runs finish)', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `${P}-`));
  const home = path.join(work, 'home');
  const configDir = path.join(home, '.config', 'mcp');
  const servicesDir = path.join(configDir, 'services');
  /** b's failpoints: the first push to stop after its rename, the deploy after its routes are registered. */
  const pushGate = path.join(work, 'push-gate');
  const deployGate = path.join(work, 'deploy-gate');
  const failpoints = `push-file.after-rename=pause:${pushGate},deploy.after-route-registration=pause:${deployGate}`;
  /** a's failpoint: a StopService done, its answer not sent. */
  const stopGate = path.join(work, 'stop-gate');
  const nodes: Record<string, Node> = {};
  let tls: { caCertPath: string; certPath: string; keyPath: string };

  function spawnMcp(args: string[]): { child: ChildProcess; done: Promise<Result> } {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, HOME: home, CONTAINERS_CONF, TMPDIR: path.join(work, 'tmp') }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const done = new Promise<Result>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
    return { child, done };
  }
  const mcp = (args: string[]) => spawnMcp(args).done;

  const podman = (node: Node, args: string[]) => run('podman', args, { env: { ...process.env, ...node.env }, maxBuffer: 16 * 1024 * 1024 });
  async function containers(node: Node): Promise<string[]> {
    const { stdout } = await podman(node, ['ps', '-a', '--format', '{{.Names}}']);
    return stdout.split('\n').filter((n) => n.startsWith(P)).sort();
  }
  const startedAt = async (node: Node, container: string) => (await podman(node, ['inspect', '--format', '{{.State.Status}} {{.State.StartedAt}}', container])).stdout.trim();
  const srv = (node: Node, service: string) => path.join(node.srvRoot, service);
  const routesOf = (node: Node, service: string) => node.proxy.routes().filter((r) => r.hostname.startsWith(service));
  async function backendGet(node: Node, service: string): Promise<string> {
    const routes = routesOf(node, service);
    expect(routes).toHaveLength(1);
    return httpGetWhenUp(Number(routes[0].backend.split(':').pop()), '/index.html');
  }

  function writeFleet(): void {
    fs.writeFileSync(
      path.join(configDir, 'mcp.toml'),
      [`[tls]\nca_cert = ${JSON.stringify(tls.caCertPath)}\n`, ...Object.values(nodes).map((n) => `[[nodes]]\nname = "${n.name}"\naddress = ${JSON.stringify(n.agent.address)}\nserver_name = "localhost"\n`)].join('\n'),
    );
  }

  async function startNode(name: string, portBase: number, env: Record<string, string> = {}): Promise<Node> {
    const dir = path.join(work, name);
    fs.mkdirSync(dir, { recursive: true });
    const storageConf = path.join(dir, 'storage.conf');
    fs.writeFileSync(storageConf, `[storage]\ndriver = "overlay"\ngraphroot = "${dir}/store/graph"\nrunroot = "${dir}/store/run"\n`);
    const podmanEnv = { CONTAINERS_CONF, CONTAINERS_STORAGE_CONF: storageConf };
    const socket = path.join(dir, 'mc-proxy.sock');
    const proxy = await startFakeMcproxy({ socketPath: socket });
    const base = makeTestConfig({ dir: path.join(dir, 'agent') });
    const config = makeTestConfig({
      dir: path.join(dir, 'agent'),
      server: { tlsCert: tls.certPath, tlsKey: tls.keyPath },
      mcproxy: { socket, certDir: path.join(dir, 'agent', 'certs') },
      agent: { ...base.agent, nodeName: name, portRangeStart: portBase, portRangeEnd: portBase + 999 },
    });
    await writeTokensFile(config.auth.tokensFile!, [{ token: TEST_ADMIN_TOKEN, username: 'test-admin', roles: ['admin'] }]);
    const agent = await startAgentProcess({ config, env: { ...podmanEnv, ...env } });
    return { name, srvRoot: config.agent.srvRoot, env: podmanEnv, config, agent, proxy };
  }

  /** Restarts b's agent (same config, registry and store, the same failpoints); the fleet file gets its new address. */
  async function restartB(): Promise<void> {
    const b = nodes.b;
    b.agent = await startAgentProcess({ config: b.config, env: { ...b.env, MCP_AGENT_FAILPOINTS: failpoints } });
    writeFleet();
  }

  /** Deploys `name` on a with settled files (written an hour ago): a-first.bin (1 MiB), b-touched.txt, c-edited.txt, www/index.html. */
  async function deployOnA(name: string): Promise<string> {
    const file = path.join(servicesDir, `${name}.toml`);
    fs.writeFileSync(file, definition(name, 'a'));
    const dir = srv(nodes.a, name);
    fs.mkdirSync(path.join(dir, 'www'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'a-first.bin'), randomBytes(1024 * 1024));
    fs.writeFileSync(path.join(dir, 'b-touched.txt'), 'touched only\n');
    fs.writeFileSync(path.join(dir, 'c-edited.txt'), 'edited: one\n');
    fs.writeFileSync(path.join(dir, 'www', 'index.html'), `hello from ${name}\n`);
    for (const f of ['a-first.bin', 'b-touched.txt', 'c-edited.txt', 'www/index.html']) setMtime(path.join(dir, f), HOUR_AGO);
    const deployed = await mcp(['deploy', name, '--push']);
    expect(deployed.stderr).toBe('');
    expect(deployed.code).toBe(0);
    return file;
  }

  /** Closes a gate: the next time b reaches that failpoint it writes `<gate>.reached` and waits. */
  function close(gate: string): void {
    fs.rmSync(gate, { force: true });
    fs.rmSync(`${gate}.reached`, { force: true });
  }
  const open = (gate: string) => fs.writeFileSync(gate, '');

  beforeAll(async () => {
    fs.mkdirSync(path.join(work, 'tmp'), { recursive: true });
    fs.mkdirSync(servicesDir, { recursive: true });
    open(pushGate);
    open(deployGate);
    open(stopGate);
    tls = await makeTlsFixture(path.join(work, 'tls'));
    const [a, b] = await Promise.all([startNode('a', 34000, { MCP_AGENT_FAILPOINTS: `stop.after-stopped=pause:${stopGate}` }), startNode('b', 35000, { MCP_AGENT_FAILPOINTS: failpoints })]);
    nodes.a = a;
    nodes.b = b;
    writeFleet();
    fs.writeFileSync(path.join(configDir, 'token'), `${TEST_ADMIN_TOKEN}\n`, { mode: 0o600 });
  });

  afterAll(async () => {
    open(pushGate);
    open(deployGate);
    open(stopGate);
    for (const node of Object.values(nodes)) {
      await node.agent.stop().catch(() => undefined);
      await node.proxy.close().catch(() => undefined);
      await podman(node, ['rm', '-a', '-f', '-t', '0']).catch(() => undefined);
      await podman(node, ['rmi', '-a', '-f']).catch(() => undefined);
    }
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('should hash in the final pass only the files whose mtime changed since the live copy, and send only the one whose content differs', async () => {
    const name = `${P}-quick`;
    await deployOnA(name);
    const dir = srv(nodes.a, name);
    close(pushGate);

    const move = spawnMcp(['move', name, '--to', 'b', '--json']);
    // The live pass stands after a-first.bin's push: change three files on the source (same sizes).
    await until(() => fs.existsSync(`${pushGate}.reached`), 'the first push of the live pass at its failpoint');
    const recent = Date.now() - 10_000;
    fs.writeFileSync(path.join(dir, 'a-first.bin'), randomBytes(1024 * 1024)); // already copied: must be sent again
    setMtime(path.join(dir, 'a-first.bin'), recent);
    setMtime(path.join(dir, 'b-touched.txt'), recent); // touched: same content
    fs.writeFileSync(path.join(dir, 'c-edited.txt'), 'edited: two\n'); // copied after the edit, with the listing's mtime
    setMtime(path.join(dir, 'c-edited.txt'), recent);
    open(pushGate);
    const moved = await move.done;

    expect(moved.stderr).toBe('');
    expect(moved.code).toBe(0);
    const report = JSON.parse(moved.stdout) as MoveJson;
    expect(report.live).toMatchObject({ files: 4, changed: 0 });
    // index.html (size and mtime equal on both nodes) is not read again; the three with a new mtime are hashed.
    expect(report.final).toMatchObject({ files: 1, bytes: 1024 * 1024, hashed: 3 });
    expect(tree(srv(nodes.b, name))).toEqual(tree(dir));
    expect(await backendGet(nodes.b, name)).toBe(`hello from ${name}\n`);
  });

  it('should leave the source untouched when the target agent is killed mid-copy, and a re-run after its restart sends only what is missing', async () => {
    const name = `${P}-kill`;
    const file = await deployOnA(name);
    const dir = srv(nodes.a, name);
    const sourceTree = tree(dir);
    const before = await startedAt(nodes.a, `${name}-web`);
    close(pushGate);

    const move = spawnMcp(['move', name, '--to', 'b']);
    await until(() => fs.existsSync(`${pushGate}.reached`), 'the first push of the live pass at its failpoint');
    // a-first.bin is in place on b, its answer not sent: kill the agent process there.
    await nodes.b.agent.kill9();
    open(pushGate);
    const failed = await move.done;

    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`moving ${name} to b failed`);
    expect(failed.stderr).toContain('it kept running on a');
    expect(failed.stderr).toContain('could not remove the copied data on b');
    // The source was never stopped, its data unchanged, the definition too.
    expect(await startedAt(nodes.a, `${name}-web`)).toBe(before);
    expect(tree(dir)).toEqual(sourceTree);
    expect(await backendGet(nodes.a, name)).toBe(`hello from ${name}\n`);
    expect(fs.readFileSync(file, 'utf8')).toContain('node = "a"');
    expect(fs.readFileSync(path.join(srv(nodes.b, name), 'a-first.bin'))).toEqual(fs.readFileSync(path.join(dir, 'a-first.bin')));

    await restartB();
    const again = await mcp(['move', name, '--to', 'b', '--json']);

    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    const report = JSON.parse(again.stdout) as MoveJson;
    // a-first.bin reached b before the kill: only the three others are sent, and the final pass has nothing to hash.
    expect(report.live).toMatchObject({ files: 3, changed: 0 });
    expect(report.final).toMatchObject({ files: 0, hashed: 0 });
    expect(tree(srv(nodes.b, name))).toEqual(sourceTree);
    expect(tree(dir)).toEqual(sourceTree);
    expect(await backendGet(nodes.b, name)).toBe(`hello from ${name}\n`);
    expect(await containers(nodes.a)).not.toContain(`${name}-web`);
    expect(fs.readFileSync(file, 'utf8')).toContain('node = "b"');
  });
  it('should leave the source serving when mcp itself is killed mid-copy, and a re-run finishes, sending only what is missing', async () => {
    const name = `${P}-cli-copy`;
    const file = await deployOnA(name);
    const dir = srv(nodes.a, name);
    const sourceTree = tree(dir);
    const before = await startedAt(nodes.a, `${name}-web`);
    close(pushGate);

    const move = spawnMcp(['move', name, '--to', 'b']);
    await until(() => fs.existsSync(`${pushGate}.reached`), 'the first push of the live pass at its failpoint');
    move.child.kill('SIGKILL');
    const killed = await move.done;
    open(pushGate);

    expect(killed.code).toBeNull();
    expect(await startedAt(nodes.a, `${name}-web`)).toBe(before);
    expect(await backendGet(nodes.a, name)).toBe(`hello from ${name}\n`);
    expect(fs.readFileSync(file, 'utf8')).toContain('node = "a"');

    const again = await mcp(['move', name, '--to', 'b', '--json']);

    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    const report = JSON.parse(again.stdout) as MoveJson;
    expect(report.live).toMatchObject({ files: 3, changed: 0 });
    expect(report.final).toMatchObject({ files: 0, hashed: 0 });
    expect(tree(srv(nodes.b, name))).toEqual(sourceTree);
    expect(await backendGet(nodes.b, name)).toBe(`hello from ${name}\n`);
    expect(await containers(nodes.a)).not.toContain(`${name}-web`);
    expect(fs.readFileSync(file, 'utf8')).toContain('node = "b"');
  });

  it('should finish a move whose mcp was killed right after it stopped the source, copying nothing again', async () => {
    const name = `${P}-cli-stop`;
    const file = await deployOnA(name);
    const sourceTree = tree(srv(nodes.a, name));
    close(stopGate);

    const move = spawnMcp(['move', name, '--to', 'b']);
    // The live copy is done and a's StopService has stopped the container: kill mcp before the final pass.
    await until(() => fs.existsSync(`${stopGate}.reached`), "a's stop at its failpoint");
    move.child.kill('SIGKILL');
    expect((await move.done).code).toBeNull();
    open(stopGate);
    const { stdout: state } = await podman(nodes.a, ['inspect', '--format', '{{.State.Status}}', `${name}-web`]);
    expect(state.trim()).toBe('exited');
    expect(fs.readFileSync(file, 'utf8')).toContain('node = "a"');

    const again = await mcp(['move', name, '--to', 'b', '--json']);

    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    const report = JSON.parse(again.stdout) as MoveJson;
    // b already holds the live copy, with the source's mtimes: neither pass sends or hashes anything in the window.
    expect(report.live).toMatchObject({ files: 0, changed: 0 });
    expect(report.final).toMatchObject({ files: 0, hashed: 0 });
    expect(tree(srv(nodes.b, name))).toEqual(sourceTree);
    expect(await backendGet(nodes.b, name)).toBe(`hello from ${name}\n`);
    expect(await containers(nodes.a)).not.toContain(`${name}-web`);
    expect(fs.readFileSync(file, 'utf8')).toContain('node = "b"');
  });

  it('should finish without a second copy a move whose mcp was killed while the target deployed', async () => {
    const name = `${P}-cli-deploy`;
    const file = await deployOnA(name);
    const sourceTree = tree(srv(nodes.a, name));
    close(deployGate);

    const move = spawnMcp(['move', name, '--to', 'b']);
    // b is healthy and its routes registered; the deploy's answer is not sent yet: kill mcp.
    await until(() => fs.existsSync(`${deployGate}.reached`), "b's deploy at its failpoint");
    move.child.kill('SIGKILL');
    const killed = await move.done;
    expect(killed.code).toBeNull();
    open(deployGate);
    // b's deploy goes on without its caller and ends (its audit line).
    await until(() => new RegExp(`"method":"Deploy"[^\\n]*"service":"${name}"`).test(nodes.b.agent.logs()), "b's Deploy audit line");
    const { stdout: idBefore } = await podman(nodes.b, ['inspect', '--format', '{{.Id}}', `${name}-web`]);
    expect(fs.readFileSync(file, 'utf8')).toContain('node = "a"');

    const finished = await mcp(['move', name, '--to', 'b']);

    expect(finished.stderr).toBe('');
    expect(finished.code).toBe(0);
    expect(finished.stdout).toContain('finished it, nothing copied again');
    expect(finished.stdout).not.toContain('live copy');
    const { stdout: idAfter } = await podman(nodes.b, ['inspect', '--format', '{{.Id}}', `${name}-web`]);
    expect(idAfter).toBe(idBefore);
    expect(tree(srv(nodes.b, name))).toEqual(sourceTree);
    expect(await backendGet(nodes.b, name)).toBe(`hello from ${name}\n`);
    expect(await containers(nodes.a)).not.toContain(`${name}-web`);
    expect(routesOf(nodes.a, name)).toEqual([]);
    expect(fs.readFileSync(file, 'utf8')).toContain('node = "b"   # where it runs');
  });
  it('should say in mcp status and mcp list, right after mcp stop returns, that the container is no longer running', async () => {
    const name = `${P}-stop`;
    await deployOnA(name);

    const stopped = await mcp(['stop', name]);
    const status = await mcp(['status', name, '--json']);
    const list = await mcp(['list', '--json']);

    expect(stopped.code).toBe(0);
    const { stdout: podmanState } = await podman(nodes.a, ['inspect', '--format', '{{.State.Status}}', `${name}-web`]);
    expect(podmanState.trim()).toBe('exited');
    const component = (JSON.parse(status.stdout) as { components: Array<{ desired: string; observed: string }> }).components[0];
    expect(component).toMatchObject({ desired: 'stopped', observed: 'exited' });
    const listed = (JSON.parse(list.stdout) as { services: Array<{ service: string; observed: string }> }).services.find((s) => s.service === name);
    expect(listed?.observed).toBe('exited');
  });
});
