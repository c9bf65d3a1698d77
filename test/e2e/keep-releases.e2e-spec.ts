import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { pushImage, removeRegistryImages, startRegistry, type TestRegistry } from '../servers/registry';
import { agentClient, makeTestConfig, makeTlsFixture, protoService, startAgentProcess, TEST_ADMIN_TOKEN, writeTestTokens, type AgentProcess, type AgentTestClient } from '../support';

jest.setTimeout(300_000);

const run = promisify(execFile);
const PREFIX = `i11a${randomBytes(3).toString('hex')}`;
const SERVICE = `${PREFIX}-app`;

async function imageExists(image: string): Promise<boolean> {
  return run('podman', ['image', 'exists', image]).then(
    () => true,
    () => false,
  );
}

/**
 * SPEC §8 keep_releases with the real agent, real podman and a real registry (docker-registry):
 * images the agent pulled and no kept release uses go after a successful deploy; the image
 * of the running release, and images the agent did not pull, stay.
 */
describe('keep_releases (real agent, real podman, a local registry)', () => {
  let registry: TestRegistry;
  let agent: AgentProcess | undefined;
  let client: AgentTestClient;
  let dir: string;
  const images: string[] = [];

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'htpasswd', users: { alice: 'alice-secret' } });
    for (const [source, tag] of [['localhost/mcp-test/busybox:1.0', '1'], ['localhost/mcp-test/busybox:2.0', '2']]) {
      images.push(await pushImage({ registry, source, name: `${PREFIX}/app:${tag}`, username: 'alice', password: 'alice-secret' }));
    }
    const base = makeTestConfig();
    dir = path.dirname(base.file);
    const passwordFile = path.join(dir, 'registry.password');
    fs.writeFileSync(passwordFile, 'alice-secret\n', { mode: 0o600 });
    const config = makeTestConfig({
      dir,
      agent: { ...base.agent, keepReleases: 1 },
      registry: { authFile: path.join(dir, 'registry-auth.json'), credentials: [{ server: registry.host, username: 'alice', passwordFile, tlsVerify: false }] },
    });
    const { caCertPath } = await makeTlsFixture(path.join(dir, 'tls'));
    await writeTestTokens(config);
    agent = await startAgentProcess({ config });
    client = agentClient({ address: agent.address, caCertPath, token: TEST_ADMIN_TOKEN });
  });

  afterAll(async () => {
    client?.close();
    await agent?.stop();
    const { stdout } = await run('podman', ['ps', '-a', '--format', '{{.Names}}']);
    const ours = stdout.split('\n').filter((name) => name.startsWith(PREFIX));
    if (ours.length) await run('podman', ['rm', '-f', '-t', '0', ...ours]);
    if (registry) {
      await removeRegistryImages(registry);
      await registry.close();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function deploy(image: string): Promise<void> {
    const result = await client.call('deploy', { service: protoService({ name: SERVICE, components: [{ name: 'app', image, cmd: ['/bin/sh', '-c', "trap 'exit 0' TERM; sleep 100000 & wait"] }] }), component: '', force: false });
    expect(result.results.map((r) => [r.ok, r.error])).toEqual([[true, '']]);
  }

  it('should remove the pulled image of a release that fell out of the window, keep the running one, and never touch an image it did not pull', async () => {
    const [v1, v2] = images;
    expect([await imageExists(v1), await imageExists(v2)]).toEqual([false, false]);

    await deploy(v1);
    expect(await imageExists(v1)).toBe(true);
    await deploy(v2);

    // keep_releases = 1: only release 2's image is kept; release 1's image (pulled) goes.
    expect(await imageExists(v2)).toBe(true);
    expect(await imageExists(v1)).toBe(false);
    const events = await client.call('getServiceStatus', { service: SERVICE, eventLimit: 20 });
    expect(events.events.filter((e) => e.kind === 'image_removed').map((e) => e.message)).toEqual([expect.stringContaining(`removed ${v1} (sha256:`)]);

    // A local image the agent did not pull stays, though it falls out of the window too.
    await deploy('localhost/mcp-test/busybox:1.0');
    await deploy(v2);
    expect(await imageExists('localhost/mcp-test/busybox:1.0')).toBe(true);
    expect(await imageExists(v2)).toBe(true);
  });
});
