import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createTestPki, type TestPki } from '../servers/test-pki';
import {
  makeTestConfig,
  podmanAs,
  removeContainersAs,
  rootlessUser,
  startRootlessAgent,
  TEST_ADMIN_TOKEN,
  createTestLan,
  writeTestTokens,
  type AgentProcess,
  type LanHost,
  type RootlessUser,
  type TestLan,
} from '../support';


jest.setTimeout(300_000);

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'mcp.js');
const PREFIX = `i12f${randomBytes(3).toString('hex')}`;
const NODES = ['n1', 'n2', 'n3'];
const AGENT_PORT = 9444;
/**
 * Node timeout in mcp.toml: quick calls and connecting are bounded by it. 15 s, not less: on a
 * loaded CI machine (four Jest workers on two cores) a first `node status` — TLS, the token
 * check, `podman version` as a rootless user — took more than 5 s on all three nodes.
 */
const NODE_TIMEOUT_S = 15;

interface Node {
  name: string;
  host: LanHost;
  user: RootlessUser;
  dir: string;
  agent?: AgentProcess;
  service: string;
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * A real fleet of three (issue #12): three agents, each in its own network namespace with its
 * own address and its own rootless podman (users mcpfleet1..3, from
 * scripts/setup-fleet-test-env.sh), and the real `mcp` binary in a fourth namespace with three
 * `[[nodes]]` dialled by IP (no server_name: the certificates carry the IPs). Fan-out ps,
 * status, node status and sync; one node cut off in the middle of a sync; healed; converged.
 */
describe('a fleet of three nodes in network namespaces (real agents, rootless podman, real mcp)', () => {
  let lan: TestLan;
  let cli: LanHost;
  let pki: TestPki;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'i12-fleet-cli-'));
  const nodes: Node[] = [];
  /** The pause file n2's failpoint waits for (its deploy stands still until it exists). */
  let releaseN2: string;

  function mcp(args: string[]): Promise<Run> {
    const started = Date.now();
    return new Promise((resolve) => {
      const child = spawn('ip', ['netns', 'exec', cli.ns, process.execPath, BIN, ...args], {
        env: { PATH: process.env.PATH, HOME: home },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      // A safety net far beyond every deadline: being killed by it fails the assertions.
      const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.on('close', (code, signal) => {
        clearTimeout(killer);
        resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
      });
    });
  }

  function writeDefinition(node: Node): void {
    fs.writeFileSync(
      path.join(home, '.config', 'mcp', 'services', `${node.service}.toml`),
      [`name = "${node.service}"`, `node = "${node.name}"`, '', '[[components]]', `name = "${node.service}"`, 'image = "localhost/mcp-test/busybox:1.0"', 'cmd = ["sleep", "3600"]', ''].join('\n'),
    );
  }

  async function containerState(node: Node): Promise<string> {
    return podmanAs(node.user, ['container', 'inspect', '--format', '{{.State.Status}}', node.service]).catch(() => 'none');
  }

  beforeAll(async () => {
    lan = createTestLan([...NODES, 'cli']);
    cli = lan.hosts[3];
    pki = await createTestPki();
    fs.mkdirSync(path.join(home, '.config', 'mcp', 'services'), { recursive: true });
    const toml = [`[tls]`, `ca_cert = ${JSON.stringify(pki.caCertPath)}`];
    for (const [index, name] of NODES.entries()) {
      const host = lan.hosts[index];
      const user = rootlessUser(`mcpfleet${index + 1}`);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `i12-fleet-${name}-`));
      const cert = await pki.issue({ name, dnsNames: [], ipAddresses: [host.address] });
      fs.mkdirSync(path.join(dir, 'tls'));
      fs.copyFileSync(cert.certPath, path.join(dir, 'tls', 'server.crt'));
      fs.copyFileSync(cert.keyPath, path.join(dir, 'tls', 'server.key'));
      const node: Node = { name, host, user, dir, service: `${PREFIX}-${name}` };
      nodes.push(node);
      toml.push('', '[[nodes]]', `name = "${name}"`, `address = "${host.address}:${AGENT_PORT}"`, `timeout = "${NODE_TIMEOUT_S}s"`);
      writeDefinition(node);
    }
    fs.writeFileSync(path.join(home, '.config', 'mcp', 'mcp.toml'), `${toml.join('\n')}\n`);
    fs.writeFileSync(path.join(home, '.config', 'mcp', 'token'), `${TEST_ADMIN_TOKEN}\n`, { mode: 0o600 });
    releaseN2 = path.join(nodes[1].dir, 'release');
    await Promise.all(
      nodes.map(async (node) => {
        const config = makeTestConfig({ dir: node.dir, agent: { nodeName: node.name }, server: { grpcAddr: `${node.host.address}:${AGENT_PORT}` } });
        await writeTestTokens(config);
        // n2 stops in the middle of deploying until the test releases it (the link cut below).
        const env = node.name === 'n2' ? { MCP_AGENT_FAILPOINTS: `deploy.after-pull=pause:${releaseN2}` } : undefined;
        node.agent = await startRootlessAgent({ user: node.user, config, netns: node.host.ns, env });
      }),
    );
  });

  afterAll(async () => {
    for (const node of nodes) {
      await node.agent?.stop();
      await removeContainersAs(node.user, PREFIX).catch(() => undefined);
      fs.rmSync(node.dir, { recursive: true, force: true });
    }
    lan?.remove();
    await pki?.cleanup();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('should fan out node status, ps and status to all three nodes', async () => {
    const status = await mcp(['node', 'status', '--json']);
    expect(status.stderr).toBe('');
    expect(status.code).toBe(0);
    const body = JSON.parse(status.stdout) as { nodes: Array<{ node: string; agentNode: string }>; errors: unknown[] };
    expect(body.errors).toEqual([]);
    expect(body.nodes.map((n) => [n.node, n.agentNode]).sort()).toEqual([
      ['n1', 'n1'],
      ['n2', 'n2'],
      ['n3', 'n3'],
    ]);

    const ps = await mcp(['ps', '--json']);
    expect(ps.stderr).toBe('');
    expect(ps.code).toBe(0);
    expect((JSON.parse(ps.stdout) as { errors: unknown[] }).errors).toEqual([]);

    const overall = await mcp(['status']);
    expect(overall.stderr).toBe('');
    expect(overall.code).toBe(0);
  });

  it('should name a node cut off in the middle of a sync unreachable within 10 s, exit 3, and let the other two finish', async () => {
    const [n1, n2, n3] = nodes;
    const sync = mcp(['sync']);

    // n2 stands inside its deploy (after the pull); n1 and n3 run on.
    await waitFor(() => fs.existsSync(`${releaseN2}.reached`), 'n2 to reach its failpoint');
    const cutAt = Date.now();
    lan.setLink(n2.host, false);
    fs.writeFileSync(releaseN2, '');
    const result = await sync;
    const afterCut = Date.now() - cutAt;

    expect(result.signal).toBeNull();
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(`mcp: agent n2 (${n2.host.address}:${AGENT_PORT}) unreachable: connection lost\n`);
    // Keepalive: a ping every 5 s that must be answered within 5 s, so at most 10 s after the
    // cut (plus scheduling slack on a shared machine); without it, this waited 10 minutes.
    expect(afterCut).toBeLessThan(15_000);
    expect(result.stdout).toMatch(new RegExp(`^n1\\s+${n1.service}\\s+\\S+\\s+\\S+\\s+ok$`, 'm'));
    expect(result.stdout).toMatch(new RegExp(`^n3\\s+${n3.service}\\s+\\S+\\s+\\S+\\s+ok$`, 'm'));
    expect(result.stdout).not.toMatch(/^n2\s/m);
    expect(await containerState(n1)).toBe('running');
    expect(await containerState(n3)).toBe('running');

    // While cut off, a quick call names it unreachable within the node timeout, and the rest answer.
    const ps = await mcp(['ps']);
    expect(ps.code).toBe(3);
    expect(ps.stderr).toBe(`mcp: agent n2 (${n2.host.address}:${AGENT_PORT}) unreachable: no answer within ${NODE_TIMEOUT_S}s\n`);
    expect(ps.stdout).toMatch(new RegExp(`^${n1.service}\\s+${n1.service}\\s+service\\s+n1\\s+running`, 'm'));
    expect(ps.stdout).toMatch(new RegExp(`^${n3.service}\\s+${n3.service}\\s+service\\s+n3\\s+running`, 'm'));
    expect(ps.ms).toBeLessThan(NODE_TIMEOUT_S * 1000 + 10_000);
  });

  it('should converge once the link is back: sync exits 0 and all three run their service', async () => {
    lan.setLink(nodes[1].host, true);

    const sync = await mcp(['sync']);

    expect(sync.stderr).toBe('');
    expect(sync.code).toBe(0);
    for (const node of nodes) expect(await containerState(node)).toBe('running');
    const ps = await mcp(['ps', '--json']);
    expect(ps.code).toBe(0);
    const rows = (JSON.parse(ps.stdout) as { containers: Array<{ node: string; service: string; state: string }> }).containers.filter((c) => c.service.startsWith(PREFIX));
    expect(rows.map((r) => [r.node, r.service, r.state]).sort()).toEqual(nodes.map((n) => [n.name, n.service, 'running']));
  });
});

/** Polls `check` every 100 ms, bounded at 60 s; names what it waited for when it gives up. */
async function waitFor(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
