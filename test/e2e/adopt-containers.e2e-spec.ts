import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { mcpv1 } from '@mcp/proto';
import type { AgentConfig } from '../../apps/agent/src/config/agent-config';
import { agentClient, freePortSync, makeTestConfig, makeTlsFixture, startAgentProcess, TEST_ADMIN_TOKEN, writeTestTokens, type AgentProcess, type AgentTestClient } from '../support';

jest.setTimeout(180_000);

const run = promisify(execFile);
const IMAGE = 'localhost/mcp-test/busybox:1.0';
/** Every container this suite creates starts with this prefix (also the adopted service's name). */
const SERVICE = `adopt${randomBytes(3).toString('hex')}`;
const WORKER = `${SERVICE}-worker`;

async function podman(...args: string[]): Promise<string> {
  return (await run('podman', args)).stdout.trim();
}

async function removeOurContainers(): Promise<void> {
  const names = (await podman('ps', '-a', '--format', '{{.Names}}')).split('\n').filter((name) => name.startsWith(SERVICE));
  if (names.length) await run('podman', ['rm', '-f', '-t', '0', ...names]);
}

function readLogs(client: AgentTestClient, request: Partial<mcpv1.LogsRequest>): Promise<string> {
  return new Promise((resolve, reject) => {
    const stream = client.raw.logs({ service: SERVICE, component: '', follow: false, tail: 0, since: '', timestamps: false, ...request }, client.metadata());
    let text = '';
    stream.on('data', (message: mcpv1.LogsResponse) => (text += message.data.toString('utf8')));
    stream.on('error', reject);
    stream.on('end', () => resolve(text));
  });
}

describe('AdoptContainers and Logs (real agent, real podman)', () => {
  let config: AgentConfig;
  let agent: AgentProcess;
  let client: AgentTestClient;
  let hostPort: number;
  let webId: string;

  beforeAll(async () => {
    hostPort = freePortSync();
    webId = await podman(
      'run', '-d', '--name', SERVICE, '-e', 'APP_MODE=e2e', '-p', `127.0.0.1:${hostPort}:8080`, '--restart', 'unless-stopped',
      IMAGE, '/bin/sh', '-c', 'echo hello-adopt-logs; exec httpd -f -p 8080 -h /www',
    );
    await podman('run', '-d', '--name', WORKER, IMAGE, 'sleep', '300');
    await podman('stop', '-t', '0', WORKER);
    config = makeTestConfig();
    const dir = path.dirname(config.database.path);
    const tls = await makeTlsFixture(path.join(dir, 'tls'));
    await writeTestTokens(config);
    agent = await startAgentProcess({ config });
    client = agentClient({ address: agent.address, caCertPath: tls.caCertPath, token: TEST_ADMIN_TOKEN });
  });

  afterAll(async () => {
    client?.close();
    await agent?.stop();
    await removeOurContainers();
    if (config) fs.rmSync(path.dirname(config.database.path), { recursive: true, force: true });
  });

  it('should take containers started by hand under management', async () => {
    const response = await client.call('adoptContainers', { service: SERVICE });

    expect(response.results).toEqual([
      { component: SERVICE, ok: true, error: '', container: SERVICE },
      { component: 'worker', ok: true, error: '', container: WORKER },
    ]);
    const [web, worker] = response.spec!.components;
    expect(web).toEqual(expect.objectContaining({
      name: SERVICE,
      image: IMAGE,
      restart: 'unless-stopped',
      ports: [`127.0.0.1:${hostPort}:8080/tcp`],
      cmd: ['/bin/sh', '-c', 'echo hello-adopt-logs; exec httpd -f -p 8080 -h /www'],
      env: ['APP_MODE=e2e'],
    }));
    expect(worker).toEqual(expect.objectContaining({ name: 'worker', image: IMAGE, cmd: ['sleep', '300'] }));
    const listed = await client.call('listServices', {});
    const service = listed.services.find((entry) => entry.name === SERVICE);
    expect(service?.components.map((c) => [c.name, c.desiredState, c.observedState, c.version])).toEqual([
      [SERVICE, 'running', 'running', '1.0'],
      ['worker', 'stopped', 'exited', '1.0'],
    ]);
  });

  it('should leave the adopted container alone when its exported spec is deployed', async () => {
    const adopted = await client.call('adoptContainers', { service: SERVICE });

    const deployed = await client.call('deploy', { service: adopted.spec, component: SERVICE, force: false });

    expect(deployed.results).toEqual([expect.objectContaining({ component: SERVICE, ok: true })]);
    expect(await podman('inspect', '--format', '{{.Id}}', SERVICE)).toBe(webId);
  });

  it('should refuse a service without containers', async () => {
    await expect(client.call('adoptContainers', { service: `${SERVICE}x` })).rejects.toMatchObject({ code: GrpcStatus.NOT_FOUND });
  });

  it('should stream the logs of the component named like the service by default', async () => {
    expect(await readLogs(client, {})).toContain('hello-adopt-logs');
  });

  it('should end a followed log stream and its podman process when the client cancels', async () => {
    const stream = client.raw.logs({ service: SERVICE, component: SERVICE, follow: true, tail: 5, since: '', timestamps: false }, client.metadata());
    const outcome = new Promise<{ code?: number }>((resolve) => {
      stream.on('error', (err: { code?: number }) => resolve(err));
      stream.on('end', () => resolve({}));
    });
    await new Promise<void>((resolve) => stream.once('data', () => resolve()));

    stream.cancel();

    expect((await outcome).code).toBe(GrpcStatus.CANCELLED);
    const followers = async (): Promise<string[]> =>
      (await run('ps', ['-eo', 'args'])).stdout.split('\n').filter((line) => line.includes('logs') && line.includes('--follow') && line.includes(SERVICE));
    const deadline = Date.now() + 10_000;
    while ((await followers()).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await followers()).toEqual([]);
    // The agent still answers.
    expect((await client.call('listServices', {})).services.length).toBeGreaterThan(0);
  });
});
