import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { mcpv1 } from '@mcp/proto';
import { startFakeMcproxy, type FakeMcproxy } from '../servers/fake-mcproxy';
import { HTTPD_ON_PORT, makeTestConfig, protoService, TestAgent } from '../support';

jest.setTimeout(180_000);

const run = promisify(execFile);
/** Every container this suite creates starts with this prefix. */
const PREFIX = `restart${randomBytes(3).toString('hex')}`;
const SERVICE = `${PREFIX}-app`;
const CONTAINERS = [SERVICE, `${SERVICE}-worker`];

/** A routed web component named like the service and an unrouted worker. */
const SPEC: mcpv1.ServiceSpec = protoService({
  name: SERVICE,
  components: [
    { name: SERVICE, cmd: HTTPD_ON_PORT, routes: [{ port: 443 }] },
    { name: 'worker', cmd: ['sleep', '3600'] },
  ],
});

/** `<id> <StartedAt>` of each container, as podman (not the agent) reports it. */
async function identities(): Promise<Record<string, string>> {
  const { stdout } = await run('podman', ['inspect', '--format', '{{.Name}} {{.Id}} {{.State.StartedAt}} {{.State.Status}}', ...CONTAINERS]);
  return Object.fromEntries(stdout.trim().split('\n').map((line) => {
    const [name, ...rest] = line.split(' ');
    return [name, rest.join(' ')];
  }));
}

/** Pids of the podman service serving `socket` (the agent supervises one per socket). */
async function podmanServicePids(socket: string): Promise<string[]> {
  const pattern = `system service --time=0 unix://${socket.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
  try {
    return (await run('pgrep', ['-f', '--', pattern])).stdout.trim().split('\n');
  } catch {
    return [];
  }
}

describe('mcp-agent restart (real process, real podman)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-agent-restart-'));
  const mcproxySocket = path.join(dir, 'mc-proxy.sock');
  const config = makeTestConfig({ dir, mcproxy: { socket: mcproxySocket } });
  let mcproxy: FakeMcproxy | undefined;
  let node: TestAgent;
  let before: Record<string, string>;
  let hostPort: number;

  async function expectUntouchedAndManaged(): Promise<void> {
    expect(await identities()).toEqual(before);
    const status = await node.rpc.call('getServiceStatus', { service: SERVICE, eventLimit: 10 });
    expect(status.components.map((c) => [c.component, c.desiredState, c.observedState, c.drift, c.container])).toEqual([
      [SERVICE, 'running', 'running', false, SERVICE],
      ['worker', 'running', 'running', false, `${SERVICE}-worker`],
    ]);
    const listed = await node.rpc.call('listServices', {});
    expect(listed.services.find((s) => s.name === SERVICE)!.components[0].routes[0].hostPort).toBe(hostPort);
    expect(mcproxy!.routes()).toEqual([expect.objectContaining({ listener: ':443', backend: `127.0.0.1:${hostPort}` })]);
    const live = await node.rpc.call('liveCheck', {});
    const ours = live.containers.filter((c) => c.container.startsWith(PREFIX));
    expect(ours.map((c) => [c.container, c.service, c.state, c.desiredState]).sort()).toEqual([
      [SERVICE, SERVICE, 'running', 'running'],
      [`${SERVICE}-worker`, SERVICE, 'running', 'running'],
    ]);
  }

  beforeAll(async () => {
    node = await TestAgent.create({ config });
    mcproxy = await startFakeMcproxy({ socketPath: mcproxySocket });
    await node.start();
    const result = await node.rpc.call('deploy', { service: SPEC, component: '', force: false });
    if (!result.results.every((r) => r.ok)) throw new Error(`deploy failed: ${JSON.stringify(result.results)}`);
    before = await identities();
    hostPort = (await node.rpc.call('listServices', {})).services.find((s) => s.name === SERVICE)!.components[0].routes[0].hostPort;
  });

  afterAll(async () => {
    await node?.stop();
    await mcproxy?.close();
    await node?.dispose({ containerPrefix: PREFIX });
  });

  it('should have both containers running before any restart', () => {
    expect(Object.values(before).map((value) => value.split(' ').pop())).toEqual(['running', 'running']);
  });

  it('should leave the containers running untouched across a graceful stop (SIGTERM) and restart', async () => {
    const code = await node.stop();

    expect(code).toBe(0);
    expect(await identities()).toEqual(before);
    await node.start();
    await expectUntouchedAndManaged();
  });

  it('should leave the containers running untouched across kill -9 and restart, reusing the podman service', async () => {
    const service = await podmanServicePids(config.runtime.socket);
    expect(service).toHaveLength(1);

    await node.kill9();

    expect(await identities()).toEqual(before);
    expect(await podmanServicePids(config.runtime.socket)).toEqual(service);
    await node.start();
    await expectUntouchedAndManaged();
    expect(await podmanServicePids(config.runtime.socket)).toEqual(service);
  });

  it('should keep an unchanged redeploy working while mc-proxy is down, and re-register the routes once it is back', async () => {
    await mcproxy!.close();
    mcproxy = undefined;

    const whileDown = await node.rpc.call('deploy', { service: SPEC, component: '', force: false });

    expect(whileDown.results.map((r) => [r.component, r.ok])).toEqual([[SERVICE, true], ['worker', true]]);
    expect(await identities()).toEqual(before);
    fs.rmSync(mcproxySocket, { force: true });
    mcproxy = await startFakeMcproxy({ socketPath: mcproxySocket });
    expect(mcproxy.routes()).toEqual([]);
    await node.rpc.call('deploy', { service: SPEC, component: '', force: false });
    await expectUntouchedAndManaged();
  });

  it('should still manage the service after both restarts (a stop reaches podman)', async () => {
    await node.rpc.call('stopService', { service: SERVICE });

    const after = await identities();
    expect(Object.values(after).map((value) => value.split(' ').pop())).toEqual(['exited', 'exited']);
  });
});
