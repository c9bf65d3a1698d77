import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiskFullError, FailedPreconditionError, Failpoints, InvalidArgumentError } from '@mcp/common';
import { ContainerRuntime } from '@mcp/runtime';
import { parseImageReference } from '@mcp/servicedef';
import { AgentConfig } from '../config/agent-config';
import { MalformedRequest, malformedRequestError } from '../errors/malformed-request';
import { nextMessage, StreamCancelledError } from '../streaming/stream-call';
import { BlobCache, type BlobWriter } from './blob-cache';
import { parsePushManifest, SHA256_DIGEST, type PushManifest } from './push-manifest';
import { PushRegistry } from './push-registry';

/** An image push's messages: one header, then per missing blob a blob message and its chunks. */
export interface ImagePushPart {
  header?: { reference: string; imageId: string; manifest: Buffer };
  blob?: { digest: string; size: number };
  chunk?: Buffer;
}

/** What a push did: the image's ID and name, and how much of it came over the wire. */
export interface PushedImage {
  imageId: string;
  reference: string;
  blobsReceived: number;
  bytesReceived: number;
  blobsPresent: number;
}

/** What the node holds: layer diff IDs and image IDs from podman, and what the push cache has. */
interface NodeBlobs {
  stored: Set<string>;
  images: Set<string>;
}

/**
 * ImageBlobs and PushImage (SPEC §13): images from the workstation's podman into this node's
 * with no registry between. A push is a header (reference, expected image ID, OCI manifest),
 * then the blobs the node lacks, each as a blob message followed by its chunks. Every blob is
 * hashed as it arrives and kept only when it matches its digest; podman pulls the image from a
 * registry of this push on loopback while the blobs arrive (PushRegistry), and the image is
 * named only if podman's ID for it is the expected one.
 */
