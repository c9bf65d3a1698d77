import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import type { mcpv1 } from '@mcp/proto';
import { HTTPD_ON_PORT, makeTestConfig, podmanAs, protoService, rootlessUser, TestAgent, type RootlessUser } from '../support';

jest.setTimeout(180_000);

/** Every container this suite creates (as the user) starts with this prefix. */
const PREFIX = `rlr${randomBytes(3).toString('hex')}`;
const SERVICE = `${PREFIX}-app`;
const CONTAINERS = [SERVICE, `${SERVICE}-worker`];

const SPEC: mcpv1.ServiceSpec = protoService({
  name: SERVICE,
  components: [
    { name: SERVICE, cmd: HTTPD_ON_PORT, routes: [{ port: 443 }] },
    { name: 'worker', cmd: ['sleep', '3600'] },
  ],
});

/** Pids (and owners) of the podman service on `socket`. */
function podmanService(socket: string): Array<{ pid: string; uid: number }> {
  const pattern = `system service --time=0 unix://${socket.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
  const pids = spawnSync('pgrep', ['-f', '--', pattern], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
  return pids.map((pid) => ({ pid, uid: fs.statSync(`/proc/${pid}`).uid }));
}

describe('rootless mcp-agent restart (unprivileged user, rootless podman)', () => {
  let user: RootlessUser;
  let node: TestAgent;
  let config: TestAgent['config'];
  let before: string;

  const identities = (): Promise<string> =>
    podmanAs(user, ['inspect', '--format', '{{.Name}} {{.Id}} {{.State.StartedAt}} {{.State.Status}}', ...CONTAINERS]);

  async function expectUntouchedAndManaged(): Promise<void> {
    expect(await identities()).toBe(before);
    const status = await node.rpc.call('getServiceStatus', { service: SERVICE, eventLimit: 10 });
    expect(status.components.map((c) => [c.component, c.desiredState, c.observedState, c.drift])).toEqual([
      [SERVICE, 'running', 'running', false],
      ['worker', 'running', 'running', false],
    ]);
    const live = await node.rpc.call('liveCheck', {});
    expect(live.containers.filter((c) => c.container.startsWith(PREFIX)).map((c) => [c.container, c.state, c.desiredState]).sort()).toEqual([
      [SERVICE, 'running', 'running'],
      [`${SERVICE}-worker`, 'running', 'running'],
    ]);
  }

  beforeAll(async () => {
    user = rootlessUser();
    node = await TestAgent.create({ user, config: makeTestConfig({ mcproxy: { socket: undefined } }) });
    config = node.config;
    const result = await (await node.start()).call('deploy', { service: SPEC, component: '', force: false });
    if (!result.results.every((r) => r.ok)) throw new Error(`deploy failed: ${JSON.stringify(result.results)}`);
    before = await identities();
  });

  afterAll(() => node?.dispose({ containerPrefix: PREFIX }));

  it('should run the agent podman service as the user', () => {
    const service = podmanService(config.runtime.socket);

    expect(service.map((s) => s.uid)).toEqual([user.uid]);
    expect(before.split('\n').map((line) => line.split(' ').pop())).toEqual(['running', 'running']);
  });

  it('should leave the containers untouched across a graceful stop (SIGTERM) and restart', async () => {
    expect(await node.stop()).toBe(0);

    expect(await identities()).toBe(before);
    await node.start();
    await expectUntouchedAndManaged();
  });

  it('should leave the containers untouched across kill -9 and restart, reusing the podman service', async () => {
    const service = podmanService(config.runtime.socket);

    await node.kill9();

    expect(await identities()).toBe(before);
    expect(podmanService(config.runtime.socket)).toEqual(service);
    await node.start();
    await expectUntouchedAndManaged();
    expect(podmanService(config.runtime.socket)).toEqual(service);
  });
});
