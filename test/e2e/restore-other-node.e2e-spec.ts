import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { writeTokensFile } from '@mcp/auth';
import { startFakeMcproxy, type FakeMcproxy } from '../servers/fake-mcproxy';
import { makeTestConfig, makeTlsFixture, startAgentProcess, TEST_ADMIN_TOKEN, writeCliConfig, type AgentProcess } from '../support';

jest.setTimeout(300_000);

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'mcp.js');
const CONTAINERS_CONF = process.env.CONTAINERS_CONF ?? path.join(ROOT, 'test', 'podman', 'containers.conf');
const P = `i23o${randomBytes(3).toString('hex')}`;
const SERVICE = `${P}-db`;
const VOLUME = `${P}-vol`;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A node: a real agent on loopback with its own data dir, srv_root and podman store (as on another host). */
interface Node {
  name: string;
  dir: string;
  srvRoot: string;
  passwordFile: string;
  env: Record<string, string>;
  agent: AgentProcess;
  proxy: FakeMcproxy;
}

/** path → type, mode and sha256 (files) or link text, of every entry under `root`. */
function tree(root: string): Record<string, string> {
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
      } else out[rel] = `file ${mode} ${createHash('sha256').update(fs.readFileSync(abs)).digest('hex')}`;
    }
  };
  walk(root, '');
  return out;
}

function definition(node: string): string {
  return `name = "${SERVICE}"
node = "${node}"
active = true

[backup]
mode = "live"
# every 3 s: the deploy on the new node schedules it at once (RUNBOOK step 3)
schedule = "*/3 * * * * *"

[[components]]
name = "app"
image = "localhost/mcp-test/busybox:1.0"
cmd = ["sleep", "3600"]
volumes = ["./:/srv", "${VOLUME}:/var/lib/db"]
`;
}

interface Row {
  id: string;
  fullId: string;
  time: string;
  size: number;
  files: number;
  host: string;
}

/**
 * RUNBOOK "Restoring onto a new node", step by step with the real mcp: two agents with their
 * own data dirs, srv_roots and podman stores share one restic repository (a local path); the
 * service is backed up on a, undeployed there, deployed on b (whose schedule snapshots b's
 * fresh data at once) and restored on b from a's snapshot by id — b's data then is a's, file
 * by file, in /srv/<svc> and in the named volume.
 */
