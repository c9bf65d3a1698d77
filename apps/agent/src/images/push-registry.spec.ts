import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { parsePushManifest } from './push-manifest';
import { PushRegistry } from './push-registry';

const digestOf = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** GET through plain http: the body so far, and whether the response completed or broke off. */
function get(url: string, onData?: (received: number) => void): Promise<{ status: number; body: Buffer; complete: boolean }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (response) => {
        const parts: Buffer[] = [];
        let received = 0;
        response.on('data', (chunk: Buffer) => {
          parts.push(chunk);
          received += chunk.length;
          onData?.(received);
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(parts), complete: response.complete }));
        response.on('error', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(parts), complete: false }));
        response.on('aborted', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(parts), complete: false }));
      })
      .on('error', reject);
  });
}

describe(PushRegistry.name, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'push-registry-'));
  const config = Buffer.from('{"os":"linux"}');
  const layer = Buffer.alloc(3 * 1024 * 1024 + 17, 5);
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digestOf(layer), size: layer.length }],
    }),
  );
  const manifest = parsePushManifest({ bytes: manifestBytes, imageId: digestOf(config), limits: { maxBlobBytes: 1 << 30, maxPushBytes: 1 << 30 } });
  let registry: PushRegistry;
  let base: string;

  beforeEach(async () => {
    registry = new PushRegistry(manifest);
    const reference = await registry.listen();
    base = `http://${reference.slice(0, reference.indexOf('/'))}/v2/${registry.repository}`;
  });

  afterEach(async () => {
    await registry.close();
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('should serve a blob as it is written, holding its last byte back until it is verified', async () => {
    const file = path.join(dir, 'growing');
    fs.writeFileSync(file, layer.subarray(0, 1024 * 1024));
    registry.receiving(digestOf(layer), file);
    registry.progress(digestOf(layer), 1024 * 1024);
    let seen = 0;
    const reached = (bytes: number) => new Promise<void>((resolve) => {
      const check = setInterval(() => seen >= bytes && (clearInterval(check), resolve()), 5);
    });
    const answer = get(`${base}/blobs/${digestOf(layer)}`, (received) => (seen = received));

    await reached(1024 * 1024);
    fs.appendFileSync(file, layer.subarray(1024 * 1024));
    registry.progress(digestOf(layer), layer.length);
    await reached(layer.length - 1);
    // Every byte is written, the blob is not verified yet: one byte is still held back.
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toBe(layer.length - 1);
    registry.committed(digestOf(layer), file);

    const { status, body, complete } = await answer;
    expect({ status, complete }).toEqual({ status: 200, complete: true });
    expect(body.equals(layer)).toBe(true);
  });

  it('should break a blob off that was refused, never giving its last byte', async () => {
    const file = path.join(dir, 'refused');
    fs.writeFileSync(file, layer);
    registry.receiving(digestOf(layer), file);
    registry.progress(digestOf(layer), layer.length);
    let seen = 0;
    const answer = get(`${base}/blobs/${digestOf(layer)}`, (received) => {
      seen = received;
      if (received === layer.length - 1) registry.failed(digestOf(layer));
    });

    const { complete, body } = await answer;

    expect(complete).toBe(false);
    expect(body.length).toBeLessThan(layer.length);
    expect(seen).toBeLessThan(layer.length);
  });

  it('should answer the manifest, and 404 for a blob the push ended without or one not in it', async () => {
    const served = await get(`${base}/manifests/latest`);
    expect(served.body.equals(manifestBytes)).toBe(true);
    const waiting = get(`${base}/blobs/${digestOf(config)}`);
    registry.end();
    expect((await waiting).status).toBe(404);
    expect((await get(`${base}/blobs/sha256:${'0'.repeat(64)}`)).status).toBe(404);
    expect((await get(`${base.replace(registry.repository, 'other/image')}/manifests/latest`)).status).toBe(404);
  });
});
