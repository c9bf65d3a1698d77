import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Test } from '@nestjs/testing';
import { ChecksumMismatchError, DiskFullError, FailedPreconditionError, Failpoints, FileTooLargeError, InvalidArgumentError } from '@mcp/common';
import type { mcpv1 } from '@mcp/proto';
import { ContainerRuntime } from '@mcp/runtime';
import { FakeRuntime } from '../../../../test/fakes';
import { makeTestConfig } from '../../../../test/support/test-config';
import { AgentConfig } from '../config/agent-config';
import { ImagesService } from './images.service';

const digestOf = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** A small image: a config and two layers, with its manifest. */
function makeImage(tag = 'a') {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', tag }));
  const base = Buffer.alloc(300_000, 7);
  const top = Buffer.from(`top layer ${tag}`);
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
    layers: [base, top].map((layer) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digestOf(layer), size: layer.length })),
  };
  return { id: digestOf(config), config, base, top, manifest, blobs: new Map([config, base, top].map((blob) => [digestOf(blob), blob])) };
}
type Image = ReturnType<typeof makeImage>;

/** A client stream of PushImage messages (what the service reads from grpc-js). */
class PushCall {
  constructor(private readonly messages: mcpv1.PushImageRequest[]) {}
  async *[Symbol.asyncIterator](): AsyncGenerator<mcpv1.PushImageRequest> {
    for (const message of this.messages) yield message;
  }
  asCall(): Parameters<ImagesService['push']>[0] {
    return { messages: this[Symbol.asyncIterator](), signal: new AbortController().signal, onHeader: () => undefined };
  }
}

function header(image: Image, overrides: Partial<mcpv1.PushImageHeader> = {}): mcpv1.PushImageRequest {
  return { header: { reference: 'localhost/i22-unit/app:1', imageId: image.id, manifest: Buffer.from(JSON.stringify(image.manifest)), ...overrides } };
}

/** Blob messages for `digests`, in 100 000-byte chunks; `flip` corrupts one byte of that blob. */
function blobs(image: Image, digests: string[], flip?: string): mcpv1.PushImageRequest[] {
  return digests.flatMap((digest) => {
    const data = Buffer.from(image.blobs.get(digest)!);
    if (digest === flip) data[data.length >> 1] ^= 0xff;
    const chunks: mcpv1.PushImageRequest[] = [];
    for (let at = 0; at < data.length; at += 100_000) chunks.push({ chunk: data.subarray(at, at + 100_000) });
    return [{ blob: { digest, size: data.length } }, ...chunks];
  });
}