describe("restoring a service's data onto another node (RUNBOOK; two real agents, one restic repository, the real mcp)", () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `${P}-`));
  const home = path.join(work, 'home');
  const tmp = path.join(work, 'tmp');
  const servicesDir = path.join(home, '.config', 'mcp', 'services');
  const repository = path.join(work, 'restic-repo');
  const nodes: Record<string, Node> = {};
  let tls: { caCertPath: string; certPath: string; keyPath: string };

  function mcp(args: string[]): Promise<Result> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, HOME: home, CONTAINERS_CONF, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  const podman = (node: Node, args: string[]) => run('podman', args, { env: { ...process.env, ...node.env } });
  const srv = (node: Node) => path.join(node.srvRoot, SERVICE);
  const volumeDir = async (node: Node) => (await podman(node, ['volume', 'inspect', '--format', '{{.Mountpoint}}', VOLUME])).stdout.trim();
  const state = async (node: Node) => (await podman(node, ['container', 'inspect', '--format', '{{.State.Status}}', `${SERVICE}-app`])).stdout.trim();
  async function backups(): Promise<Row[]> {
    const listed = await mcp(['backups', SERVICE, '--json']);
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    return JSON.parse(listed.stdout) as Row[];
  }

  async function startNode(name: string, portBase: number): Promise<Node> {
    const dir = path.join(work, name);
    fs.mkdirSync(dir, { recursive: true });
    const storageConf = path.join(dir, 'storage.conf');
    fs.writeFileSync(storageConf, `[storage]\ndriver = "overlay"\ngraphroot = "${dir}/store/graph"\nrunroot = "${dir}/store/run"\n`);
    const env = { CONTAINERS_CONF, CONTAINERS_STORAGE_CONF: storageConf };
    const socket = path.join(dir, 'mc-proxy.sock');
    const proxy = await startFakeMcproxy({ socketPath: socket });
    const base = makeTestConfig({ dir: path.join(dir, 'agent') });
    const config = makeTestConfig({
      dir: path.join(dir, 'agent'),
      server: { tlsCert: tls.certPath, tlsKey: tls.keyPath },
      mcproxy: { socket, certDir: path.join(dir, 'agent', 'certs') },
      agent: { ...base.agent, nodeName: name, portRangeStart: portBase, portRangeEnd: portBase + 999 },
      // RUNBOOK step 1: the same repository on both nodes; each its own password file and cache.
      backup: { ...base.backup, repository },
    });
    await writeTokensFile(config.auth.tokensFile!, [{ token: TEST_ADMIN_TOKEN, username: 'test-admin', roles: ['admin'] }]);
    const agent = await startAgentProcess({ config, env });
    // Recorded as soon as it runs: afterAll stops it even when the other node failed to start.
    nodes[name] = { name, dir, srvRoot: config.agent.srvRoot, passwordFile: config.backup.passwordFile, env, agent, proxy };
    return nodes[name];
  }

  beforeAll(async () => {
    fs.mkdirSync(tmp, { recursive: true });
    fs.mkdirSync(servicesDir, { recursive: true });
    tls = await makeTlsFixture(path.join(work, 'tls'));
    const started = await Promise.all([startNode('a', 34000), startNode('b', 35000)]);
    writeCliConfig(path.join(home, '.config', 'mcp'), { caCertPath: tls.caCertPath, nodes: started.map((n) => ({ name: n.name, address: n.agent.address })) });
  });

  afterAll(async () => {
    for (const node of Object.values(nodes)) {
      await node.agent.stop().catch(() => undefined);
      await node.proxy.close().catch(() => undefined);
      await podman(node, ['rm', '-a', '-f', '-t', '0']).catch(() => undefined);
      await podman(node, ['volume', 'rm', '-a', '-f']).catch(() => undefined);
      await podman(node, ['rmi', '-a', '-f']).catch(() => undefined);
      await run('umount', [path.join(node.dir, 'store', 'graph', 'overlay')]).catch(() => undefined);
    }
    fs.rmSync(work, { recursive: true, force: true });
  });

  it("follows the RUNBOOK: backed up on a, deployed on b, restored on b from a's snapshot — b's data is a's, file by file", async () => {
    const { a, b } = nodes;
    // On node a: the service with data in /srv/<svc> and in its named volume, backed up.
    const file = path.join(servicesDir, `${SERVICE}.toml`);
    fs.writeFileSync(file, definition('a'));
    fs.mkdirSync(path.join(srv(a), 'www', 'nested'), { recursive: true });
    fs.writeFileSync(path.join(srv(a), 'www', 'index.html'), `hello from ${SERVICE}\n`);
    fs.writeFileSync(path.join(srv(a), 'www', 'nested', 'blob.bin'), randomBytes(300_000));
    fs.writeFileSync(path.join(srv(a), 'private.key'), 'key material\n', { mode: 0o600 });
    fs.chmodSync(path.join(srv(a), 'private.key'), 0o600);
    fs.chmodSync(path.join(srv(a), 'www', 'nested'), 0o750);
    fs.symlinkSync('www/index.html', path.join(srv(a), 'current'));
    expect(await mcp(['deploy', SERVICE, '--push'])).toMatchObject({ code: 0, stderr: '' });
    const volumeA = await volumeDir(a);
    fs.mkdirSync(path.join(volumeA, 'pg'), { recursive: true });
    fs.writeFileSync(path.join(volumeA, 'pg', 'data.db'), randomBytes(200_000));
    fs.writeFileSync(path.join(volumeA, 'pg', 'wal.log'), 'wal\n', { mode: 0o640 });
    fs.chmodSync(path.join(volumeA, 'pg', 'wal.log'), 0o640);
    const made = await mcp(['backup', SERVICE]);
    expect(made).toMatchObject({ code: 0, stderr: '' });
    const expected = { srv: tree(srv(a)), volume: tree(volumeA) };

    // Step 1: b gets the same repository (its config) and a copy of a's password file.
    expect(fs.existsSync(b.passwordFile)).toBe(false);
    fs.copyFileSync(a.passwordFile, b.passwordFile);
    fs.chmodSync(b.passwordFile, 0o600);

    // Step 2: undeploy on the old node, so it stops backing up into the repository.
    expect(await mcp(['undeploy', SERVICE])).toMatchObject({ code: 0, stderr: '' });
    const fromA = (await backups()).filter((row) => row.host === 'a');
    expect(fromA.length).toBeGreaterThanOrEqual(1);
    const newestOfA = fromA.at(-1)!;

    // Step 3: deploy on the new node; its schedule snapshots b's fresh, empty data at once.
    fs.writeFileSync(file, definition('b'));
    expect(await mcp(['deploy', SERVICE, '--push'])).toMatchObject({ code: 0, stderr: '' });
    expect(await state(b)).toBe('running');
    const deadline = Date.now() + 30_000;
    while (!(await backups()).some((row) => row.host === 'b')) {
      if (Date.now() > deadline) throw new Error('no scheduled snapshot of b within 30 s');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    // As the RUNBOOK warns: the newest snapshot of the service is now b's empty one.
    expect((await backups()).at(-1)!.host).toBe('b');

    // Steps 4 and 5: a's snapshot by id (from --json, which has the host), restored on b.
    const restored = await mcp(['restore', SERVICE, '--snapshot', newestOfA.id]);
    expect(restored).toMatchObject({ code: 0, stderr: '' });
    expect(restored.stdout).toContain(`restored ${SERVICE} on b from snapshot ${newestOfA.id}`);
    expect(tree(srv(b))).toEqual(expected.srv);
    expect(tree(await volumeDir(b))).toEqual(expected.volume);
    expect(await state(b)).toBe('running');
    // a's data is untouched, and nothing was restored into a's paths from b.
    expect({ srv: tree(srv(a)), volume: tree(volumeA) }).toEqual(expected);

    // Step 6: a backup on b of the restored data, which drops the .pre-restore- copies.
    const again = await mcp(['backup', SERVICE]);
    expect(again).toMatchObject({ code: 0, stderr: '' });
    const leftovers = (dir: string) => fs.readdirSync(path.dirname(dir)).filter((entry) => entry.startsWith(`${path.basename(dir)}.pre-restore-`) || entry.startsWith(`.${path.basename(dir)}.restore-`));
    expect(leftovers(srv(b))).toEqual([]);
    expect(leftovers(await volumeDir(b))).toEqual([]);
    const newestOfB = (await backups()).filter((row) => row.host === 'b').at(-1)!;
    expect(newestOfB.files).toBe(Object.values(expected.srv).filter((v) => v.startsWith('file')).length + Object.values(expected.volume).filter((v) => v.startsWith('file')).length);
  });
});
