import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { mcpv1 } from '@mcp/proto';
import { startFakeMcproxy, type FakeMcproxy } from '../servers/fake-mcproxy';
import { HTTPD_ON_PORT, httpGetWhenUp, makeTestConfig, protoService, removeContainers, TestAgent, type AgentTestClient } from '../support';

jest.setTimeout(180_000);

const run = promisify(execFile);
const PREFIX = `i12-fault-${randomBytes(3).toString('hex')}`;

async function containerState(name: string): Promise<string | null> {
  try {
    return (await run('podman', ['container', 'inspect', '--format', '{{.State.Status}}', name])).stdout.trim();
  } catch {
    return null;
  }
}

function routed(service: string): mcpv1.ServiceSpec {
  return protoService({ name: service, components: [{ name: service, cmd: HTTPD_ON_PORT, routes: [{ port: 443 }] }] });
}

/** Pushes `content` as one stream; resolves to the response or rejects with the gRPC error. */
function push(client: AgentTestClient, service: string, relative: string, content: Buffer): Promise<mcpv1.PushFileResponse> {
  const header: mcpv1.PushFileHeader = { service, path: relative, mode: 0, size: content.length, sha256: createHash('sha256').update(content).digest('hex'), mtimeMs: 0 };
  return new Promise((resolve, reject) => {
    const call = client.raw.pushFile(client.metadata(), (err, res) => (err ? reject(err) : resolve(res)));
    call.write({ header });
    for (let offset = 0; offset < content.length; offset += 64 * 1024) call.write({ chunk: content.subarray(offset, offset + 64 * 1024) });
    call.end();
  });
}

/** Lists every file under `dir`, dot files included, relative. */
function filesUnder(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort();
}

/**
 * Faults of the node itself (issue #12): a full disk under srv_root, podman's service killed
 * in the middle of a deploy, MCIAS that accepts connections and never answers, mc-proxy gone.
 * Each against the real agent process and real podman.
 */