describe(ImagesService.name, () => {
  let runtime: FakeRuntime;
  let config: AgentConfig;
  let sut: ImagesService;

  beforeEach(async () => {
    config = makeTestConfig();
    runtime = new FakeRuntime();
    const module = await Test.createTestingModule({
      providers: [ImagesService, { provide: AgentConfig, useValue: config }, { provide: ContainerRuntime, useValue: runtime }, { provide: Failpoints, useValue: new Failpoints() }],
    }).compile();
    sut = module.get(ImagesService);
    await sut.onModuleInit();
  });

  afterEach(() => {
    fs.rmSync(path.dirname(config.file), { recursive: true, force: true });
  });

  const cached = (): string[] => fs.readdirSync(path.join(config.images.cacheDir, 'blobs', 'sha256'));
  const push = (messages: mcpv1.PushImageRequest[]) => sut.push(new PushCall(messages).asCall());

  describe('push', () => {
    it('should load the image, tag it and count what it received', async () => {
      const image = makeImage();

      const result = await push([header(image), ...blobs(image, [...image.blobs.keys()])]);

      expect(result).toEqual({ imageId: image.id, reference: 'localhost/i22-unit/app:1', blobsReceived: 3, bytesReceived: image.config.length + image.base.length + image.top.length, blobsPresent: 0 });
      expect(runtime.tags.get('localhost/i22-unit/app:1')).toBe(image.id);
      expect(cached()).toEqual([]);
    });

    it('should need only the blobs podman does not store', async () => {
      const image = makeImage();
      runtime.localImageStore.set(`sha256:${'1'.repeat(64)}`, [image.manifest.layers[0].digest]);

      const answer = await sut.imageBlobs({ digests: [...image.blobs.keys()], imageId: image.id });
      const result = await push([header(image), ...blobs(image, [image.id, image.manifest.layers[1].digest])]);

      expect(answer).toEqual({ present: [image.manifest.layers[0].digest], imagePresent: false });
      expect(result).toMatchObject({ blobsReceived: 2, blobsPresent: 1, bytesReceived: image.config.length + image.top.length });
    });

    it('should refuse a corrupted blob, keep the blobs before it, and accept it sent again', async () => {
      const image = makeImage();
      const [config, base, top] = [...image.blobs.keys()];

      await expect(push([header(image), ...blobs(image, [config, base, top], base)])).rejects.toThrow(ChecksumMismatchError);
      expect(cached()).toEqual([config.slice(7)]);
      expect(fs.readdirSync(path.join(configDir(), 'tmp'))).toEqual([]);
      expect((await sut.imageBlobs({ digests: [config, base, top], imageId: image.id })).present).toEqual([config]);

      const result = await push([header(image), ...blobs(image, [base, top])]);
      expect(result).toMatchObject({ blobsReceived: 2, blobsPresent: 1 });
      expect(runtime.tags.get('localhost/i22-unit/app:1')).toBe(image.id);
    });

    it('should refuse and tag nothing when podman loads another image ID', async () => {
      const image = makeImage();
      runtime.loadedIdOverride = `sha256:${'2'.repeat(64)}`;

      await expect(push([header(image), ...blobs(image, [...image.blobs.keys()])])).rejects.toThrow(FailedPreconditionError);

      expect(runtime.tags.size).toBe(0);
    });

    it('should drop the image\'s cached blobs when podman fails to load them, so the next push sends them again', async () => {
      // The cache is not fsynced (BlobCache commit): after a power cut a cached blob may be short,
      // and podman's digest check on load is what catches it.
      const image = makeImage();
      const [config, base, top] = [...image.blobs.keys()];
      await expect(push([header(image), ...blobs(image, [config, base, top], top)])).rejects.toThrow(ChecksumMismatchError);
      expect(cached().sort()).toEqual([config.slice(7), base.slice(7)].sort());
      jest.spyOn(runtime, 'loadImageFromRegistry').mockRejectedValueOnce(new Error('writing blob: happened during read: Digest did not match'));

      await expect(push([header(image), ...blobs(image, [top])])).rejects.toThrow('Digest did not match');

      expect(cached()).toEqual([]);
      expect((await sut.imageBlobs({ digests: [config, base, top], imageId: image.id })).present).toEqual([]);
      expect(runtime.tags.size).toBe(0);
    });

    it('should refuse an image ID that is not the config digest before reading a blob', async () => {
      const image = makeImage();
      const other = `sha256:${'3'.repeat(64)}`;

      await expect(push([header(image, { imageId: other })])).rejects.toThrow(`image ID ${other} is not the manifest's config digest ${image.id}`);
      expect(runtime.callsTo('loadImageFromRegistry')).toEqual([]);
    });

    it.each([
      ['a layer path with ..', (m: Image['manifest']) => (m.layers[0].digest = 'sha256:../../../etc/passwd'), 'manifest: layers[0].digest "sha256:../../../etc/passwd" is a path, not a digest'],
      ['a digest that is not sha256', (m: Image['manifest']) => (m.layers[1].digest = `md5:${'a'.repeat(32)}`), `manifest: layers[1].digest "md5:${'a'.repeat(32)}" is not sha256:<64 lowercase hex digits>`],
      ['a 10 GB declared size', (m: Image['manifest']) => (m.layers[0].size = 10 * 1000 ** 3), 'manifest: layers[0] declares 10000000000 bytes, more than this node\'s limit of 1073741824 ([images] max_blob_size)'],
      ['a layer from elsewhere', (m: Image['manifest']) => Object.assign(m.layers[0], { urls: ['https://example.com/l'] }), 'manifest: layers[0].urls: layers fetched from elsewhere are refused'],
    ])('should refuse a manifest with %s in one line', async (_name, spoil, message) => {
      const image = makeImage();
      spoil(image.manifest);

      const error = await push([header(image), ...blobs(image, [image.id])]).catch((e: Error) => e);

      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toBe(message);
      expect(cached()).toEqual([]);
    });

    it('should refuse a push whose blobs exceed the node total', async () => {
      const image = makeImage();
      config.images.maxPushBytes = 1000;

      await expect(push([header(image)])).rejects.toThrow(FileTooLargeError);
    });

    it('should refuse before writing when the disk would be left with less than min_free_space', async () => {
      const image = makeImage();
      config.images.minFreeBytes = Number.MAX_SAFE_INTEGER;

      await expect(push([header(image), ...blobs(image, [...image.blobs.keys()])])).rejects.toThrow(DiskFullError);
      expect(cached()).toEqual([]);
    });

    it('should refuse a blob the manifest does not name and a reference without a tag', async () => {
      const image = makeImage();
      const stray = Buffer.from('stray');

      await expect(push([header(image), { blob: { digest: digestOf(stray), size: stray.length } }])).rejects.toThrow('is not in the image\'s manifest');
      await expect(push([header(image, { reference: 'localhost/app' })])).rejects.toThrow('is not an image reference with a registry part and a tag');
    });

    it('should refuse a second push of an image while the first one runs', async () => {
      const image = makeImage();
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      const slow = new PushCall([]);
      slow[Symbol.asyncIterator] = async function* () {
        yield header(image);
        await held;
      };

      const first = sut.push(slow.asCall());
      await new Promise((resolve) => setTimeout(resolve, 20));
      await expect(push([header(image)])).rejects.toThrow(`image ${image.id} is being pushed to this node already`);
      release();
      await expect(first).rejects.toThrow('was neither sent nor is it on the node');
    });

    it('should only tag an image the node has already', async () => {
      const image = makeImage();
      runtime.localImageStore.set(image.id, image.manifest.layers.map((layer) => layer.digest));

      expect((await sut.imageBlobs({ digests: [image.id], imageId: image.id })).imagePresent).toBe(true);
      expect(await push([header(image)])).toMatchObject({ imageId: image.id, blobsReceived: 0, blobsPresent: 3 });
      expect(runtime.callsTo('loadImageFromRegistry')).toEqual([]);
      expect(runtime.tags.get('localhost/i22-unit/app:1')).toBe(image.id);
    });
  });

  function configDir(): string {
    return config.images.cacheDir;
  }
});