@Injectable()
export class ImagesService implements OnModuleInit {
  private readonly logger = new Logger(ImagesService.name);
  private readonly cache: BlobCache;
  /** Image IDs being pushed: one push per image at a time. */
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly config: AgentConfig,
    private readonly runtime: ContainerRuntime,
    private readonly failpoints: Failpoints,
  ) {
    this.cache = new BlobCache(config.images.cacheDir);
  }

  async onModuleInit(): Promise<void> {
    await this.cache.open();
  }

  /** Which of `digests` the node has (blob or image), and whether it has the image itself. */
  async imageBlobs(request: { digests: string[]; imageId: string }): Promise<{ present: string[]; imagePresent: boolean }> {
    if (request.digests.length > 1024) throw new InvalidArgumentError(`${request.digests.length} digests asked at once; at most 1024`);
    const node = await this.nodeBlobs();
    const present: string[] = [];
    for (const digest of request.digests) {
      if (!SHA256_DIGEST.test(digest)) throw new InvalidArgumentError(`"${digest.slice(0, 100)}" is not sha256:<64 lowercase hex digits>`);
      if (node.stored.has(digest) || node.images.has(digest) || (await this.cache.has(digest))) present.push(digest);
    }
    return { present, imagePresent: request.imageId !== '' && node.images.has(request.imageId) };
  }

  async push(input: { messages: AsyncIterator<ImagePushPart | MalformedRequest>; signal: AbortSignal; onHeader(header: NonNullable<ImagePushPart['header']>): void }): Promise<PushedImage> {
    const { messages, signal } = input;
    const first = await nextMessage(messages, signal);
    if (first instanceof MalformedRequest) throw malformedRequestError(first.reason);
    const header = first?.header;
    if (!header) throw new InvalidArgumentError('the first message of an image push must be its header');
    input.onHeader(header);
    const reference = checkReference(header.reference);
    const manifest = parsePushManifest({ bytes: Buffer.from(header.manifest), imageId: header.imageId, limits: this.config.images });
    if (this.inFlight.has(manifest.config.digest)) {
      throw new FailedPreconditionError(`image ${manifest.config.digest} is being pushed to this node already; try again when that push ends`);
    }
    this.inFlight.add(manifest.config.digest);
    try {
      return await this.receiveAndLoad({ messages, signal, reference, manifest });
    } finally {
      this.inFlight.delete(manifest.config.digest);
    }
  }

  private async receiveAndLoad(input: {
    messages: AsyncIterator<ImagePushPart | MalformedRequest>;
    signal: AbortSignal;
    reference: string;
    manifest: PushManifest;
  }): Promise<PushedImage> {
    const { manifest, reference } = input;
    const node = await this.nodeBlobs();
    const have = new Set<string>();
    for (const blob of manifest.blobs) {
      if (node.stored.has(blob.digest) || (await this.cache.has(blob.digest))) have.add(blob.digest);
    }
    const needed = manifest.blobs.filter((blob) => !have.has(blob.digest)).reduce((sum, blob) => sum + blob.size, 0);
    // The blobs land in the cache, then podman copies them into its store: twice the bytes.
    const free = await this.cache.freeBytes();
    if (free < 2 * needed + this.config.images.minFreeBytes) {
      throw new DiskFullError(
        `not enough disk space for image ${reference}: ${needed} bytes to receive need ${2 * needed + this.config.images.minFreeBytes} free (twice, plus [images] min_free_space), ${free} are; nothing was written`,
      );
    }

    const response = { reference, blobsReceived: 0, bytesReceived: 0, blobsPresent: 0 };
    if (node.images.has(manifest.config.digest)) {
      const received = await this.receive({ ...input, have });
      await this.runtime.tagImage({ image: manifest.config.digest, reference });
      this.logger.log(`image ${reference} (${manifest.config.digest}) was on the node already: tagged`);
      return { imageId: manifest.config.digest, ...response, ...received };
    }

    // Podman pulls from a registry of this push on loopback while the blobs arrive: the load
    // overlaps the stream instead of following it (PushRegistry).
    const registry = new PushRegistry(manifest);
    for (const blob of manifest.blobs) {
      if (!node.stored.has(blob.digest) && have.has(blob.digest)) registry.cached(blob.digest, this.cache.pathOf(blob.digest));
    }
    let loading: Promise<string> | undefined;
    const stopLoad = new AbortController();
    let loadedId: string | undefined;
    let received: Omit<typeof response, 'reference'>;
    // A cached blob that does not hold what it was checked to (see BlobCache's commit) fails the
    // load; dropping the image's blobs from the cache makes the next push send them again.
    const dropCached = () => this.cache.remove(manifest.blobs.map((blob) => blob.digest));
    try {
      const source = await registry.listen();
      loading = this.runtime.loadImageFromRegistry({ reference: source, signal: stopLoad.signal });
      // A load that fails while the blobs arrive (podman refused the manifest, a cached blob)
      // stops the receiving at its next message and ends the push with podman's reason.
      let loadError: Error | undefined;
      const loadFailed = loading.then(
        () => new Promise<never>(() => undefined),
        (error: unknown) => Promise.reject((loadError = error instanceof Error ? error : new Error(String(error)))),
      );
      loadFailed.catch(() => undefined);
      const stop = new AbortController();
      const receiving = this.receive({ ...input, signal: AbortSignal.any([input.signal, stop.signal]), have, registry });
      receiving.catch(() => undefined);
      try {
        received = await Promise.race([receiving, loadFailed]);
      } catch (error) {
        if (error !== loadError) throw error;
        stop.abort();
        await receiving.catch(() => undefined);
        await dropCached();
        throw error;
      }
      registry.end();
      const missing = manifest.blobs.find((blob) => !have.has(blob.digest) && !node.stored.has(blob.digest));
      if (missing) throw new InvalidArgumentError(`blob ${missing.digest} was neither sent nor is it on the node: push it`);
      try {
        loadedId = await loading;
      } catch (error) {
        await dropCached();
        throw error;
      }
    } finally {
      // A push that failed stops podman's pull (which would retry a broken blob); either way the
      // pull is over before the push answers.
      if (loadedId === undefined) stopLoad.abort();
      await registry.close();
      await loading?.catch(() => undefined);
    }
    if (loadedId !== manifest.config.digest) {
      // Podman holds it without a name; remove it unless something else named it meanwhile.
      await this.runtime.removeImage({ image: loadedId }).catch(() => undefined);
      throw new FailedPreconditionError(`podman loaded image ${loadedId}, not the pushed ${manifest.config.digest}: refused, ${reference} was not tagged`);
    }
    const answer = { ...response, ...received };
    await this.runtime.tagImage({ image: loadedId, reference });
    // Podman's store now has every layer: the cache would only hold a second copy.
    await this.cache.remove(manifest.blobs.map((blob) => blob.digest));
    this.logger.log(`image ${reference} (${loadedId}) loaded: ${answer.blobsReceived} blobs (${answer.bytesReceived} bytes) received, ${answer.blobsPresent} present`);
    return { imageId: loadedId, ...answer };
  }

  /**
   * Reads the push's blobs into the cache, each checked against its digest, telling `registry`
   * (when podman is loading meanwhile) how far each one is. Adds each verified blob to `have`.
   */
  private async receive(input: {
    messages: AsyncIterator<ImagePushPart | MalformedRequest>;
    signal: AbortSignal;
    reference: string;
    manifest: PushManifest;
    have: Set<string>;
    registry?: PushRegistry;
  }): Promise<{ blobsReceived: number; bytesReceived: number; blobsPresent: number }> {
    const { manifest, reference, have, registry } = input;
    const declared = new Map(manifest.blobs.map((blob) => [blob.digest, blob.size]));
    const received = new Set<string>();
    let bytesReceived = 0;
    let writer: BlobWriter | undefined;
    try {
      for (;;) {
        const message = await nextMessage(input.messages, input.signal);
        if (!message) break;
        if (message instanceof MalformedRequest) throw malformedRequestError(message.reason);
        if (message.header) throw new InvalidArgumentError('an image push carries exactly one header');
        if (message.blob) {
          if (writer) throw new InvalidArgumentError(`blob ${writer.blob.digest} ended after ${writer.received} of its ${writer.blob.size} bytes`);
          const { digest } = message.blob;
          const size = declared.get(digest);
          if (size === undefined) throw new InvalidArgumentError(`blob "${digest.slice(0, 100)}" is not in the image's manifest`);
          if (Number(message.blob.size) !== size) throw new InvalidArgumentError(`blob ${digest}: size ${message.blob.size}, the manifest says ${size}`);
          if (received.has(digest)) throw new InvalidArgumentError(`blob ${digest} was sent twice`);
          writer = await this.cache.receive({ digest, size });
          registry?.receiving(digest, writer.temp);
        } else if (message.chunk !== undefined) {
          if (!writer) throw new InvalidArgumentError('a chunk arrived before its blob message');
          bytesReceived += message.chunk.length;
          await writer.write(message.chunk);
          registry?.progress(writer.blob.digest, writer.received);
        } else {
          continue;
        }
        if (writer?.complete) {
          await writer.commit();
          registry?.committed(writer.blob.digest, writer.target);
          received.add(writer.blob.digest);
          have.add(writer.blob.digest);
          writer = undefined;
          // Crash tests: the agent killed here has this blob in its cache and no other trace of the push.
          await this.failpoints.hit('image-push.after-blob');
        }
      }
      if (writer) throw new InvalidArgumentError(`blob ${writer.blob.digest} ended after ${writer.received} of its ${writer.blob.size} bytes`);
    } catch (error) {
      // Dropped first, then podman's read of it broken off: the push fails with this error, not podman's.
      await writer?.abort();
      if (writer) registry?.failed(writer.blob.digest);
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') {
        throw new DiskFullError(`no space left on the node for image ${reference} (under ${this.cache.root}): the blob being received was dropped`, { cause: error });
      }
      throw error;
    }
    if (input.signal.aborted) throw new StreamCancelledError();
    return { blobsReceived: received.size, bytesReceived, blobsPresent: manifest.blobs.length - received.size };
  }

  private async nodeBlobs(): Promise<NodeBlobs> {
    const images = await this.runtime.localImages();
    return { stored: new Set(images.flatMap((image) => image.layers)), images: new Set(images.map((image) => image.id)) };
  }
}

/** The name the pushed image gets: a full reference with a registry part and a tag (`localhost/app:1`), no digest. */
function checkReference(reference: string): string {
  const parsed = parseImageReference(reference);
  if (!parsed || !parsed.domain || !parsed.tag || parsed.digest) {
    throw new InvalidArgumentError(`"${reference.slice(0, 100)}" is not an image reference with a registry part and a tag (like localhost/app:1)`);
  }
  return reference;
}
