import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { mcpv1 } from '@mcp/proto';
import { httpGetWhenUp, HTTPD_ON_PORT, makeTestConfig, podmanAs, protoService, rootlessUser, TestAgent, type AgentTestClient, type RootlessUser } from '../support';

jest.setTimeout(180_000);

const run = promisify(execFile);
const IMAGE = 'localhost/mcp-test/busybox:1.0';
/** Every container this suite creates (as the user) starts with this prefix. */
const PREFIX = `rl${randomBytes(3).toString('hex')}`;
const SERVICE = `${PREFIX}-web`;
const ADOPTED = `${PREFIX}-hand`;

const SPEC: mcpv1.ServiceSpec = protoService({
  name: SERVICE,
  components: [{ name: SERVICE, cmd: HTTPD_ON_PORT, routes: [{ port: 443 }] }],
});

function push(client: AgentTestClient, relative: string, content: Buffer): Promise<mcpv1.PushFileResponse> {
  const sha256 = createHash('sha256').update(content).digest('hex');
  return new Promise((resolve, reject) => {
    const call = client.raw.pushFile(client.metadata(), (err, res) => (err ? reject(err) : resolve(res)));
    call.write({ header: { service: SERVICE, path: relative, mode: 0, size: content.length, sha256, mtimeMs: 0 } });
    call.write({ chunk: content });
    call.end();
  });
}

async function rootPodmanNames(): Promise<string[]> {
  return (await run('podman', ['ps', '-a', '--format', '{{.Names}}'])).stdout.split('\n').filter((name) => name.startsWith(PREFIX));
}

describe('mcp-agent as an unprivileged user on rootless podman', () => {
  let user: RootlessUser;
  let node: TestAgent;
  let config: TestAgent['config'];

  beforeAll(async () => {
    user = rootlessUser();
    node = await TestAgent.create({ user, config: makeTestConfig({ mcproxy: { socket: undefined } }) });
    config = node.config;
    await node.start();
  });

  afterAll(() => node?.dispose({ containerPrefix: PREFIX }));

  it('should run the agent process as the user, not root', () => {
    const owner = fs.statSync(`/proc/${node.pid}`).uid;

    expect(owner).toBe(user.uid);
  });

  it('should deploy a routed service and serve its page through the allocated host port', async () => {
    const result = await node.rpc.call('deploy', { service: SPEC, component: '', force: false });

    expect(result.results).toEqual([{ component: SERVICE, ok: true, error: '', container: SERVICE, changed: true, logTail: '', release: 1 }]);
    const listed = await node.rpc.call('listServices', {});
    const port = listed.services.find((s) => s.name === SERVICE)!.components[0].routes[0].hostPort;
    expect(port).toBeGreaterThanOrEqual(config.agent.portRangeStart);
    expect(await httpGetWhenUp(port)).toContain('hello from mcp-test busybox 1.0');
  });

  it("should put the container in the user's podman and not in root's", async () => {
    const userNames = (await podmanAs(user, ['ps', '--format', '{{.Names}}'])).split('\n');

    expect(userNames).toContain(SERVICE);
    expect(await rootPodmanNames()).toEqual([]);
  });

  it('should write a pushed file under <srv_root>/<service>/ owned by the user', async () => {
    const content = Buffer.from(`rootless ${PREFIX}\n`);

    await push(node.rpc, 'conf/app.txt', content);

    const onDisk = path.join(config.agent.srvRoot, SERVICE, 'conf', 'app.txt');
    expect(fs.readFileSync(onDisk)).toEqual(content);
    expect(fs.statSync(onDisk).uid).toBe(user.uid);
    expect(fs.statSync(path.join(config.agent.srvRoot, SERVICE)).uid).toBe(user.uid);
  });

  it('should adopt a container the user started by hand', async () => {
    const id = await podmanAs(user, ['run', '-d', '--name', ADOPTED, IMAGE, 'sleep', '300']);

    const response = await node.rpc.call('adoptContainers', { service: ADOPTED });

    expect(response.results).toEqual([{ component: ADOPTED, ok: true, error: '', container: ADOPTED }]);
    expect(response.spec!.components[0]).toEqual(expect.objectContaining({ name: ADOPTED, image: IMAGE, cmd: ['sleep', '300'] }));
    const status = await node.rpc.call('getServiceStatus', { service: ADOPTED, eventLimit: 10 });
    expect(status.components).toEqual([expect.objectContaining({ component: ADOPTED, desiredState: 'running', observedState: 'running', drift: false })]);
    expect(await podmanAs(user, ['inspect', '--format', '{{.Id}}', ADOPTED])).toBe(id);
  });

  it("should undeploy, removing the containers from the user's podman", async () => {
    await node.rpc.call('undeployService', { service: SERVICE });
    await node.rpc.call('undeployService', { service: ADOPTED });

    const names = (await podmanAs(user, ['ps', '-a', '--format', '{{.Names}}'])).split('\n');
    expect(names.filter((name) => name.startsWith(PREFIX))).toEqual([]);
    const listed = await node.rpc.call('listServices', {});
    const ours = listed.services.filter((s) => s.name.startsWith(PREFIX));
    expect(ours.map((s) => [s.name, s.active]).sort()).toEqual([[ADOPTED, false], [SERVICE, false]]);
  });
});
