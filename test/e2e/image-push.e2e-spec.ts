import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { ServiceError } from '@grpc/grpc-js';
import type { mcpv1 } from '@mcp/proto';
import { httpGetWhenUp, makeTestConfig, protoService, TEST_ADMIN_TOKEN, TestAgent } from '../support';

jest.setTimeout(180_000);

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'mcp.js');
const PREFIX = `i22${randomBytes(3).toString('hex')}`;
const REPO = `localhost/${PREFIX}/app`;
const CONTAINERS_CONF = process.env.CONTAINERS_CONF ?? path.join(ROOT, 'test', 'podman', 'containers.conf');

/** Polls a condition the test cannot be told about (a failpoint's marker file); fails after `ms`. */
async function until(check: () => boolean, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface PushJson {
  pushes: Array<{ node: string; reference: string; imageId: string; blobsSent: number; bytesSent: number; blobsSkipped: number; agentBytesReceived: number }>;
  errors: Array<{ node: string; error: string }>;
}

/**
 * SPEC §13 with real podman on both sides: the workstation is root's podman, the node an agent
 * whose podman has a store of its own (CONTAINERS_STORAGE_CONF), so every push is really
 * loaded there. Images are built FROM the test busybox image with one small layer each.
 */
describe('mcp image push (real podman on both sides, the real agent and mcp binary)', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}-`));
  const home = path.join(work, 'home');
  /** The CLI's TMPDIR: where its saved copies of images go (and must be gone from). */
  const tmp = path.join(work, 'tmp');
  const storageConf = path.join(work, 'node-storage.conf');
  const nodeEnv = { CONTAINERS_CONF, CONTAINERS_STORAGE_CONF: storageConf };
  let agent: TestAgent;

  /** Root podman as the workstation. */
  const workstation = (args: string[]) => run('podman', args, { env: { ...process.env, CONTAINERS_CONF }, maxBuffer: 64 * 1024 * 1024 });
  /** The node's own store. */
  const node = (args: string[]) => run('podman', args, { env: { ...process.env, ...nodeEnv }, maxBuffer: 64 * 1024 * 1024 });
  const nodeImageId = (ref: string) => node(['image', 'inspect', '--format', '{{.Id}}', ref]).then((r) => `sha256:${r.stdout.trim()}`, () => undefined);

  function mcp(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, HOME: home, CONTAINERS_CONF, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  async function pushJson(ref: string): Promise<PushJson['pushes'][number]> {
    const result = await mcp(['image', 'push', ref, '--json']);
    if (result.stderr) process.stderr.write(agent.process!.logs().split('\n').filter((l) => /error|warn/.test(l)).slice(-5).join('\n'));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout) as PushJson;
    expect(body.errors).toEqual([]);
    return body.pushes[0];
  }

  /** Builds `REPO:tag` FROM the test image with one layer holding `content` (plus `padBytes` random bytes). */
  async function build(tag: string, content: string, padBytes = 0): Promise<string> {
    const context = path.join(work, `ctx-${tag}`);
    fs.mkdirSync(context, { recursive: true });
    fs.writeFileSync(path.join(context, 'index.html'), content);
    fs.writeFileSync(path.join(context, 'pad.bin'), randomBytes(padBytes));
    fs.writeFileSync(path.join(context, 'Containerfile'), 'FROM localhost/mcp-test/busybox:1.0\nCOPY index.html pad.bin /www/\n');
    await workstation(['build', '--quiet', '-t', `${REPO}:${tag}`, context]);
    return `${REPO}:${tag}`;
  }

  /** The image as an OCI layout, the way the CLI reads it (for the raw-client tests). */
  async function saved(ref: string) {
    const dir = path.join(work, `saved-${ref.split(':').pop()}`);
    fs.rmSync(dir, { recursive: true, force: true });
    await workstation(['image', 'save', '--quiet', '--format', 'oci-dir', '--uncompressed', '-o', dir, ref]);
    const blob = (digest: string) => fs.readFileSync(path.join(dir, 'blobs', 'sha256', digest.slice(7)));
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    const manifestBytes = blob(index.manifests[0].digest);
    const manifest = JSON.parse(manifestBytes.toString()) as { config: { digest: string; size: number }; layers: Array<{ digest: string; size: number }> };
    return { manifestBytes, manifest, blob, id: manifest.config.digest };
  }

  /** PushImage straight from the test: the given blobs, `flip` corrupting one byte of one. */
  function rawPush(input: { reference: string; imageId: string; manifest: Buffer; blobs: Array<{ digest: string; data: Buffer }>; flip?: string }): Promise<mcpv1.PushImageResponse> {
    return new Promise((resolve, reject) => {
      const call = agent.rpc.raw.pushImage(agent.rpc.metadata(), (error, response) => (error ? reject(error) : resolve(response)));
      call.on('error', () => undefined);
      call.write({ header: { reference: input.reference, imageId: input.imageId, manifest: input.manifest } });
      for (const blob of input.blobs) {
        const data = Buffer.from(blob.data);
        if (blob.digest === input.flip) data[data.length >> 1] ^= 0x01;
        call.write({ blob: { digest: blob.digest, size: data.length } });
        for (let at = 0; at < data.length; at += 256 * 1024) call.write({ chunk: data.subarray(at, at + 256 * 1024) });
      }
      call.end();
    });
  }

  beforeAll(async () => {
    fs.mkdirSync(tmp);
    fs.writeFileSync(storageConf, `[storage]\ndriver = "overlay"\ngraphroot = "${work}/node-store/graph"\nrunroot = "${work}/node-store/run"\n`);
    const base = makeTestConfig({ mcproxy: { socket: undefined } });
    // keep_releases = 1: a deploy after the first prunes what it may, so pushed images are seen to stay.
    const config = makeTestConfig({ dir: path.dirname(base.file), mcproxy: { socket: undefined }, agent: { ...base.agent, keepReleases: 1 } });
    agent = await TestAgent.create({ config });
    await agent.start({ env: nodeEnv });
    const port = agent.process!.address.split(':').pop();
    const configDir = path.join(home, '.config', 'mcp');
    fs.mkdirSync(configDir, { recursive: true });
    fs.writeFileSync(
      path.join(configDir, 'mcp.toml'),
      `[tls]\nca_cert = ${JSON.stringify(agent.caCertPath)}\n\n[[nodes]]\nname = "node1"\naddress = "127.0.0.1:${port}"\nserver_name = "localhost"\n`,
    );
    fs.writeFileSync(path.join(configDir, 'token'), `${TEST_ADMIN_TOKEN}\n`, { mode: 0o600 });
  });

  afterAll(async () => {
    await agent?.dispose({ containerPrefix: PREFIX });
    // The agent's supervised podman service and containers used the node store: clean it with the same variable.
    await node(['rm', '-a', '-f', '-t', '0']).catch(() => undefined);
    await node(['rmi', '-a', '-f']).catch(() => undefined);
    const { stdout } = await workstation(['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', `reference=${REPO}`]).catch(() => ({ stdout: '' }));
    const ours = stdout.split('\n').filter((name) => name.startsWith(REPO));
    if (ours.length) await workstation(['rmi', '-f', ...ours]).catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('should push an image the node has never seen, deploy it and answer from it', async () => {
    const ref = await build('1', 'i22 version one\n', 512 * 1024);
    const image = await saved(ref);

    const push = await pushJson(ref);

    const all = image.manifest.config.size + image.manifest.layers.reduce((sum, layer) => sum + layer.size, 0);
    expect(push).toMatchObject({ node: 'node1', reference: ref, imageId: image.id, blobsSent: 3, blobsSkipped: 0, bytesSent: all, agentBytesReceived: all });
    expect(await nodeImageId(ref)).toBe(image.id);
    const deployed = await agent.rpc.call('deploy', {
      service: protoService({ name: `${PREFIX}-web`, components: [{ name: 'web', image: ref, cmd: ['/bin/sh', '-c', 'exec httpd -f -p $PORT -h /www'], routes: [{ port: 443 }] }] }),
      component: '',
      force: false,
    });
    expect(deployed.results.map((r) => [r.ok, r.error])).toEqual([[true, '']]);
    const listed = await agent.rpc.call('listServices', {});
    const hostPort = listed.services.find((s) => s.name === `${PREFIX}-web`)!.components[0].routes[0].hostPort;
    expect(await httpGetWhenUp(hostPort)).toBe('i22 version one\n');
  });

  it('should send only the changed layer of an image FROM the same base, by the agent\'s count', async () => {
    const ref = await build('2', 'i22 version two\n', 512 * 1024);
    const image = await saved(ref);
    const top = image.manifest.layers[image.manifest.layers.length - 1];

    const push = await pushJson(ref);

    const missing = image.manifest.config.size + top.size;
    expect(push).toMatchObject({ blobsSent: 2, blobsSkipped: 1, agentBytesReceived: missing });
    expect(push.agentBytesReceived).toBeLessThanOrEqual(1.05 * missing + 64 * 1024);
    expect(await nodeImageId(ref)).toBe(image.id);
  });

  it('should send nothing for an image the node has, and still give it the name', async () => {
    const ref = `${REPO}:1-again`;
    await workstation(['tag', `${REPO}:1`, ref]);

    const push = await pushJson(ref);

    expect(push).toMatchObject({ blobsSent: 0, agentBytesReceived: 0 });
    expect(await nodeImageId(ref)).toBe(await nodeImageId(`${REPO}:1`));
  });

  it('should refuse a blob corrupted in transit in one line, keep the good ones, and take it re-sent', async () => {
    const ref = await build('3', 'i22 version three\n', 256 * 1024);
    const image = await saved(ref);
    const top = image.manifest.layers[image.manifest.layers.length - 1];
    const blobs = [image.manifest.config, top].map((b) => ({ digest: b.digest, data: image.blob(b.digest) }));

    const error = (await rawPush({ reference: ref, imageId: image.id, manifest: image.manifestBytes, blobs, flip: top.digest }).catch((e: ServiceError) => e)) as ServiceError;

    expect(error.details).toMatch(new RegExp(`^blob ${top.digest} arrived with sha256 sha256:[0-9a-f]{64}: refused, nothing of it was kept; push again$`));
    expect(await nodeImageId(ref)).toBeUndefined();
    const push = await pushJson(ref);
    expect(push).toMatchObject({ blobsSent: 1, blobsSkipped: 2, agentBytesReceived: top.size });
    expect(await nodeImageId(ref)).toBe(image.id);
  });

  it('should refuse a push whose image ID is not its config\'s, and tag nothing', async () => {
    const ref = await build('4', 'i22 version four\n');
    const image = await saved(ref);
    const other = (await saved(`${REPO}:2`)).id;
    const blobs = [image.manifest.config, ...image.manifest.layers.slice(1)].map((b) => ({ digest: b.digest, data: image.blob(b.digest) }));

    const error = (await rawPush({ reference: `${REPO}:forged`, imageId: other, manifest: image.manifestBytes, blobs }).catch((e: ServiceError) => e)) as ServiceError;

    expect(error.details).toBe(`image ID ${other} is not the manifest's config digest ${image.id}`);
    expect(await nodeImageId(`${REPO}:forged`)).toBeUndefined();
  });

  it.each([
    ['a layer path with ..', (m: { layers: Array<{ digest: string; size: number }> }) => (m.layers[0].digest = 'sha256:../../../../etc/shadow'), 'manifest: layers[0].digest "sha256:../../../../etc/shadow" is a path, not a digest'],
    ['a digest that is not sha256', (m: { layers: Array<{ digest: string; size: number }> }) => (m.layers[0].digest = `sha512:${'ab'.repeat(64)}`), /^manifest: layers\[0\]\.digest "sha512:a+b.*" is not sha256:<64 lowercase hex digits>$/],
    ['a 10 GB declared size', (m: { layers: Array<{ digest: string; size: number }> }) => (m.layers[0].size = 10 * 1000 ** 3), /^manifest: layers\[0\] declares 10000000000 bytes, more than this node's limit of \d+ \(\[images\] max_blob_size\)$/],
  ])('should refuse a hostile manifest (%s) in one line', async (_name, spoil, message) => {
    const image = await saved(`${REPO}:2`);
    const manifest = JSON.parse(image.manifestBytes.toString()) as { layers: Array<{ digest: string; size: number }> };
    spoil(manifest);

    const error = (await rawPush({ reference: `${REPO}:hostile`, imageId: image.id, manifest: Buffer.from(JSON.stringify(manifest)), blobs: [] }).catch((e: ServiceError) => e)) as ServiceError;

    expect(error.details).toEqual(typeof message === 'string' ? message : expect.stringMatching(message));
    expect(error.details).not.toContain('\n');
  });

  it('should resume a push after the agent was killed -9 in the middle, sending only the missing blobs', async () => {
    const ref = await build('5', 'i22 version five\n', 1024 * 1024);
    const image = await saved(ref);
    const top = image.manifest.layers[image.manifest.layers.length - 1];
    await agent.stop();
    await agent.start({ env: { ...nodeEnv, MCP_AGENT_FAILPOINTS: 'image-push.after-blob=kill' } });

    const killed = await mcp(['image', 'push', ref]);

    expect(killed.code).not.toBe(0);
    expect(killed.stderr.trim().split('\n')).toHaveLength(1);
    await agent.kill9();
    await agent.start({ env: nodeEnv });
    const push = await pushJson(ref);
    // The config arrived before the kill; only the changed layer is left.
    expect(push).toMatchObject({ blobsSent: 1, blobsSkipped: 2, agentBytesReceived: top.size });
    expect(await nodeImageId(ref)).toBe(image.id);
  });

  it('should refuse a push the node has no room for before writing anything', async () => {
    const ref = await build('6', 'i22 version six\n');
    await agent.stop();
    await agent.start({ env: { ...nodeEnv, MCP_AGENT_IMAGES_MIN_FREE_SPACE: String(2 ** 52) } });

    const result = await mcp(['image', 'push', ref]);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^mcp: node1: not enough disk space for image .*; nothing was written\n$/);
    expect(fs.readdirSync(path.join(agent.config.images.cacheDir, 'blobs', 'sha256'))).toEqual([]);
    await agent.stop();
    await agent.start({ env: nodeEnv });
  });

  it('should deploy --push: say what it would send, then push only what the node lacks and run it (pull = "never")', async () => {
    const ref = await build('7', 'i22 version seven\n', 64 * 1024);
    const image = await saved(ref);
    const top = image.manifest.layers[image.manifest.layers.length - 1];
    const service = `${PREFIX}-pushed`;
    const definition = (tag: string) =>
      `name = "${service}"\nnode = "node1"\n\n[[components]]\nname = "web"\nimage = "${REPO}:${tag}"\npull = "never"\ncmd = ["/bin/sh", "-c", "exec httpd -f -p $PORT -h /www"]\n\n[[components.routes]]\nport = 443\n`;
    fs.mkdirSync(path.join(home, '.config', 'mcp', 'services'), { recursive: true });
    fs.writeFileSync(path.join(home, '.config', 'mcp', 'services', `${service}.toml`), definition('7'));

    const dry = await mcp(['deploy', service, '--push', '--dry-run', '--json']);
    expect(dry.stderr).toBe('');
    expect((JSON.parse(dry.stdout) as { push: unknown }).push).toEqual([{ image: ref, local: true, blobs: 2, bytes: image.manifest.config.size + top.size }]);
    expect(await nodeImageId(ref)).toBeUndefined();
    const refused = await mcp(['deploy', service]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain(`image ${ref} is not on this node and pull = "never": push it first`);

    const deployed = await mcp(['deploy', service, '--push']);

    expect(deployed.stderr).toBe('');
    expect(deployed.code).toBe(0);
    expect(deployed.stdout).toContain(`pushed ${ref} to node1: 2 blob(s)`);
    const listed = await agent.rpc.call('listServices', {});
    const hostPort = listed.services.find((s) => s.name === service)!.components[0].routes[0].hostPort;
    expect(await httpGetWhenUp(hostPort)).toBe('i22 version seven\n');

    // keep_releases prunes only images a deploy pulled: a pushed image stays for a rollback.
    await build('8', 'i22 version eight\n');
    fs.writeFileSync(path.join(home, '.config', 'mcp', 'services', `${service}.toml`), definition('8'));
    expect((await mcp(['deploy', service, '--push'])).code).toBe(0);
    expect(await nodeImageId(ref)).toBe(image.id);
  });

  it('should take one push of an image at a time: a second one while the first runs is refused in one line, the image loaded once, intact', async () => {
    const ref = await build('9', 'i22 version nine\n', 256 * 1024);
    const image = await saved(ref);
    const gate = path.join(work, 'push-gate');
    // The first push stands still after its first blob (the config) until the gate opens.
    await agent.stop();
    await agent.start({ env: { ...nodeEnv, MCP_AGENT_FAILPOINTS: `image-push.after-blob=pause:${gate}` } });
    try {
      const first = mcp(['image', 'push', ref, '--json']);
      await until(() => fs.existsSync(`${gate}.reached`), 'the first push at its pause failpoint');

      // Bounded: a second push that is let in stops at the same failpoint and would wait for the gate.
      const second = await Promise.race([
        mcp(['image', 'push', ref]),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the second push was neither refused nor done within 60 s')), 60_000).unref()),
      ]);

      expect(second.code).toBe(1);
      expect(second.stderr).toBe(`mcp: node1: image ${image.id} is being pushed to this node already; try again when that push ends\n`);
      expect(await nodeImageId(ref)).toBeUndefined();
      fs.writeFileSync(gate, '');
      const done = await first;
      expect(done.stderr).toBe('');
      expect(done.code).toBe(0);
      const all = image.manifest.config.size + image.manifest.layers.reduce((sum, layer) => sum + layer.size, 0);
      const top = image.manifest.layers[image.manifest.layers.length - 1];
      // The node had the busybox base from the earlier tests: the first push sent config and top layer.
      expect((JSON.parse(done.stdout) as PushJson).pushes[0]).toMatchObject({ imageId: image.id, blobsSent: 2, agentBytesReceived: image.manifest.config.size + top.size });
      expect(all).toBeGreaterThan(image.manifest.config.size + top.size);
      expect(await nodeImageId(ref)).toBe(image.id);
      const layers = await node(['image', 'inspect', '--format', '{{range .RootFS.Layers}}{{.}} {{end}}', ref]);
      expect(layers.stdout.trim().split(' ')).toEqual(image.manifest.layers.map((layer) => layer.digest));
      expect(agent.process!.logs().split('\n').filter((line) => line.includes(`image ${ref} (${image.id}) loaded`))).toHaveLength(1);
      // Once pushed, the same push again has nothing to send and is not refused.
      expect(await pushJson(ref)).toMatchObject({ imageId: image.id, blobsSent: 0 });
    } finally {
      fs.writeFileSync(gate, '');
      await agent.stop();
      await agent.start({ env: nodeEnv });
    }
  });

  it('should always remove its temp copy of the image', () => {
    expect(fs.readdirSync(tmp)).toEqual([]);
  });
});