describe('node faults (real agent, real podman)', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  let node: TestAgent | undefined;

  /** The test's agent on `config` (its dir is the test's tempDir(), removed by the clean-ups). */
  async function startNode(config: ReturnType<typeof makeTestConfig>, input: { tokens?: boolean; env?: Record<string, string>; token?: string } = {}): Promise<AgentTestClient> {
    node = await TestAgent.create({ config, tokens: input.tokens });
    return node.start({ env: input.env, token: input.token });
  }

  afterEach(async () => {
    await node?.stop();
    node = undefined;
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  afterAll(() => removeContainers(PREFIX));

  function tempDir(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'i12-fault-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  describe('disk full during a push (a 1 MiB tmpfs as srv_root)', () => {
    it('should fail with RESOURCE_EXHAUSTED and one clear message, leave no partial or temp file, and keep serving', async () => {
      const dir = tempDir();
      const srv = path.join(dir, 'srv');
      fs.mkdirSync(srv);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'i12-srv', srv]);
      cleanups.push(() => {
        execFileSync('umount', [srv]);
      });
      const client = await startNode(makeTestConfig({ dir, agent: { srvRoot: srv } }));
      await push(client, 'files', 'keep.txt', Buffer.from('kept\n'));

      const error = await push(client, 'files', 'big/blob.bin', randomBytes(3 * 1024 * 1024)).catch((err: unknown) => err);

      expect(error).toMatchObject({
        code: 8, // RESOURCE_EXHAUSTED
        details: `no space left on the node for "big/blob.bin" of service "files" (under ${srv}): nothing was written`,
      });
      expect(filesUnder(srv)).toEqual(['files', 'files/big', 'files/keep.txt']);
      expect(fs.readFileSync(path.join(srv, 'files', 'keep.txt'), 'utf8')).toBe('kept\n');
      // The agent is fine: it answers, and a push that fits still works.
      await expect(client.call('nodeStatus', {})).resolves.toMatchObject({ node: 'test-node' });
      await expect(push(client, 'files', 'small.txt', Buffer.from('small\n'))).resolves.toMatchObject({ path: 'small.txt', size: 6 });
    });
  });

  describe("podman's service killed in the middle of a deploy", () => {
    it('should fail that deploy with UNAVAILABLE and a clear podman message, restart the service, and deploy again', async () => {
      const dir = tempDir();
      const go = path.join(dir, 'go');
      const config = makeTestConfig({ dir });
      const client = await startNode(config, { env: { MCP_AGENT_FAILPOINTS: `deploy.after-old-removed=pause:${go}` } });
      const service = `${PREFIX}-podman`;
      const socketPattern = `system service --time=0 unix://${config.runtime.socket.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
      const servicePids = async () => (await run('pgrep', ['-f', '--', socketPattern]).catch(() => ({ stdout: '' }))).stdout.trim().split('\n').filter(Boolean);
      const [podmanPid] = await servicePids();
      expect(podmanPid).toMatch(/^\d+$/);

      // The deploy stands at the failpoint; the agent's podman service dies there.
      const deploy = client.call('deploy', { service: routed(service), component: '', force: false });
      await waitFor(() => fs.existsSync(`${go}.reached`), 'the deploy to reach its failpoint');
      process.kill(Number(podmanPid), 'SIGKILL');
      // Carry on as soon as the agent saw it die: its restart waits 500 ms first.
      await waitFor(() => node!.process!.logs().includes(`podman system service on ${config.runtime.socket} died`), 'the agent to notice');
      fs.writeFileSync(go, '');
      const error = await deploy.then(
        (result) => result,
        (err: unknown) => err,
      );

      // Not one failed component among others: the node's runtime is gone, so the RPC fails
      // UNAVAILABLE with one line that names podman's socket and says what happens next.
      expect(error).toMatchObject({
        code: 14, // UNAVAILABLE
        details: `deploy of ${service}/${service} failed: container runtime unavailable: podman API socket ${config.runtime.socket}: connection refused (podman system service is not running) (release 1 recorded as failed); the agent restarts its podman service: deploy again in a moment`,
      });
      // The supervisor brings the service back; the next deploy works.
      // A new pid is not enough (CI once deployed between podman's spawn and its socket): wait
      // for the supervisor's word that the new service answers /_ping.
      await waitFor(() => node!.process!.logs().includes(`podman system service on ${config.runtime.socket} is back`), 'the podman service to answer again');
      expect((await servicePids()).filter((pid) => pid !== podmanPid)).toHaveLength(1);
      const again = await client.call('deploy', { service: routed(service), component: '', force: false });
      expect(again.results.map((r) => [r.ok, r.error])).toEqual([[true, '']]);
      expect(await containerState(service)).toBe('running');
      await client.call('undeployService', { service });
    });
  });

  describe('MCIAS that accepts connections and never answers', () => {
    it('should fail RPCs with UNAVAILABLE within the validation timeout, never hang, never allow', async () => {
      const dir = tempDir();
      const held: net.Socket[] = [];
      const hung = net.createServer((socket) => held.push(socket));
      await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
      cleanups.push(async () => {
        held.forEach((socket) => socket.destroy());
        await new Promise((resolve) => hung.close(resolve));
      });
      const port = (hung.address() as net.AddressInfo).port;
      const config = makeTestConfig({
        dir,
        auth: { mode: 'mcias', tokensFile: undefined, allowedRoles: ['admin'] },
        mcias: { serverUrl: `https://localhost:${port}`, timeoutMs: 2000 },
      });
      const client = await startNode(config, { tokens: false, token: 'any-token-at-all' });

      const started = Date.now();
      const outcomes = await Promise.all([client.call('listServices', {}), client.call('nodeStatus', {}), client.call('liveCheck', {})].map((p) => p.then(() => 'allowed', (err: { code: number; details: string }) => err)));

      for (const outcome of outcomes) {
        expect(outcome).toMatchObject({ code: 14, details: expect.stringMatching(/MCIAS/i) });
      }
      // Bounded by the 2 s validation timeout, far below the client's own 30 s deadline.
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(held.length).toBeGreaterThan(0);
    });
  });

  describe('mc-proxy gone', () => {
    it('should keep what runs running, and name mc-proxy in the failures', async () => {
      const dir = tempDir();
      const socket = path.join(dir, 'mc-proxy.sock');
      let mcproxy: FakeMcproxy | undefined = await startFakeMcproxy({ socketPath: socket });
      cleanups.push(async () => {
        await mcproxy?.close();
      });
      const client = await startNode(makeTestConfig({ dir, mcproxy: { socket } }));
      const running = `${PREFIX}-routed`;
      const first = await client.call('deploy', { service: routed(running), component: '', force: false });
      expect(first.results.map((r) => r.ok)).toEqual([true]);
      const hostPort = (await client.call('listServices', {})).services.find((s) => s.name === running)!.components[0].routes[0].hostPort;

      await mcproxy.close();
      mcproxy = undefined;

      const later = `${PREFIX}-later`;
      const failed = await client.call('deploy', { service: routed(later), component: '', force: false });
      expect(failed.results).toEqual([expect.objectContaining({ ok: false, error: expect.stringContaining('mc-proxy') })]);
      expect(await containerState(later)).toBeNull();
      const stop = await client.call('stopService', { service: running }).catch((err: { details: string }) => err);
      expect(JSON.stringify(stop)).toContain('mc-proxy');
      // What ran keeps running and serving.
      expect(await containerState(running)).toBe('running');
      expect(await httpGetWhenUp(hostPort)).toContain('busybox');
      const live = await client.call('liveCheck', {});
      expect(live.containers.find((c) => c.container === running)).toMatchObject({ state: 'running' });
      await client.call('undeployService', { service: running }).catch(() => undefined);
      await removeContainers(PREFIX);
    });
  });
});

/** Polls `check` every 100 ms, bounded at 30 s; names what it waited for when it gives up. */
async function waitFor(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
